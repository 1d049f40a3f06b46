"""REST routes for deadline extensions and the subsidy ledger (以案定补)."""
from __future__ import annotations

from typing import Any, Callable

from flask import request

from engine import ledger
from engine.errors import InvalidInput

from .api import MAX_PAGE, actor, after_command, json_body, query_int, route, system
from .openapi import SCHEMAS, Param


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
