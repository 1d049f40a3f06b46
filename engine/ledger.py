"""An append-only money ledger per case: entries, their status history, reversals and payment batches.

Nothing here is ever deleted, nor edited but for one kept column. An entry (`ledger_entry`) is
written once, inside its case's command; each change of its status is a new `ledger_event` row, and
the newest one is the entry's status, which the entry's `status` column repeats (set with each new
row, for the lists that filter by status). A correction is a *reversal* entry with the opposite amount. Every change is also
appended to the case's hash-chained history, so an auditor sees the money next to the case and
`audit verify` covers it.

This module keeps the mechanisms only. Which statuses follow which, and what the entries are for
(the per-case mediator subsidy of a case type), are the process application's rules; who may move
an entry is the application layer's authorization table.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, Iterable

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression

from .audit import PendingEvent, chain_rows, insert_events
from .calendar import ZONE, iso
from .errors import Conflict, InvalidInput, NotFound
from .store import Case, LedgerBatch, LedgerEntry, LedgerEvent, LedgerTally

_QUARTER = re.compile(r"^(\d{4})[Qq]([1-4])$")


# ------------------------------------------------------------------ quarters
def quarter_of(at: datetime) -> str:
    local = at.astimezone(ZONE)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def _parse_quarter(quarter: str) -> tuple[int, int]:
    match = _QUARTER.match(quarter or "")
    if not match or not 1900 <= int(match.group(1)) <= 9998:
        raise InvalidInput(f"季度“{quarter}”格式不对，应写成 2026Q4 / quarter {quarter!r}: write it as 2026Q4",
                           fields={"quarter": "应为 YYYYQn / must be YYYYQn"})
    return int(match.group(1)), int(match.group(2))


def quarter_start(quarter: str) -> datetime:
    """The first instant of the quarter (Asia/Shanghai)."""
    year, q = _parse_quarter(quarter)
    return datetime.combine(date(year, 3 * q - 2, 1), time(0), tzinfo=ZONE)


def quarter_end(quarter: str) -> datetime:
    """The first instant after the quarter (Asia/Shanghai)."""
    year, q = _parse_quarter(quarter)
    first = date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
    return datetime.combine(first, time(0), tzinfo=ZONE)


def normal_quarter(quarter: str) -> str:
    _parse_quarter(quarter)
    return quarter.upper()


# ------------------------------------------------------------------ writing entries
@dataclass(frozen=True)
class NewEntry:
    """An entry as a case type prices it, inside its case's command."""
    mediator: str | None
    level: str | None
    difficulty: str | None
    amount_fen: int
    reason: str
    rate_version: int | None
    rate_fen: int | None = None
    kind: str = "entry"


def record_entries(session: Session, case_id: int, entries: Iterable[NewEntry], *, status: str,
                   review_unit: str | None, now: datetime, actor: str) -> list[dict[str, Any]]:
    """Add entries with their first status in the caller's transaction; returns their views.

    The caller appends the case event itself (it is inside the case's own command)."""
    rows = []
    for e in entries:
        if not isinstance(e.amount_fen, int) or isinstance(e.amount_fen, bool):
            raise TypeError("amount_fen must be an integer number of fen")
        row = LedgerEntry(case_id=case_id, mediator=e.mediator, level=e.level, difficulty=e.difficulty,
                          amount_fen=e.amount_fen, kind=e.kind, reason=e.reason, rate_version=e.rate_version,
                          rate_fen=e.rate_fen, review_unit=review_unit, quarter=quarter_of(now), created_at=now,
                          status=status)
        session.add(row)
        rows.append(row)
    session.flush()
    events = [LedgerEvent(entry_id=r.id, status=status, at=now, actor=actor, reason="") for r in rows]
    session.add_all(events)
    session.flush()
    if rows:
        unit = session.scalar(select(Case.jurisdiction).where(Case.id == case_id))
        tally_add(session, [(_tally_key(r, unit, status), 1, r.amount_fen) for r in rows])
    return [entry_view(r, ev) for r, ev in zip(rows, events)]


# ------------------------------------------------------------------ reading
def entry_view(e: LedgerEntry, current: LedgerEvent | None) -> dict[str, Any]:
    """The contract shape of DOMAIN.md §7, plus the entry's own bookkeeping fields."""
    return {"id": e.id, "case_id": e.case_id, "mediator": e.mediator, "level": e.level,
            "difficulty": e.difficulty, "amount_fen": e.amount_fen,
            "status": current.status if current else None, "kind": e.kind, "reason": e.reason,
            "rate_version": e.rate_version, "batch": current.batch if current else None,
            "rate_fen": e.rate_fen, "reverses": e.reverses, "review_unit": e.review_unit, "quarter": e.quarter,
            "created_at": iso(e.created_at),
            "status_at": iso(current.at) if current else None,
            "status_by": current.actor if current else None,
            "status_reason": current.reason if current else ""}


def _newest_event_id():
    """The id of an entry's newest status row, found by the (entry_id, id) index for that entry alone."""
    return (select(func.max(LedgerEvent.id)).where(LedgerEvent.entry_id == LedgerEntry.id)
            .correlate(LedgerEntry).scalar_subquery())


def with_status(query):
    """`query` (over LedgerEntry, LedgerEvent) joined to each entry's newest status row: per entry, by
    its index, so a page of entries never groups the whole ledger_event table."""
    return query.select_from(LedgerEntry).join(LedgerEvent, LedgerEvent.id == _newest_event_id())


def case_entries(session: Session, case_id: int) -> list[dict[str, Any]]:
    # Each entry's newest status row by its own index (entry_id, id): a case view never groups the
    # whole ledger_event table.
    newest = (select(func.max(LedgerEvent.id)).where(LedgerEvent.entry_id == LedgerEntry.id)
              .correlate(LedgerEntry).scalar_subquery())
    rows = session.execute(select(LedgerEntry, LedgerEvent).join(LedgerEvent, LedgerEvent.id == newest)
                           .where(LedgerEntry.case_id == case_id).order_by(LedgerEntry.id)).all()
    reversed_by = {e.reverses: e.id for e, _ in rows if e.reverses is not None}
    views = []
    for e, ev in rows:
        view = entry_view(e, ev)
        view["reversed_by"] = reversed_by.get(e.id)
        views.append(view)
    return views


def entry_history(session: Session, entry_id: int) -> list[dict[str, Any]]:
    events = session.scalars(select(LedgerEvent).where(LedgerEvent.entry_id == entry_id).order_by(LedgerEvent.id))
    return [{"status": ev.status, "at": iso(ev.at), "actor": ev.actor, "reason": ev.reason, "batch": ev.batch}
            for ev in events]


def _is_in(condition) -> bool:
    """Whether `condition` is an IN list: its values come from an index one after another, not in id
    order, so its branch is read from that index and sorted (ordered by `id + 0`); ordered by `id`
    the store would walk the whole ledger by id instead (SQLite does for an IN of units that hold
    no entries, which it cannot know are empty)."""
    return isinstance(condition, BinaryExpression) and condition.operator in (operators.in_op,)


def list_entries(session: Session, *, conditions=None, mediator: str | None = None, status: str | None = None,
                 quarter: str | None = None, case_id: int | None = None, after: int | None = None,
                 limit: int = 100) -> tuple[list[dict[str, Any]], int | None]:
    """A page of entries, oldest first, that meet one of `conditions` (the caller's visibility, one
    condition per way of reading an entry; None: every entry) and the filters.

    Each condition is read on its own, ids only, in id order up to the page's end, and the pages are
    merged in one statement: an OR of them would make SQLite walk the whole ledger by id (or gather
    and sort all of a unit's entries). An IN list (the units below a town's office) is read from its
    index and sorted: its entries only. The status is the entry's kept one, so a review unit's entries in one status
    come from ix_ledger_entry_unit_status in order; then the page's entries with their newest
    status rows, each by its own index."""
    filters = []
    if status is not None:
        filters.append(LedgerEntry.status == status)
    if mediator:
        filters.append(LedgerEntry.mediator == mediator)
    if quarter:
        filters.append(LedgerEntry.quarter == normal_quarter(quarter))
    if case_id is not None:
        filters.append(LedgerEntry.case_id == case_id)
    if after:
        filters.append(LedgerEntry.id > after)
    branches = [select(LedgerEntry.id).where(*filters, *([] if condition is None else [condition]))
                .order_by(LedgerEntry.id + 0 if _is_in(condition) else LedgerEntry.id).limit(limit + 1).subquery()
                for condition in ([None] if conditions is None else conditions)]
    if not branches:
        return [], None
    merged = union(*(select(b.c.id) for b in branches)).subquery() if len(branches) > 1 else branches[0]
    chosen = list(session.scalars(select(merged.c.id).order_by(merged.c.id).limit(limit + 1)))
    rows = session.execute(with_status(select(LedgerEntry, LedgerEvent)).where(LedgerEntry.id.in_(chosen))
                           .order_by(LedgerEntry.id)).all() if chosen else []
    more = len(rows) > limit
    rows = rows[:limit]
    return [entry_view(e, ev) for e, ev in rows], (rows[-1][0].id if more and rows else None)


# ------------------------------------------------------------------ an entry's life
def load(session: Session, entry_id: int) -> tuple[LedgerEntry, LedgerEvent]:
    """An entry and its current status row, or NotFound."""
    row = session.execute(with_status(select(LedgerEntry, LedgerEvent)).where(LedgerEntry.id == entry_id)).first()
    if row is None:
        raise NotFound(f"补贴记录 {entry_id} 不存在 / ledger entry {entry_id} not found")
    return row[0], row[1]


def is_reversed(session: Session, entry_id: int) -> bool:
    return session.scalar(select(LedgerEntry.id).where(LedgerEntry.reverses == entry_id)) is not None


def append_case_events(session: Session, case_id: int, events: list[PendingEvent], now: datetime) -> None:
    """Continue the case's hash chain with ledger events (and bump its version, as every change does)."""
    case = session.execute(select(Case.version, Case.last_event_seq, Case.last_event_hash)
                           .where(Case.id == case_id).with_for_update()).first()
    rows, seq, head = chain_rows(case_id, case.last_event_seq, case.last_event_hash, now, events)
    done = session.execute(update(Case).where(Case.id == case_id, Case.version == case.version).values(
        version=case.version + 1, last_event_seq=seq, last_event_hash=head, updated_at=now))
    if done.rowcount != 1:
        raise Conflict("案件已被他人更新，请重试 / the case was changed by someone else: retry")
    insert_events(session, rows)


def set_status(session: Session, entry: LedgerEntry, status: str, actor: str, now: datetime,
               reason: str = "", batch: str | None = None) -> LedgerEvent:
    """Append the entry's next status row (and move the entry's count to its new status)."""
    previous = session.scalar(select(LedgerEvent.status).where(LedgerEvent.entry_id == entry.id)
                              .order_by(LedgerEvent.id.desc()).limit(1))
    event = LedgerEvent(entry_id=entry.id, status=status, at=now, actor=actor, reason=reason, batch=batch)
    session.add(event)
    entry.status = status
    session.flush()
    if previous != status:
        unit = session.scalar(select(Case.jurisdiction).where(Case.id == entry.case_id))
        moves = [(_tally_key(entry, unit, status), 1, entry.amount_fen)]
        if previous is not None:
            moves.append((_tally_key(entry, unit, previous), -1, -entry.amount_fen))
        tally_add(session, moves)
    return event


# ------------------------------------------------------------------ kept totals (ledger_tally)
_TALLY_KEY = ("quarter", "review_unit", "mediator", "unit", "status", "kind")


def _tally_key(entry, unit: str | None, status: str) -> tuple[str, str, str, str, str, str]:
    return (entry.quarter, entry.review_unit or "", entry.mediator or "", unit or "", status, entry.kind)


def tally_add(session: Session, moves) -> None:
    """Add (key, count, amount) moves to the kept totals, one upsert each (concurrent writers of the
    same new key both land)."""
    changed: dict[tuple, list[int]] = {}
    for key, count, amount in moves:
        total = changed.setdefault(key, [0, 0])
        total[0] += count
        total[1] += amount
    values = [{**dict(zip(_TALLY_KEY, key)), "count": n, "amount_fen": fen}
              for key, (n, fen) in changed.items() if n or fen]
    if not values:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(LedgerTally)
    stmt = stmt.on_conflict_do_update(index_elements=list(_TALLY_KEY), set_={
        "count": LedgerTally.count + stmt.excluded.count,
        "amount_fen": LedgerTally.amount_fen + stmt.excluded.amount_fen})
    session.execute(stmt, values)


def on_case_saved(session: Session, before, case: dict[str, Any]) -> None:
    """The case listener (System installs it): a case that changed hands moves its entries' totals."""
    if before is None or (before.jurisdiction or "") == (case.get("jurisdiction") or ""):
        return
    rows = session.execute(with_status(select(LedgerEntry, LedgerEvent.status))
                           .where(LedgerEntry.case_id == case["id"])).all()
    moves = []
    for entry, status in rows:
        moves.append((_tally_key(entry, before.jurisdiction, status), -1, -entry.amount_fen))
        moves.append((_tally_key(entry, case.get("jurisdiction"), status), 1, entry.amount_fen))
    tally_add(session, moves)


def tally_rows(conn) -> list[dict[str, Any]]:
    """The kept totals counted afresh from the entries (what `rebuild_tally` and migration 0011 write)."""
    newest = (select(func.max(LedgerEvent.id)).where(LedgerEvent.entry_id == LedgerEntry.id)
              .correlate(LedgerEntry).scalar_subquery())
    keys = (LedgerEntry.quarter, func.coalesce(LedgerEntry.review_unit, ""), func.coalesce(LedgerEntry.mediator, ""),
            func.coalesce(Case.jurisdiction, ""), LedgerEvent.status, LedgerEntry.kind)
    query = (select(*keys, func.count(), func.coalesce(func.sum(LedgerEntry.amount_fen), 0))
             .select_from(LedgerEntry).join(LedgerEvent, LedgerEvent.id == newest)
             .join(Case, Case.id == LedgerEntry.case_id).group_by(*keys))
    n = len(_TALLY_KEY)
    return [{**dict(zip(_TALLY_KEY, row[:n])), "count": row[n], "amount_fen": int(row[n + 1])}
            for row in conn.execute(query)]


def rebuild_tally(db) -> int:
    """Count every entry afresh (`db`: the store's Database), what a seeder that copies entries in bulk
    calls after loading; returns how many entries were counted."""
    with db.write() as session:
        rows = tally_rows(session.connection())
        session.execute(delete(LedgerTally))
        if rows:
            session.execute(LedgerTally.__table__.insert(), rows)
    return sum(r["count"] for r in rows)


def add_reversal(session: Session, entry: LedgerEntry, *, kind: str, status: str, actor: str, now: datetime,
                 reason: str) -> tuple[LedgerEntry, LedgerEvent]:
    """A new entry with the opposite amount of `entry`, naming it; the reversed entry stays as it was."""
    reversal = LedgerEntry(case_id=entry.case_id, mediator=entry.mediator, level=entry.level,
                           difficulty=entry.difficulty, amount_fen=-entry.amount_fen, kind=kind, reason=reason,
                           rate_version=entry.rate_version, rate_fen=entry.rate_fen, reverses=entry.id,
                           review_unit=entry.review_unit, quarter=quarter_of(now), created_at=now)
    session.add(reversal)
    session.flush()
    return reversal, set_status(session, reversal, status, actor, now, reason)


# ------------------------------------------------------------------ payment batches
@dataclass(frozen=True)
class Batch:
    key: str
    created: bool  # False: the batch had been made before; this is it
    created_at: datetime
    created_by: str
    entries: list[dict[str, Any]]
    total_fen: int


def existing_batch(session: Session, key: str, paid_status: str) -> Batch | None:
    row = session.get(LedgerBatch, key)
    if row is None:
        return None
    entries = session.execute(select(LedgerEntry, LedgerEvent).join(LedgerEvent, LedgerEvent.entry_id == LedgerEntry.id)
                              .where(LedgerEvent.batch == key, LedgerEvent.status == paid_status)
                              .order_by(LedgerEntry.id)).all()
    return Batch(key, False, row.created_at, row.created_by, [entry_view(e, ev) for e, ev in entries], row.total_fen)


def make_batch(session: Session, key: str, *, payable_status: str, paid_status: str, before: datetime,
               actor: str, now: datetime, event_kind: str, event_data: dict[str, Any] | None = None) -> Batch:
    """Pay, in one batch named `key`, every entry with an amount whose status is `payable_status` and
    that was written before `before`. A batch is made once; asking again returns it unchanged."""
    found = existing_batch(session, key, paid_status)
    if found is not None:
        return found
    rows = session.execute(with_status(select(LedgerEntry, LedgerEvent))
                           .where(LedgerEntry.status == payable_status, LedgerEntry.amount_fen != 0,
                                  LedgerEntry.created_at < before)
                           .order_by(LedgerEntry.case_id, LedgerEntry.id)).all()
    paid, by_case = [], {}
    for entry, _ in rows:
        event = set_status(session, entry, paid_status, actor, now, batch=key)
        paid.append(entry_view(entry, event))
        by_case.setdefault(entry.case_id, []).append(entry)
    for case_id, entries in by_case.items():
        append_case_events(session, case_id, [PendingEvent(event_kind, {
            "batch": key, "entry_ids": [e.id for e in entries],
            "amount_fen": sum(e.amount_fen for e in entries), **(event_data or {})}, actor)], now)
    total = sum(e["amount_fen"] for e in paid)
    session.add(LedgerBatch(key=key, created_at=now, created_by=actor, entry_count=len(paid), total_fen=total))
    session.flush()
    return Batch(key, True, now, actor, paid, total)
