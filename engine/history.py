"""A case's history as one list, whether its events are rows of `case_event` or packed (migration 0021).

    events_of(session, case_ids) -> {case_id: [Event]}   every reader of a case's events uses this
    case_events(session, case_id) -> [Event]             (or this): packed and rows merged by seq
    pack(session, case_ids, keeps_row) -> int            move the events of closed cases into their
                                                         `case_history` row (the maintenance step)
    pending(session, limit) -> [case_id]                 closed cases with events left to pack

A closed case's history is read rarely (its page, its file, an audit) and changes little, yet it was
twelve rows a case with their tuple headers and key entries: most of what a case cost on PostgreSQL.
`System.pack_closed` (the scheduler, periodically; `fengqiao pack`) moves the events of closed cases
into one row of `case_history` per case, off the commands' path: a command appends rows as before,
and an event appended to a closed case later (a printed document, an unmasked look) stays a row
until the next packing. The events a query reads by kind stay rows (`ROW_KINDS`: the kinds with a
partial index of their own; and what an application's `keeps_event_row` keeps, e.g. the quarterly
reports' judicial confirmations and the court's answers): packing never changes such a query.

Stored form of `case_history.events`, told apart by its first byte: b"\\x01", zlib (level 9) of the
compact JSON list of the packed events, each [seq, at (ISO, UTC, microseconds), actor, kind, data] in
seq order, then their hashes, 32 bytes each, in the same order, after the end of the zlib stream (as hex
in the JSON a hash costs about 46 bytes even compressed). The hash is the one the row held,
so `audit verify` recomputes each event's hash from its packed content and compares it with the
stored one, finding an edited, deleted or reordered event inside a packed history at the seq it finds
it in a row.
"""
from __future__ import annotations

import weakref
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Iterable

from sqlalchemy import bindparam, delete, insert, inspect, select, text, update
from sqlalchemy.orm import Session

from . import state_codec
from .store import INDEXED_EVENT_KINDS, UNPACKED_SQL, Case, CaseEvent, CaseHistory

FORMAT_ZLIB_JSON = 1
_MARK = bytes([FORMAT_ZLIB_JSON])
LEVEL = 9  # off the commands' path: the smallest blob is worth the time (about a millisecond a case)

# Kinds that always stay rows: a query looks each up by kind with its partial index (engine/store.py).
ROW_KINDS = frozenset(INDEXED_EVENT_KINDS)


@dataclass(slots=True)
class Event:
    """One event of a case's history, as a row or a packed history gives it (CaseEvent's attributes)."""
    case_id: int
    seq: int
    at: datetime
    actor: str
    kind: str
    data: Any
    hash: str


def _iso(at: datetime) -> str:
    return at.isoformat(timespec="microseconds")


def encode(events: Iterable[Event]) -> bytes:
    """The stored form of packed events (in seq order)."""
    events = list(events)
    text = state_codec.dumps([[e.seq, _iso(e.at), e.actor, e.kind, e.data] for e in events])
    return _MARK + zlib.compress(text, LEVEL) + b"".join(bytes.fromhex(e.hash) for e in events)


def decode(case_id: int, stored: bytes | memoryview | None) -> list[Event]:
    if not stored:
        return []
    stored = bytes(stored)
    if stored[0] != FORMAT_ZLIB_JSON:
        raise ValueError(f"unknown packed history format {stored[0]}")
    stream = zlib.decompressobj()
    listed = state_codec.loads(stream.decompress(stored[1:]))
    digests = stream.unused_data
    if len(digests) != 32 * len(listed):
        raise ValueError(f"case {case_id}: a packed history of {len(listed)} events with {len(digests)} bytes of hashes")
    return [Event(case_id, seq, datetime.fromisoformat(at), actor, kind, data, digests[32 * i:32 * i + 32].hex())
            for i, (seq, at, actor, kind, data) in enumerate(listed)]


_EVENTS = CaseEvent.__table__
_ROWS = select(_EVENTS.c.case_id, _EVENTS.c.seq, _EVENTS.c.at, _EVENTS.c.actor, _EVENTS.c.kind, _EVENTS.c.data,
               _EVENTS.c.hash)


def _rows(session: Session, ids: list[int], kind: str | None = None) -> dict[int, list[Event]]:
    """The cases' `case_event` rows (of one kind) as Events, by case, in seq order (plain rows: no ORM)."""
    found: dict[int, list[Event]] = {case_id: [] for case_id in ids}
    query = _ROWS.where(_EVENTS.c.case_id.in_(ids))
    if kind is not None:
        query = query.where(CaseEvent.kind == kind)
    for row in session.execute(query.order_by(_EVENTS.c.case_id, _EVENTS.c.seq)):
        found[row[0]].append(Event(*row))
    return found


def _merge(packed: list[Event], rows: list[Event]) -> list[Event]:
    if not packed:
        return rows
    if not rows:
        return packed
    # Stable: a seq both packed and a row (never written so; a store edited by hand) is shown twice,
    # and the chain's check reports it as out of order.
    return sorted(packed + rows, key=lambda e: e.seq)


_PACKED_STORES: weakref.WeakSet = weakref.WeakSet()  # the engines whose store has case_history


def _has_packed(session: Session) -> bool:
    """Whether the store has `case_history` (migration 0021): a store at an earlier revision (one
    being downgraded or upgraded) reads as its rows. Known once per engine when it has."""
    engine = session.get_bind().engine
    if engine in _PACKED_STORES:
        return True
    if inspect(session.connection()).has_table(CaseHistory.__tablename__):
        _PACKED_STORES.add(engine)
        return True
    return False


def events_of(session: Session, case_ids: Iterable[int], kind: str | None = None) -> dict[int, list[Event]]:
    """Each case's whole history in seq order (or its events of one `kind`): its packed events and its
    rows merged (two statements)."""
    ids = sorted(set(case_ids))
    if not ids:
        return {}
    packed = {}
    if _has_packed(session):
        packed = {case_id: [e for e in decode(case_id, blob) if kind is None or e.kind == kind]
                  for case_id, blob in session.execute(select(CaseHistory.case_id, CaseHistory.events)
                                                       .where(CaseHistory.case_id.in_(ids)))}
    rows = _rows(session, ids, kind)
    return {case_id: _merge(packed.get(case_id, []), rows[case_id]) for case_id in ids}


def case_events(session: Session, case_id: int) -> list[Event]:
    """One case's whole history in seq order."""
    return events_of(session, [case_id])[case_id]


# --------------------------------------------------------------------------------------- packing
KeepsRow = Callable[[str, str, Any], bool]  # (case type, kind, data) -> the event stays a row
PACK_LIMIT = 20_000  # closed cases one packing run looks at (a scheduler's run: seconds)
PACK_BATCH = 200  # cases a transaction: on SQLite about 0.1 s of the write lock (1,900 cases a CPU second)


@dataclass(frozen=True)
class PackReport:
    cases: int  # closed cases whose new events the packing looked at
    events: int  # events moved from rows into packed histories
    last_id: int = 0  # the highest case id looked at: where a next run may go on (`after_id`)


def pack_closed(db, application: Callable[..., Any], limit: int = PACK_LIMIT, batch: int = PACK_BATCH,
                after_id: int = 0) -> PackReport:
    """Pack the histories of up to `limit` closed cases (by id, after `after_id`) with events not
    looked at yet, `batch` cases a transaction (`pack`); `application(case_type, remember=False)`
    gives a case type's ProcessApplication (its `keeps_event_row`)."""
    def keeps_row(case_type: str, kind: str, data: Any) -> bool:
        return application(case_type, remember=False).keeps_event_row(kind, data)

    cases = events = 0
    after = after_id
    while cases < limit:
        with db.read() as session:
            ids = pending(session, min(batch, limit - cases), after_id=after)
        if not ids:
            break
        with db.write() as session:
            events += pack(session, ids, keeps_row)
        cases += len(ids)
        after = ids[-1]
    return PackReport(cases, events, after)


def pending(session: Session, limit: int, after_id: int = 0) -> list[int]:
    """Up to `limit` closed cases (by id, after `after_id`) with events the packing has not looked at:
    the entries of ix_case_unpacked (its condition written as the index's, so both planners use it)."""
    query = (select(Case.id).where(Case.id > after_id, text(UNPACKED_SQL)).order_by(Case.id).limit(limit))
    return list(session.scalars(query))


def pack(session: Session, case_ids: Iterable[int], keeps_row: KeepsRow) -> int:
    """Move the events of these closed cases (open ones are skipped) from `case_event` into their
    `case_history` row, appending to one already there, except those that stay rows (ROW_KINDS,
    `keeps_row`); in the caller's transaction. Returns how many events were packed. Idempotent: a
    packed event is keyed by its seq, so one packed twice (two packers at once) is kept once."""
    ids = sorted(set(case_ids))
    if not ids:
        return 0
    cases = {case_id: (case_type, last) for case_id, case_type, last in session.execute(
        select(Case.id, Case.type, Case.last_event_seq).where(Case.id.in_(ids), Case.status != "open")
        .with_for_update(skip_locked=True))}
    if not cases:
        return 0
    ids = sorted(cases)
    existing = dict(session.execute(select(CaseHistory.case_id, CaseHistory.events)
                                    .where(CaseHistory.case_id.in_(ids))).all())
    rows = _rows(session, ids)
    inserts, updates, gone, looked = [], [], [], []
    for case_id in ids:
        blob = existing.get(case_id)
        seen = rows.get(case_id, [])
        looked.append({"b_case": case_id, "packed_seq": cases[case_id][1]})
        moved = [e for e in seen if e.kind not in ROW_KINDS and not keeps_row(cases[case_id][0], e.kind, e.data)]
        if not moved:
            continue
        packed = {e.seq: e for e in decode(case_id, blob)}
        packed.update((e.seq, e) for e in moved)
        stored = encode(packed[seq] for seq in sorted(packed))
        (inserts if blob is None else updates).append(
            {"case_id": case_id, "events": stored} if blob is None else {"b_case": case_id, "events": stored})
        gone.extend({"b_case": case_id, "b_seq": e.seq} for e in moved)
    if inserts:
        session.execute(insert(CaseHistory), inserts)
    if updates:
        session.execute(update(CaseHistory.__table__).where(CaseHistory.__table__.c.case_id == bindparam("b_case")),
                        updates)
    # How far the packing looked: the case leaves ix_case_unpacked until a later event.
    case_t = Case.__table__
    session.execute(update(case_t).where(case_t.c.id == bindparam("b_case")), looked)
    if gone:
        t = CaseEvent.__table__
        session.execute(delete(t).where(t.c.case_id == bindparam("b_case"), t.c.seq == bindparam("b_seq")), gone)
    return len(gone)


def unpack_all(conn, batch: int = 500) -> int:
    """Every packed history back into `case_event` rows (migration 0021's downgrade, which then drops
    the table: this process forgets which stores had it); returns events."""
    _PACKED_STORES.clear()
    events_t, history_t = CaseEvent.__table__, CaseHistory.__table__
    moved = 0
    while True:
        found = conn.execute(select(history_t.c.case_id, history_t.c.events).order_by(history_t.c.case_id)
                             .limit(batch)).all()
        if not found:
            return moved
        rows = [{"case_id": e.case_id, "seq": e.seq, "at": e.at, "actor": e.actor, "kind": e.kind,
                 "data": e.data, "hash": e.hash} for case_id, blob in found for e in decode(case_id, blob)]
        if rows:
            conn.execute(insert(events_t), rows)
        conn.execute(delete(history_t).where(history_t.c.case_id.in_([case_id for case_id, _ in found])))
        moved += len(rows)
