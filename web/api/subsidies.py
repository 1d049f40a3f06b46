"""REST routes of the subsidy ledger (以案定补)."""
from __future__ import annotations

from .http import MAX_PAGE, actor, json_body, page, query, route, services
from .openapi import Param

SUBSIDY_FILTERS = (
    Param("mediator", "调解员用户名 / mediator's username", max_length=64),
    Param("status", "状态 / status", enum=("accrued", "reviewed", "approved", "paid", "rejected")),
    Param("quarter", "季度，如 2026Q4（按记账日期）/ quarter, e.g. 2026Q4 (by entry date)",
          pattern="^(19[0-9]{2}|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])[Qq][1-4]$"),
    Param("case", "只看某个案件 / only this case's entries", type="integer", minimum=1),
    Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
    Param("limit", "每页条数 / page size (default 100)", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/subsidies", summary="以案定补台账 / The subsidy ledger", response="LedgerEntryList",
       query=SUBSIDY_FILTERS, errors=(403,), tag="subsidies")
def list_subsidies():
    items, next_id = services().subsidies.list(
        actor(), mediator=query("mediator"), status=query("status"), quarter=query("quarter"), case_id=query("case"),
        after=query("after"), limit=query("limit") or 100)
    return page(items, next_id)


@route("POST", "/subsidies/<id:entry_id>/review", summary="司法所审核补贴 / Review an entry (town justice office)",
       body="LedgerAction", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def review_subsidy(entry_id: int):
    return services().subsidies.review(actor(), entry_id, json_body().get("reason") or "")


@route("POST", "/subsidies/<id:entry_id>/approve", summary="县司法局批准补贴 / Approve an entry (county bureau)",
       body="LedgerAction", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def approve_subsidy(entry_id: int):
    return services().subsidies.approve(actor(), entry_id, json_body().get("reason") or "")


@route("POST", "/subsidies/<id:entry_id>/reject", summary="驳回补贴（须写理由）/ Reject an entry, with a reason",
       body="LedgerReason", response="LedgerEntry", errors=(403, 409), tag="subsidies")
def reject_subsidy(entry_id: int):
    return services().subsidies.reject(actor(), entry_id, json_body().get("reason"))


@route("POST", "/subsidies/<id:entry_id>/reverse",
       summary="抽查冲销：新增一条冲销记录 / Reverse an entry after a spot check (adds a reversal entry)",
       body="LedgerReason", response="LedgerEntry", status=201, errors=(403, 409), tag="subsidies")
def reverse_subsidy(entry_id: int):
    return services().subsidies.reverse(actor(), entry_id, json_body().get("reason")), 201
