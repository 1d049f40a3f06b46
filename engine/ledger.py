"""The subsidy ledger (以案定补, DOMAIN.md §4): entries, their review, approval, payment and reversal.

Nothing here is ever edited or deleted. An entry (`ledger_entry`) is written once, when its case
closes; each step of its life (accrued → reviewed → approved → paid, or rejected) is a new
`ledger_event` row, and the newest one is the entry's status. A spot check that finds a false or
sub-standard file adds a *reversal* entry with the opposite amount, which is settled in the next
payment batch. Every step is also appended to the case's hash-chained history, so an auditor sees
the money next to the case and `audit verify` covers it.

Who may do what (defaults of DOMAIN.md §4): a justice officer of the town justice office (司法所)
responsible for the entry reviews or rejects it; a justice officer of the county bureau approves,
rejects or reverses; `fengqiao subsidy batch QUARTER` pays the approved entries in a quarterly batch.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .application import Actor
from .audit import PendingEvent, chain_rows, insert_events
from .calendar import ZONE
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .store import Case, LedgerEntry, LedgerEvent, OrgUnit, SubsidyBatch

STATUSES = ("accrued", "reviewed", "approved", "paid", "rejected")
READ_ALL_ROLES = {"auditor", "admin"}
_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


# ------------------------------------------------------------------ quarters
def quarter_of(at: datetime) -> str:
    local = at.astimezone(ZONE)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def quarter_end(quarter: str) -> datetime:
    """The first instant after the quarter (Asia/Shanghai)."""
    match = _QUARTER.match(quarter or "")
    if not match:
        raise InvalidInput(f"季度“{quarter}”格式不对，应写成 2026Q4 / quarter {quarter!r}: write it as 2026Q4",
                           fields={"quarter": "应为 YYYYQn / must be YYYYQn"})
    year, q = int(match.group(1)), int(match.group(2))
    first = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return datetime.combine(first, time(0), tzinfo=ZONE)


def normal_quarter(quarter: str) -> str:
    quarter_end(quarter)
    return quarter.upper()


# ------------------------------------------------------------------ writing entries
@dataclass(frozen=True)
class NewEntry:
    """An entry as the case type prices it when the case closes."""
    mediator: str | None
    level: str | None
    difficulty: str | None
    amount_fen: int
    reason: str
    rate_version: int | None
    rate_fen: int | None = None
    kind: str = "subsidy"


def record_entries(session: Session, case_id: int, entries: Iterable[NewEntry], *, review_unit: str | None,
                   now: datetime, actor: str) -> list[dict[str, Any]]:
    """Add a closing case's entries (status `accrued`) in the caller's transaction; returns their views.

    The caller appends the case event itself (it is inside the case's own command)."""
    rows = []
    for e in entries:
        if not isinstance(e.amount_fen, int) or isinstance(e.amount_fen, bool):
            raise TypeError("amount_fen must be an integer number of fen")
        row = LedgerEntry(case_id=case_id, mediator=e.mediator, level=e.level, difficulty=e.difficulty,
                          amount_fen=e.amount_fen, kind=e.kind, reason=e.reason, rate_version=e.rate_version,
                          rate_fen=e.rate_fen, review_unit=review_unit, quarter=quarter_of(now), created_at=now)
        session.add(row)
        rows.append(row)
    session.flush()
    events = [LedgerEvent(entry_id=r.id, status="accrued", at=now, actor=actor, reason="") for r in rows]
    session.add_all(events)
    session.flush()
    return [entry_view(r, ev) for r, ev in zip(rows, events)]


# ------------------------------------------------------------------ reading
def entry_view(e: LedgerEntry, current: LedgerEvent | None) -> dict[str, Any]:
    """The contract shape of DOMAIN.md §7, plus the entry's own bookkeeping fields."""
    from .queries import iso  # queries imports this module for the case view
    return {"id": e.id, "case_id": e.case_id, "mediator": e.mediator, "level": e.level,
            "difficulty": e.difficulty, "amount_fen": e.amount_fen,
            "status": current.status if current else "accrued", "kind": e.kind, "reason": e.reason,
            "rate_version": e.rate_version, "batch": current.batch if current else None,
            "rate_fen": e.rate_fen, "reverses": e.reverses, "review_unit": e.review_unit, "quarter": e.quarter,
            "created_at": iso(e.created_at),
            "status_at": iso(current.at) if current else None,
            "status_by": current.actor if current else None,
            "status_reason": current.reason if current else ""}


def _newest_event_ids():
    return select(func.max(LedgerEvent.id).label("event_id"), LedgerEvent.entry_id).group_by(
        LedgerEvent.entry_id).subquery()


def _with_status(query):
    newest = _newest_event_ids()
    return (query.join(newest, newest.c.entry_id == LedgerEntry.id)
            .join(LedgerEvent, LedgerEvent.id == newest.c.event_id))


def case_entries(session: Session, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(_with_status(select(LedgerEntry, LedgerEvent))
                           .where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.id)).all()
    return [entry_view(e, ev) for e, ev in rows]


def entry_history(session: Session, entry_id: int) -> list[dict[str, Any]]:
    from .queries import iso
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.entry_id == entry_id).order_by(LedgerEvent.id))
    return [{"status": ev.status, "at": iso(ev.at), "actor": ev.actor, "reason": ev.reason, "batch": ev.batch}
            for ev in events]


def _unit_level(session: Session, code: str | None) -> str | None:
    return session.scalar(select(OrgUnit.level).where(OrgUnit.code == code)) if code else None


def _reads_all(session: Session, viewer: Actor) -> bool:
    if viewer.roles & READ_ALL_ROLES or "system" in viewer.roles:
        return True
    return viewer.has_role("justice_officer") and _unit_level(session, viewer.org_unit) == "county"


def list_entries(session: Session, viewer: Actor, *, mediator: str | None = None, status: str | None = None,
                 quarter: str | None = None, case_id: int | None = None, after: int | None = None,
                 limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """A page of entries the viewer may read, oldest first: auditors and the county justice bureau read
    all, a town justice office its own town's, a mediator their own."""
    query = _with_status(select(LedgerEntry, LedgerEvent)).order_by(LedgerEntry.id).limit(limit + 1)
    if not _reads_all(session, viewer):
        if viewer.has_role("justice_officer"):
            query = query.where(LedgerEntry.review_unit == viewer.org_unit)
        elif viewer.has_role("mediator"):
            query = query.where(LedgerEntry.mediator == viewer.username)
        else:
            raise Forbidden("您的角色不能查看补贴台账 / your role cannot read the subsidy ledger")
    if status is not None:
        if status not in STATUSES:
            raise InvalidInput(f"状态必须是 {', '.join(STATUSES)} 之一 / status must be one of {', '.join(STATUSES)}",
                               fields={"status": "未知状态 / unknown status"})
        query = query.where(LedgerEvent.status == status)
    if mediator:
        query = query.where(LedgerEntry.mediator == mediator)
    if quarter:
        query = query.where(LedgerEntry.quarter == normal_quarter(quarter))
    if case_id is not None:
        query = query.where(LedgerEntry.case_id == case_id)
    if after:
        query = query.where(LedgerEntry.id > after)
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return [entry_view(e, ev) for e, ev in rows], (rows[-1][0].id if more and rows else None)


# ------------------------------------------------------------------ the entry's life
def _load(session: Session, entry_id: int) -> tuple[LedgerEntry, LedgerEvent]:
    row = session.execute(_with_status(select(LedgerEntry, LedgerEvent)).where(LedgerEntry.id == entry_id)).first()
    if row is None:
        raise NotFound(f"补贴记录 {entry_id} 不存在 / ledger entry {entry_id} not found")
    return row[0], row[1]


def _require_justice(session: Session, actor: Actor, entry: LedgerEntry, *, county: bool, town: bool) -> str:
    """Which office the actor acts for ("town" or "county"), or Forbidden."""
    if not actor.has_role("justice_officer"):
        raise Forbidden("只有司法行政人员可以审核补贴 / only justice officers act on the subsidy ledger")
    level = _unit_level(session, actor.org_unit)
    if county and level == "county":
        return "county"
    if town and actor.org_unit == entry.review_unit:
        return "town"
    if town and not county:
        raise Forbidden(f"此记录由 {entry.review_unit} 司法所审核 / this entry is reviewed by the justice office of "
                        f"{entry.review_unit}")
    raise Forbidden("此操作需由县司法局办理 / this needs the county justice bureau")


def _append_case_events(session: Session, case_id: int, events: list[PendingEvent], now: datetime) -> None:
    """Continue the case's hash chain with ledger events (and bump its version, as every change does)."""
    case = session.execute(select(Case.version, Case.last_event_seq, Case.last_event_hash)
                           .where(Case.id == case_id).with_for_update()).first()
    rows, seq, head = chain_rows(case_id, case.last_event_seq, case.last_event_hash, now, events)
    done = session.execute(update(Case).where(Case.id == case_id, Case.version == case.version).values(
        version=case.version + 1, last_event_seq=seq, last_event_hash=head, updated_at=now))
    if done.rowcount != 1:
        raise Conflict("案件已被他人更新，请重试 / the case was changed by someone else: retry")
    insert_events(session, rows)


def _transition(session: Session, entry: LedgerEntry, status: str, actor: Actor, now: datetime,
                reason: str = "", batch: str | None = None) -> LedgerEvent:
    event = LedgerEvent(entry_id=entry.id, status=status, at=now, actor=actor.username, reason=reason, batch=batch)
    session.add(event)
    session.flush()
    return event


def _reason(reason: Any) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("请填写理由 / a reason is required", fields={"reason": "必填 / required"})
    return reason.strip()


def review(session: Session, entry_id: int, actor: Actor, now: datetime, note: str = "") -> dict[str, Any]:
    """The town justice office has checked the file: accrued → reviewed."""
    return _advance(session, entry_id, actor, now, note, "accrued", "reviewed", county=False,
                    refusal=("只能审核“已计提”的记录", "only accrued entries can be reviewed"))


def approve(session: Session, entry_id: int, actor: Actor, now: datetime, note: str = "") -> dict[str, Any]:
    """The county justice bureau approves a reviewed entry for payment: reviewed → approved."""
    return _advance(session, entry_id, actor, now, note, "reviewed", "approved", county=True,
                    refusal=("只能批准“已审核”的记录", "only reviewed entries can be approved"))


def _advance(session: Session, entry_id: int, actor: Actor, now: datetime, note: str, from_status: str,
             to_status: str, *, county: bool, refusal: tuple[str, str]) -> dict[str, Any]:
    """One step forward on the ledger, by the justice office of the level that takes it."""
    entry, current = _load(session, entry_id)
    _require_justice(session, actor, entry, county=county, town=not county)
    if current.status != from_status:
        raise Conflict(f"{refusal[0]}，此记录为 {current.status} / {refusal[1]} (this one is {current.status})")
    event = _transition(session, entry, to_status, actor, now, note or "")
    _append_case_events(session, entry.case_id, [PendingEvent(f"subsidy_{to_status}", {
        "entry_id": entry.id, "mediator": entry.mediator, "amount_fen": entry.amount_fen}, actor.username)], now)
    return entry_view(entry, event)


def reject(session: Session, entry_id: int, actor: Actor, now: datetime, reason: Any) -> dict[str, Any]:
    """Refuse an entry not yet approved, with the reason: accrued|reviewed → rejected."""
    reason = _reason(reason)
    entry, current = _load(session, entry_id)
    office = _require_justice(session, actor, entry, county=True, town=True)
    allowed = ("accrued",) if office == "town" else ("accrued", "reviewed")
    if current.status not in allowed:
        raise Conflict(f"此记录为 {current.status}，不能驳回 / an entry that is {current.status} cannot be rejected here")
    event = _transition(session, entry, "rejected", actor, now, reason)
    _append_case_events(session, entry.case_id, [PendingEvent("subsidy_rejected", {
        "entry_id": entry.id, "mediator": entry.mediator, "amount_fen": entry.amount_fen, "reason": reason},
        actor.username)], now)
    return entry_view(entry, event)


def reverse(session: Session, entry_id: int, actor: Actor, now: datetime, reason: Any) -> dict[str, Any]:
    """A spot check found a false or sub-standard file: add a reversal entry (approved, settled in the
    next batch) with the opposite amount. The reversed entry itself stays as it was."""
    reason = _reason(reason)
    entry, current = _load(session, entry_id)
    _require_justice(session, actor, entry, county=True, town=False)
    if entry.kind != "subsidy" or entry.amount_fen <= 0:
        raise Conflict("只能冲销金额大于零的补贴记录 / only a subsidy entry with an amount can be reversed")
    if current.status not in ("approved", "paid"):
        raise Conflict(f"此记录为 {current.status}：未批准的记录请直接驳回 / the entry is {current.status}: "
                       f"reject it instead, only approved or paid entries are reversed")
    if session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses == entry.id)) is not None:
        raise Conflict("此记录已被冲销 / this entry has already been reversed")
    reversal = LedgerEntry(case_id=entry.case_id, mediator=entry.mediator, level=entry.level,
                           difficulty=entry.difficulty, amount_fen=-entry.amount_fen, kind="reversal", reason=reason,
                           rate_version=entry.rate_version, rate_fen=entry.rate_fen, reverses=entry.id,
                           review_unit=entry.review_unit, quarter=quarter_of(now), created_at=now)
    session.add(reversal)
    session.flush()
    event = _transition(session, reversal, "approved", actor, now, reason)
    _append_case_events(session, entry.case_id, [PendingEvent("subsidy_reversed", {
        "entry_id": reversal.id, "reverses": entry.id, "mediator": entry.mediator,
        "amount_fen": reversal.amount_fen, "reason": reason}, actor.username)], now)
    return entry_view(reversal, event)


# ------------------------------------------------------------------ quarterly payment
@dataclass(frozen=True)
class Batch:
    key: str
    created: bool  # False: the batch had been made before; this is it
    created_at: datetime
    created_by: str
    entries: list[dict[str, Any]]
    total_fen: int


def make_batch(session: Session, quarter: str, actor: Actor, now: datetime) -> Batch:
    """Pay, in one batch named after the quarter, every approved entry with an amount dated up to the
    quarter's end (earlier quarters' late approvals included). A batch is made once; asking again shows it."""
    key = normal_quarter(quarter)
    existing = session.get(SubsidyBatch, key)
    if existing is not None:
        rows = session.execute(select(LedgerEntry, LedgerEvent).join(LedgerEvent, LedgerEvent.entry_id == LedgerEntry.id)
                               .where(LedgerEvent.batch == key, LedgerEvent.status == "paid")
                               .order_by(LedgerEntry.id)).all()
        return Batch(key, False, existing.created_at, existing.created_by, [entry_view(e, ev) for e, ev in rows],
                     existing.total_fen)
    end = quarter_end(key)
    rows = session.execute(_with_status(select(LedgerEntry, LedgerEvent))
                           .where(LedgerEvent.status == "approved", LedgerEntry.amount_fen != 0,
                                  LedgerEntry.created_at < end)
                           .order_by(LedgerEntry.case_id, LedgerEntry.id)).all()
    paid, by_case = [], {}
    for entry, _ in rows:
        event = _transition(session, entry, "paid", actor, now, batch=key)
        paid.append(entry_view(entry, event))
        by_case.setdefault(entry.case_id, []).append(entry)
    for case_id, entries in by_case.items():
        _append_case_events(session, case_id, [PendingEvent("subsidy_paid", {
            "batch": key, "entry_ids": [e.id for e in entries],
            "amount_fen": sum(e.amount_fen for e in entries)}, actor.username)], now)
    total = sum(e["amount_fen"] for e in paid)
    session.add(SubsidyBatch(key=key, created_at=now, created_by=actor.username, entry_count=len(paid),
                             total_fen=total))
    session.flush()
    return Batch(key, True, now, actor.username, paid, total)
