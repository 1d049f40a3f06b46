"""REST routes of the petition office: owner leaders, backlog, the board, unmasked personal data."""
from __future__ import annotations

from flask import request

from engine import queries
from engine.errors import InvalidInput

from .api import (DEFAULT_PAGE, MAX_PAGE, actor, after_command, case_view, json_body, query_flag, query_int,
                  route, system)
from .openapi import SCHEMAS, Param


SCHEMAS.update({
    "OwnerAssignment": {
        "type": "object", "required": ["leader"],
        "properties": {"leader": {"type": "string", "description": "包案领导用户名 / the owner leader's username"},
                       "reason": {"type": "string", "description": "更换理由（可选）/ why (optional)"}},
    },
    "BacklogMark": {
        "type": "object", "required": ["reason"],
        "properties": {"reason": {"type": "string", "description": "列为积案的理由 / why it is backlog"},
                       "leader": {"type": "string",
                                  "description": "尚无包案领导时必填 / the owner leader, required when it has none"}},
    },
    "OwnerBoardRow": {
        "type": "object", "required": ["leader", "open", "due_within_7_days", "overdue", "backlog"],
        "properties": {"leader": {"type": ["string", "null"],
                                  "description": "包案领导；null 为尚无包案领导的信访 / null: petitions nobody owns yet"},
                       "display_name": {"type": ["string", "null"]},
                       "open": {"type": "integer", "description": "在办信访 / open petitions"},
                       "due_within_7_days": {"type": "integer",
                                             "description": "有步骤 7 天内到期 / a step is due within 7 days"},
                       "overdue": {"type": "integer", "description": "有步骤已超期 / a step is overdue"},
                       "backlog": {"type": "integer", "description": "积案 / backlog (open > 90 days, or marked)"}},
    },
    "OwnerBoard": {
        "type": "object", "required": ["items", "as_of"],
        "description": "按包案领导统计的在办信访 / open petitions by owner leader",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OwnerBoardRow"}},
                       "as_of": {"type": "string", "format": "date-time"}},
    },
})


SCHEMAS["Case"]["properties"].update({
    "owner_since": {"type": ["string", "null"], "format": "date-time",
                    "description": "包案领导自何时起包案 / since when the owner leader owns the case"},
    "warning_level": {"type": "string", "enum": ["normal", "warning", "overdue"],
                      "description": "案件颜色：未办步骤和期限中最严重的 / the worst level of its open steps and deadlines"},
    "links": {"type": "array", "description": "关联案件（信访转调解）/ linked cases (a petition's mediation)",
              "items": {"type": "object", "properties": {
                  "kind": {"type": "string"}, "direction": {"type": "string", "enum": ["opened", "opened_by"]},
                  "case_id": {"type": "integer"}, "number": {"type": "string"}, "type": {"type": "string"},
                  "status": {"type": "string"}, "outcome": {"type": ["string", "null"]}}}},
})


@route("POST", "/cases/<int:case_id>/owner", summary="指定或更换包案领导 / Assign or change the owner leader",
       body="OwnerAssignment", response="Case", errors=(403, 409), tag="petitions")
def set_owner(case_id: int):
    body = json_body()
    leader = body.get("leader")
    if not isinstance(leader, str) or not leader:
        raise InvalidInput("请指明包案领导 / the leader is required", fields={"leader": "必填 / required"})
    reason = body.get("reason")
    case_view(case_id)  # a case the caller may not read is not found for them either
    reason = reason if isinstance(reason, str) else None
    return after_command(system().engine.set_owner(case_id, leader, actor(), reason))


@route("POST", "/cases/<int:case_id>/backlog", summary="列为信访积案 / Mark a petition as backlog",
       body="BacklogMark", response="Case", errors=(403, 409), tag="petitions")
def mark_backlog(case_id: int):
    body = json_body()
    reason, leader = body.get("reason"), body.get("leader")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("请写明理由 / the reason is required", fields={"reason": "必填 / required"})
    if leader is not None and not isinstance(leader, str):
        raise InvalidInput("leader 应为用户名 / leader must be a username", fields={"leader": "应为文本 / must be text"})
    case_view(case_id)
    return after_command(system().engine.mark_backlog(case_id, reason, actor(), leader or None))


@route("GET", "/cases/<int:case_id>/unmasked",
       summary="查看完整身份证号和电话（仅承办人员，记入案件历史）/ A case with unmasked ID numbers and phones "
               "(handlers only; recorded in the history)",
       response="Case", errors=(403,), tag="petitions")
def unmasked_case(case_id: int):
    sys = system()
    case_view(case_id)
    sys.engine.record_pii_view(case_id, actor())
    with sys.db.read() as session:
        return queries.case_view(session, case_id, actor(), sys.clock.now(), unmasked=True)


PETITION_FILTERS = (
    Param("owner", "包案领导用户名 / owner leader's username"),
    Param("flag", "标记 / flag", enum=("repeat", "group", "final_matter", "backlog")),
    Param("status", "状态 / status", enum=("open", "closed")),
    Param("overdue", "1：只看有步骤超期的 / 1: only petitions with an overdue step or deadline", enum=("0", "1")),
    Param("due_within", "只看有步骤在 N 天内到期的 / only petitions with a step due within N days",
          type="integer", minimum=1, maximum=365),
    Param("after", "上一页返回的 next / the `next` of the previous page"),
    Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/petitions", summary="信访部门的信访列表 / Petitions for the petition office", response="CaseList",
       query=PETITION_FILTERS, tag="petitions")
def list_petitions():
    status, flag = request.args.get("status") or None, request.args.get("flag") or None
    if status not in (None, "open", "closed"):
        raise InvalidInput("status 应为 open 或 closed / status must be open or closed",
                           fields={"status": "应为 open 或 closed / must be open or closed"})
    if flag not in (None, "repeat", "group", "final_matter", "backlog"):
        raise InvalidInput("flag 应为 repeat、group、final_matter 或 backlog / flag must be repeat, group, final_matter "
                           "or backlog", fields={"flag": "未知的标记 / unknown flag"})
    sys = system()
    with sys.db.read() as session:
        items, next_id = queries.list_cases(
            session, actor(), sys.clock.now(), type="petition", status=status,
            owner=request.args.get("owner") or None, overdue=query_flag("overdue"), flag=flag,
            due_within_days=query_int("due_within", maximum=365), after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


@route("GET", "/petitions/owners",
       summary="按包案领导统计：在办、7 天内到期、超期、积案 / Open petitions by owner leader: open, due within 7 "
               "days, overdue, backlog",
       response="OwnerBoard", tag="petitions")
def petition_owners():
    sys = system()
    now = sys.clock.now()
    backlog_days = getattr(sys.settings, "backlog_days", queries.BACKLOG_DAYS)
    with sys.db.read() as session:
        return {"items": queries.owner_board(session, actor(), now, backlog_days=backlog_days),
                "as_of": queries.iso(now)}
