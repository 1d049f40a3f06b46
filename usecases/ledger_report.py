"""The subsidy ledger as a report (以案定补 台账): entries with their case, filtered by mediator, unit,
quarter and status, their totals, and every row of a filter read page by page for an export.

Each entry's status is its newest `ledger_event` row, found by that table's (entry_id, id) index
per entry, so neither a page nor the totals group the whole status history."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import ledger
from engine.calendar import iso
from engine.errors import InvalidInput
from engine.store import Case, LedgerEntry, LedgerEvent, LedgerTally
from workflows import subsidy_ledger

from .base import check_id
from .relations import OrgTree

EXPORT_PAGE = 1000
MAX_NAME = 64


def checked_filters(given: Mapping[str, Any]) -> dict[str, Any]:
    """The report's filters (mediator, unit, quarter, status), each wrong one said beside its field."""
    unknown = set(given) - {"mediator", "unit", "quarter", "status"}
    if unknown:
        raise TypeError(f"unknown ledger filters: {sorted(unknown)}")
    chosen, errors = {}, {}
    for name in ("mediator", "unit"):
        value = given.get(name)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or len(value) > MAX_NAME:
            errors[name] = "未知的选项 / unknown choice"
        else:
            chosen[name] = value
    if given.get("quarter") not in (None, ""):
        try:
            chosen["quarter"] = ledger.normal_quarter(str(given["quarter"]).strip())
        except InvalidInput:
            errors["quarter"] = "应写成 2026Q4 / write it as 2026Q4"
    if given.get("status") not in (None, ""):
        if given["status"] not in subsidy_ledger.STATUSES:
            errors["status"] = "未知状态 / unknown status"
        else:
            chosen["status"] = given["status"]
    if errors:
        raise InvalidInput("筛选条件有误，请修改 / some filters are wrong: correct them", fields=errors)
    return chosen


def _newest_status():
    return (select(func.max(LedgerEvent.id)).where(LedgerEvent.entry_id == LedgerEntry.id)
            .correlate(LedgerEntry).scalar_subquery())


def _where(tree: OrgTree, visible, chosen: Mapping[str, Any], *, mediator=LedgerEntry.mediator,
           unit=Case.jurisdiction, quarter=LedgerEntry.quarter, status=LedgerEvent.status) -> list:
    """The chosen filters as conditions on the given columns (the entries' by default; `totals` gives
    the kept totals' own)."""
    condition = [] if visible is None else [visible]
    if "mediator" in chosen:
        condition.append(mediator == chosen["mediator"])
    if "unit" in chosen:
        if chosen["unit"] not in tree.units:
            raise InvalidInput("没有这个单位 / no such unit", fields={"unit": "未知的单位 / unknown unit"})
        condition.append(unit.in_(sorted({chosen["unit"]} | tree.below(chosen["unit"]))))
    if "quarter" in chosen:
        condition.append(quarter == chosen["quarter"])
    if "status" in chosen:
        condition.append(status == chosen["status"])
    return condition


def _joined(*columns):
    return (select(*columns).select_from(LedgerEntry)
            .join(LedgerEvent, LedgerEvent.id == _newest_status())
            .join(Case, Case.id == LedgerEntry.case_id))


# An entry as engine.ledger.entry_view shapes it, read as columns (a report may read 100,000 of them).
_COLUMNS = (LedgerEntry.id, LedgerEntry.case_id, LedgerEntry.mediator, LedgerEntry.level, LedgerEntry.difficulty,
            LedgerEntry.amount_fen, LedgerEvent.status, LedgerEntry.kind, LedgerEntry.reason,
            LedgerEntry.rate_version, LedgerEvent.batch, LedgerEntry.rate_fen, LedgerEntry.reverses,
            LedgerEntry.review_unit, LedgerEntry.quarter, LedgerEntry.created_at,
            LedgerEvent.at.label("status_at"), LedgerEvent.actor.label("status_by"),
            LedgerEvent.reason.label("status_reason"), Case.number.label("case_number"),
            Case.jurisdiction.label("case_jurisdiction"))
_TIMES = ("created_at", "status_at")


def _view(row) -> dict[str, Any]:
    view = dict(row._mapping)
    for name in _TIMES:
        view[name] = iso(view[name])
    view["status_reason"] = view["status_reason"] or ""
    return view


def page(session: Session, tree: OrgTree, visible, chosen: Mapping[str, Any], *, after: int | None,
         limit: int) -> tuple[list[dict[str, Any]], int | None]:
    if after is not None:
        check_id(after, "after")
    query = _joined(*_COLUMNS).where(*_where(tree, visible, chosen))
    if after is not None:
        query = query.where(LedgerEntry.id > after)
    rows = session.execute(query.order_by(LedgerEntry.id).limit(limit + 1)).all()
    more = len(rows) > limit
    items = [_view(row) for row in rows[:limit]]
    return items, (items[-1]["id"] if more and items else None)


def totals(session: Session, tree: OrgTree, visible, chosen: Mapping[str, Any]) -> dict[str, Any]:
    """How many entries and how much, in all and per status (fen), from the totals the ledger keeps
    per quarter, review unit, mediator, unit and status (engine/ledger.py: `ledger_tally`), so the
    county's totals read a row per such key instead of every entry. `visible` is the reader's
    condition on LedgerTally (relations.readable_entries_sql with table=LedgerTally)."""
    condition = _where(tree, visible, chosen, mediator=LedgerTally.mediator, unit=LedgerTally.unit,
                       quarter=LedgerTally.quarter, status=LedgerTally.status)
    rows = session.execute(select(LedgerTally.status, func.sum(LedgerTally.count), func.sum(LedgerTally.amount_fen))
                           .where(*condition).group_by(LedgerTally.status)).all()
    rows = [(status, int(count or 0), int(amount or 0)) for status, count, amount in rows if count]
    by_status = {status: {"count": count, "amount_fen": int(amount)} for status, count, amount in rows}
    ordered = {s: by_status[s] for s in subsidy_ledger.STATUSES if s in by_status}
    ordered.update({s: v for s, v in by_status.items() if s not in ordered})
    return {"count": sum(v["count"] for v in by_status.values()),
            "amount_fen": sum(v["amount_fen"] for v in by_status.values()), "by_status": ordered}


def rows(read, visible_of, chosen: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every entry of the filter, oldest first, `EXPORT_PAGE` at a time, each page its own short read
    (`read()` a unit of work, `visible_of(session, tree)` the reader's visibility)."""
    after = None
    with read() as session:  # the units once: the filter is the same for every page
        tree = OrgTree.load(session)
    visible = visible_of(tree)
    while True:
        with read() as session:
            found, _ = page(session, tree, visible, chosen, after=after, limit=EXPORT_PAGE)
        if not found:
            return
        yield from found
        after = found[-1]["id"]
