"""The REST API, `/api/v1`: translates HTTP to engine commands and queries, and back.

Every route is declared once with `@route(...)`, which registers it with Flask and adds it to
`ROUTES`, the table the OpenAPI document is built from. Routes stay thin: read the request,
call the engine or a query, return JSON. Every error leaves as
`{"error": {"code", "message", "fields"}}`.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound as RouteNotFound

from engine import queries
from engine.accounts import actor_for_token
from engine.application import Actor
from engine.audit import verify_cases
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.system import System

from .openapi import Param, Route, build_document

URL_PREFIX = "/api/v1"
EXTENSION = "fengqiao"
DEFAULT_PAGE = 50
MAX_PAGE = 200
AUDIT_ROLES = {"auditor", "admin"}

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
ROUTES: list[Route] = []

STATUS_OF = {InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409}


def route(method: str, rule: str, *, summary: str, response: str | None, status: int = 200,
          body: str | None = None, query: tuple[Param, ...] = (), errors: tuple[int, ...] = (),
          public: bool = False, tag: str = "") -> Callable:
    """Register a view with Flask and describe it in the OpenAPI route table."""
    def register(view: Callable) -> Callable:
        ROUTES.append(Route(method, rule, view.__name__, summary, response, status, body, query, errors,
                            public, (tag,) if tag else ()))
        view.public = public
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view
    return register


# ------------------------------------------------------------------------------ plumbing
def system() -> System:
    return current_app.extensions[EXTENSION]


def actor() -> Actor:
    return g.actor


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def json_body() -> dict[str, Any]:
    """The request body as a JSON object ({} when empty); 400 when it is anything else."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("请求体不是合法的 JSON / the request body is not valid JSON",
                           fields={"body": "JSON 格式错误 / malformed JSON"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 / the request body must be a JSON object",
                           fields={"body": "应为对象 / must be an object"})
    return body


def form_data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise InvalidInput("数据（data）必须是 JSON 对象 / data must be a JSON object",
                           fields={"data": "应为对象 / must be an object"})
    return data


def query_int(name: str, *, default: int | None = None, minimum: int = 1, maximum: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}–{maximum}" if maximum is not None else f"≥ {minimum}"
        raise InvalidInput(f"参数 {name} 应为整数（{bound}）/ {name} must be a whole number ({bound})",
                           fields={name: f"应为整数 {bound} / must be a whole number {bound}"})
    return value


def query_flag(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InvalidInput(f"参数 {name} 应为 1 或 0 / {name} must be 1 or 0", fields={name: "应为 1 或 0 / must be 1 or 0"})


def case_view(case_id: int) -> dict[str, Any]:
    sys = system()
    with sys.db.read() as session:
        return queries.case_view(session, case_id, actor(), sys.clock.now())


def after_command(result) -> dict[str, Any]:
    """The fresh case view after a command; only what the command returned if the caller may not read it."""
    try:
        return case_view(result.case_id)
    except NotFound:
        return {"id": result.case_id, "version": result.version, "status": result.status}


# ------------------------------------------------------------------------------ auth and errors
@bp.before_request
def authenticate():
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "public", False):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("缺少访问令牌，请在 Authorization 头中提供 Bearer 令牌 / "
                              "missing bearer token in the Authorization header")
    with system().db.read() as session:
        g.actor = actor_for_token(session, token)
    return None


@bp.errorhandler(EngineError)
def engine_error(e: EngineError):
    status = next((s for cls, s in STATUS_OF.items() if isinstance(e, cls)), 400)
    return error_response(status, e.code, e.message, e.fields)


def _in_api() -> bool:
    return request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/")


@bp.app_errorhandler(RouteNotFound)
def route_not_found(e: RouteNotFound):
    # App-wide: an unknown URL matches no blueprint, so only the path says it was meant for the API.
    if not _in_api():
        return e
    return error_response(404, "not_found", "没有这个接口 / no such API route")


@bp.app_errorhandler(MethodNotAllowed)
def method_not_allowed(e: MethodNotAllowed):
    if not _in_api():
        return e
    response = error_response(405, "method_not_allowed", f"该接口不支持 {request.method} 方法 / "
                                                         f"{request.method} is not allowed here")
    response.headers["Allow"] = ", ".join(sorted(e.valid_methods or []))
    return response


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException):
    if e.code == 400:
        return error_response(400, "invalid_input", "请求有误 / bad request")
    code = (e.name or "error").lower().replace(" ", "_")
    return error_response(e.code or 500, code, f"请求未能处理（{e.code}）/ {e.name}")


@bp.errorhandler(Exception)
def unexpected_error(e: Exception):
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "internal_error", "服务器内部错误，已记录，请稍后重试或联系管理员 / "
                                                 "internal server error (logged): retry later or tell the admin")


# ------------------------------------------------------------------------------ cases
@route("POST", "/cases", summary="登记案件 / Register a case", body="NewCase", response="Case", status=201,
       errors=(403,), tag="cases")
def create_case():
    body = json_body()
    case_type = body.get("type")
    if not isinstance(case_type, str) or not case_type:
        raise InvalidInput("请指明案件类型 / the case type is required",
                           fields={"type": "必填 / required"})
    result = system().engine.start_case(case_type, form_data(body), actor())
    return after_command(result), 201


CASE_FILTERS = (
    Param("type", "案件类型 / case type, e.g. mediation, petition"),
    Param("status", "状态 / status", enum=("open", "closed")),
    Param("level", "层级 / level", enum=("village", "town", "county")),
    Param("owner", "包案领导用户名 / owner leader's username"),
    Param("overdue", "1：只看已超期的 / 1: only cases with an overdue deadline", enum=("0", "1")),
    Param("q", "按编号或管辖单位搜索 / search case number or jurisdiction"),
    Param("after", "上一页返回的 next / the `next` of the previous page"),
    Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/cases", summary="案件列表 / List cases", response="CaseList", query=CASE_FILTERS, tag="cases")
def list_cases():
    status = request.args.get("status") or None
    if status not in (None, "open", "closed"):
        raise InvalidInput("status 应为 open 或 closed / status must be open or closed",
                           fields={"status": "应为 open 或 closed / must be open or closed"})
    sys = system()
    with sys.db.read() as session:
        items, next_id = queries.list_cases(
            session, actor(), sys.clock.now(), type=request.args.get("type") or None, status=status,
            level=request.args.get("level") or None, owner=request.args.get("owner") or None,
            overdue=query_flag("overdue"), q=request.args.get("q") or None, after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


@route("GET", "/cases/<int:case_id>", summary="案件详情 / A case", response="Case", tag="cases")
def get_case(case_id: int):
    return case_view(case_id)


@route("GET", "/cases/<int:case_id>/events", summary="案件历史（哈希链）/ A case's hash-chained history",
       response="EventList", tag="cases")
def case_events(case_id: int):
    with system().db.read() as session:
        return {"items": queries.case_events(session, case_id, actor())}


@route("POST", "/cases/<int:case_id>/messages/<name>",
       summary="向案件投递消息（法院结果、撤回、复查申请……）/ Deliver a message to a case",
       body="Message", response="Case", errors=(403, 409), tag="cases")
def send_message(case_id: int, name: str):
    data = form_data(json_body())
    case_view(case_id)  # a case the caller may not read is not found for them either
    return after_command(system().engine.send_message(case_id, name, data, actor()))


# ------------------------------------------------------------------------------ tasks
@route("GET", "/tasks", summary="我的待办 / The caller's workable tasks", response="TaskList",
       query=(Param("case", "只看某个案件 / only this case's tasks", type="integer", minimum=1),), tag="tasks")
def list_tasks():
    case_id = query_int("case")
    sys = system()
    with sys.db.read() as session:
        return {"items": queries.worklist(session, actor(), sys.clock.now(), case_id)}


@route("GET", "/tasks/<int:task_id>", summary="任务详情及其表单 / A task with its form", response="Task",
       tag="tasks")
def get_task(task_id: int):
    sys = system()
    with sys.db.read() as session:
        found = queries.task_case_type(session, task_id)
        if found is None:
            raise NotFound(f"任务 {task_id} 不存在 / task {task_id} not found")
        case_type, step = found
        form = sys.engine.application(case_type).form_schema(step) or {}
        return queries.get_task(session, task_id, actor(), sys.clock.now(), form)


@route("POST", "/tasks/<int:task_id>/claim", summary="认领任务 / Claim a task", response="Case",
       errors=(403, 409), tag="tasks")
def claim_task(task_id: int):
    return after_command(system().engine.claim_task(task_id, actor()))


@route("POST", "/tasks/<int:task_id>/unclaim", summary="退回认领 / Release a claimed task", response="Case",
       errors=(403, 409), tag="tasks")
def unclaim_task(task_id: int):
    return after_command(system().engine.unclaim_task(task_id, actor()))


@route("POST", "/tasks/<int:task_id>/assign", summary="指派任务 / Assign a task", body="Assignment",
       response="Case", errors=(403, 409), tag="tasks")
def assign_task(task_id: int):
    username = json_body().get("user")
    if not isinstance(username, str) or not username:
        raise InvalidInput("请指明用户 / the user is required", fields={"user": "必填 / required"})
    return after_command(system().engine.assign_task(task_id, username, actor()))


@route("POST", "/tasks/<int:task_id>/complete", summary="办结任务 / Complete a task", body="Completion",
       response="Case", errors=(403, 409), tag="tasks")
def complete_task(task_id: int):
    body = json_body()
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("请提供读取时的案件版本号 version / the case version you read is required",
                           fields={"version": "必填，整数 / required, a whole number"})
    result = system().engine.complete_task(task_id, form_data(body), actor(), expected_version=version)
    return after_command(result)


# ------------------------------------------------------------------------------ audit, people
@route("GET", "/audit/verify", summary="校验历史哈希链 / Verify the hash chains", response="AuditResult",
       query=(Param("case", "只校验某个案件 / only this case", type="integer", minimum=1),),
       errors=(403,), tag="audit")
def verify_audit():
    if not actor().roles & AUDIT_ROLES:
        raise Forbidden("只有审计人员和管理员可以校验历史 / only auditors and admins verify history")
    case_id = query_int("case")
    with system().db.read() as session:
        checked, first_break = verify_cases(session, [case_id] if case_id is not None else None)
    return {"ok": first_break is None, "cases_checked": checked,
            "first_break": first_break.as_dict() if first_break else None}


@route("GET", "/org-units", summary="全县单位 / The county's org units", response="OrgUnitList", tag="people")
def org_units():
    with system().db.read() as session:
        return {"items": queries.org_units(session)}


@route("GET", "/users", summary="用户（不含机密）/ Users, without secrets", response="UserList", tag="people")
def users():
    with system().db.read() as session:
        return {"items": queries.users(session)}


# ------------------------------------------------------------------------------ the document
@route("GET", "/openapi.json", summary="本接口的 OpenAPI 文档 / This API's OpenAPI document", response="OpenApiDocument",
       public=True, tag="meta")
def openapi_document():
    return build_document(ROUTES, URL_PREFIX)


# ------------------------------------------------------------------------------ deadline extensions, subsidy ledger
from engine import ledger  # noqa: E402

from .openapi import SCHEMAS  # noqa: E402

SCHEMAS.update({
    "Extension": {
        "type": "object", "required": ["days", "reason"],
        "properties": {"days": {"type": "integer", "minimum": 1,
                                "description": "延长天数（调解每级一次，最多 15 天）/ days to add (mediation: once per "
                                               "level, at most 15)"},
                       "reason": {"type": "string", "description": "理由 / reason"},
                       "parties_consent": {"type": "boolean", "default": True,
                                           "description": "双方当事人同意延期 / both parties consent"},
                       "version": {"type": "integer", "description": "读取时的案件版本（可选）/ the case version you "
                                                                     "read (optional)"}},
    },
    "LedgerAction": {
        "type": "object",
        "properties": {"reason": {"type": "string",
                                  "description": "驳回、冲销时必填；审核、批准时为备注 / required to reject or "
                                                 "reverse; a note when reviewing or approving"}},
    },
    "LedgerEntryList": {
        "type": "object", "required": ["items", "next"],
        "description": "补贴台账，按编号排序 / ledger entries by id",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerEntry"}},
                       "next": {"type": ["string", "null"],
                                "description": "下一页游标，作为 ?after= 传回 / pass back as ?after="}},
    },
})


@route("POST", "/tasks/<int:task_id>/extend", summary="延长任务期限 / Extend a task's deadline", body="Extension",
       response="Case", errors=(403, 409), tag="tasks")
def extend_task(task_id: int):
    body = json_body()
    version = body.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise InvalidInput("version 应为整数 / version must be a whole number", fields={"version": "应为整数"})
    result = system().engine.extend_deadline(task_id, body.get("days"), body.get("reason"), actor(),
                                             expected_version=version, request=body)
    return after_command(result)


SUBSIDY_FILTERS = (
    Param("mediator", "调解员用户名 / mediator's username"),
    Param("status", "状态 / status", enum=ledger.STATUSES),
    Param("quarter", "季度，如 2026Q4（按记账日期）/ quarter, e.g. 2026Q4 (by entry date)"),
    Param("case", "只看某个案件 / only this case's entries", type="integer", minimum=1),
    Param("after", "上一页返回的 next / the `next` of the previous page"),
    Param("limit", "每页条数 / page size (default 100)", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/subsidies", summary="以案定补台账 / The subsidy ledger", response="LedgerEntryList",
       query=SUBSIDY_FILTERS, errors=(403,), tag="subsidies")
def list_subsidies():
    with system().db.read() as session:
        items, next_id = ledger.list_entries(
            session, actor(), mediator=request.args.get("mediator") or None,
            status=request.args.get("status") or None, quarter=request.args.get("quarter") or None,
            case_id=query_int("case"), after=query_int("after"),
            limit=query_int("limit", default=100, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


def _ledger_action(entry_id: int, action: Callable) -> dict[str, Any]:
    sys = system()
    with sys.db.write() as session:
        return action(session, entry_id, actor(), sys.clock.now(), json_body().get("reason") or "")


@route("POST", "/subsidies/<int:entry_id>/review", summary="司法所审核补贴 / Review an entry (town justice office)",
       body="LedgerAction", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def review_subsidy(entry_id: int):
    return _ledger_action(entry_id, ledger.review)


@route("POST", "/subsidies/<int:entry_id>/approve", summary="县司法局批准补贴 / Approve an entry (county bureau)",
       body="LedgerAction", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def approve_subsidy(entry_id: int):
    return _ledger_action(entry_id, ledger.approve)


@route("POST", "/subsidies/<int:entry_id>/reject", summary="驳回补贴（须写理由）/ Reject an entry, with a reason",
       body="LedgerAction", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def reject_subsidy(entry_id: int):
    return _ledger_action(entry_id, ledger.reject)


@route("POST", "/subsidies/<int:entry_id>/reverse",
       summary="抽查冲销：新增一条冲销记录 / Reverse an entry after a spot check (adds a reversal entry)",
       body="LedgerAction", response="LedgerEntry", status=201, errors=(403, 409), tag="subsidies")
def reverse_subsidy(entry_id: int):
    return _ledger_action(entry_id, ledger.reverse), 201


# ------------------------------------------------------------------------------ petitions: owners, the office's board, PII
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


# ------------------------------------------------------------------------------ inbox, notification settings, outbox
from notifications import contacts as notification_contacts  # noqa: E402
from notifications import inbox as notification_inbox  # noqa: E402
from notifications import outbox as notification_outbox  # noqa: E402

_OUTBOX_STATUS = {"type": "string", "enum": list(notification_outbox.STATUSES)}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS.update({
    "InboxItem": {
        "type": "object", "required": ["id", "kind", "title", "body", "created_at", "read"],
        "properties": {"id": {"type": "integer"},
                       "kind": {"type": "string", "examples": ["deadline_warning", "deadline_overdue",
                                                               "deadline_overdue_supervisor", "leader_digest"]},
                       "case_id": {"type": ["integer", "null"]}, "title": {"type": "string"},
                       "body": {"type": "string"}, "link": {"type": ["string", "null"]},
                       "created_at": {"type": "string", "format": "date-time"}, "read": {"type": "boolean"},
                       "read_at": _NULLABLE_TIME},
    },
    "Inbox": {
        "type": "object", "required": ["items", "unread", "next"],
        "description": "站内通知，新的在前 / in-app notifications, newest first",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InboxItem"}},
                       "unread": {"type": "integer", "description": "未读数 / unread count"},
                       "next": {"type": ["string", "null"]}},
    },
    "InboxReadAll": {
        "type": "object", "required": ["marked", "unread"],
        "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}},
    },
    "NotificationSettings": {
        "type": "object", "required": ["username", "channels", "email", "phone", "unit_head"],
        "properties": {"username": {"type": "string"},
                       "channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]}},
                       "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                       "unit_head": {"type": "boolean",
                                     "description": "本单位负责人（由管理员设置）/ heads their unit (set by an admin)"}},
    },
    "NotificationSettingsChange": {
        "type": "object", "description": "只改给出的字段；null 清除地址 / only the fields given change; null clears "
                                         "an address",
        "properties": {"channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]},
                                    "minItems": 1},
                       "email": {"type": ["string", "null"]},
                       "phone": {"type": ["string", "null"], "description": "11 位大陆手机号 / mainland mobile"}},
    },
    "OutboxMessage": {
        "type": "object", "required": ["id", "kind", "channel", "recipient", "status", "attempts", "last_error"],
        "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                       "channel": {"type": "string", "enum": ["inapp", "email", "sms"]},
                       "recipient": {"type": "string"}, "case_id": {"type": ["integer", "null"]},
                       "status": _OUTBOX_STATUS, "attempts": {"type": "integer"}, "last_error": {"type": "string"},
                       "created_at": _NULLABLE_TIME, "next_attempt_at": _NULLABLE_TIME, "retry_at": _NULLABLE_TIME,
                       "sent_at": _NULLABLE_TIME, "key": {"type": "string"},
                       "attempt_log": {"type": "array", "items": {
                           "type": "object", "properties": {"attempt": {"type": "integer"}, "at": _NULLABLE_TIME,
                                                            "ok": {"type": "boolean"}, "error": {"type": "string"},
                                                            "duration_ms": {"type": "integer"}}}}},
    },
    "OutboxPage": {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OutboxMessage"}},
                       "next": {"type": ["string", "null"]}},
    },
})


@route("GET", "/inbox", summary="我的站内通知与未读数 / My in-app notifications and unread count", response="Inbox",
       query=(Param("unread", "1：只看未读 / 1: unread only", enum=("0", "1")),
              Param("after", "上一页返回的 next / the `next` of the previous page"),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), tag="inbox")
def inbox():
    with system().db.read() as session:
        items, next_id = notification_inbox.list_items(
            session, actor().username, unread_only=query_flag("unread"), after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
        unread = notification_inbox.unread_count(session, actor().username)
    return {"items": items, "unread": unread, "next": str(next_id) if next_id is not None else None}


@route("POST", "/inbox/<int:item_id>/read", summary="标为已读 / Mark one notification read", response="InboxItem",
       tag="inbox")
def inbox_read(item_id: int):
    sys = system()
    with sys.db.write() as session:
        return notification_inbox.mark_read(session, actor().username, item_id, sys.clock.now())


@route("POST", "/inbox/read-all", summary="全部标为已读 / Mark every notification read", response="InboxReadAll",
       tag="inbox")
def inbox_read_all():
    sys = system()
    with sys.db.write() as session:
        marked = notification_inbox.mark_all_read(session, actor().username, sys.clock.now())
    return {"marked": marked, "unread": 0}


@route("GET", "/me/notifications", summary="我的通知设置 / My notification settings",
       response="NotificationSettings", tag="inbox")
def my_notification_settings():
    with system().db.read() as session:
        return notification_contacts.preferences(session, actor().username)


@route("PUT", "/me/notifications", summary="修改通知通道、邮箱、手机号 / Choose channels, set e-mail and mobile",
       body="NotificationSettingsChange", response="NotificationSettings", tag="inbox")
def change_notification_settings():
    body = json_body()
    unknown = sorted(set(body) - {"channels", "email", "phone"})
    if unknown:
        raise InvalidInput(f"未知字段 / unknown fields: {', '.join(unknown)}",
                           fields={name: "未知字段 / unknown field" for name in unknown})
    if "channels" in body and not (isinstance(body["channels"], list)
                                   and all(isinstance(c, str) for c in body["channels"])):
        raise InvalidInput("channels 应为字符串数组 / channels must be a list of strings",
                           fields={"channels": "应为数组 / must be a list"})
    for name in ("email", "phone"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise InvalidInput(f"{name} 应为字符串或 null / {name} must be a string or null",
                               fields={name: "应为字符串 / must be a string"})
    changes = {name: body[name] for name in ("channels", "email", "phone") if name in body}
    with system().db.write() as session:
        return notification_contacts.set_preferences(session, actor().username, **changes)


def _require_admin() -> None:
    if not actor().has_role("admin"):
        raise Forbidden("只有管理员可以查看和重发通知 / only admins see and retry the outbox")


@route("GET", "/outbox", summary="通知发件箱（管理员）：状态、尝试记录、失败原因 / The outbox (admins): status, attempts, "
                                 "failures", response="OutboxPage",
       query=(Param("status", "状态 / status", enum=notification_outbox.STATUSES),
              Param("after", "上一页返回的 next / the `next` of the previous page"),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), errors=(403,), tag="inbox")
def outbox_messages():
    _require_admin()
    with system().db.read() as session:
        items, next_id = notification_outbox.list_messages(
            session, status=request.args.get("status") or None, after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


@route("POST", "/outbox/<int:message_id>/retry", summary="重发失败的通知（管理员）/ Send a failed message again (admins)",
       response="OutboxMessage", errors=(403, 409), tag="inbox")
def outbox_retry(message_id: int):
    _require_admin()
    sys = system()
    with sys.db.write() as session:
        return notification_outbox.retry(session, message_id, sys.clock.now())
