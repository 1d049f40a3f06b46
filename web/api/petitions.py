"""REST routes of the petition office: owner leaders, backlog, its list and the owner board."""
from __future__ import annotations

from .http import DEFAULT_PAGE, MAX_PAGE, actor, json_body, page, query, route, services
from .openapi import Param


@route("POST", "/cases/<id:case_id>/owner", summary="指定或更换包案领导 / Assign or change the owner leader",
       body="OwnerAssignment", response="Case", errors=(403, 409), tag="petitions")
def set_owner(case_id: int):
    body = json_body()
    return services().cases.set_owner(actor(), case_id, body.get("leader"), body.get("reason"))


@route("POST", "/cases/<id:case_id>/backlog", summary="列为信访积案 / Mark a petition as backlog",
       body="BacklogMark", response="Case", errors=(403, 409), tag="petitions")
def mark_backlog(case_id: int):
    body = json_body()
    return services().cases.mark_backlog(actor(), case_id, body.get("reason"), body.get("leader"))


PETITION_FILTERS = (
    Param("owner", "包案领导用户名 / owner leader's username", max_length=64),
    Param("flag", "标记 / flag", enum=("repeat", "group", "final_matter", "backlog")),
    Param("status", "状态 / status", enum=("open", "closed")),
    Param("overdue", "1：只看有步骤超期的 / 1: only petitions with an overdue step or deadline", type="flag"),
    Param("due_within", "只看有步骤在 N 天内到期的 / only petitions with a step due within N days",
          type="integer", minimum=1, maximum=365),
    Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
    Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/petitions", summary="信访部门的信访列表 / Petitions for the petition office", response="CaseList",
       query=PETITION_FILTERS, tag="petitions")
def list_petitions():
    items, next_id = services().petitions.list(
        actor(), status=query("status"), owner=query("owner"), overdue=bool(query("overdue")), flag=query("flag"),
        due_within_days=query("due_within"), after=query("after"), limit=query("limit") or DEFAULT_PAGE)
    return page(items, next_id)


@route("GET", "/petitions/owners",
       summary="按包案领导统计：在办、7 天内到期、超期、积案 / Open petitions by owner leader: open, due within 7 "
               "days, overdue, backlog",
       response="OwnerBoard", errors=(400, 403), tag="petitions", query=(
           Param("flag", "只统计带此标记的 / count only petitions with this flag",
                 enum=("repeat", "group", "final_matter")),
           Param("unit", "只统计此单位及其下级单位的 / count only petitions held by this unit or one under it",
                 max_length=64)))
def petition_owners():
    flag = query("flag")
    return services().petitions.board(actor(), flags=[flag] if flag else None, unit=query("unit"))
