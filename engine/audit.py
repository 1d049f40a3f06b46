"""The tamper-evident case history: one hash chain per case.

hash = sha256(prev_hash + canonical JSON of {case_id, seq, at, actor, kind, data}), where prev_hash is
the hash of the case's event before (seq - 1), or GENESIS for the first. The case row keeps the newest
seq and hash, so a deleted last event is found as well as an edited, deleted or reordered one in the
middle. Since migration 0010 an event row does not repeat its predecessor's hash: `prev_hashes` gives
it from the chain itself, as the readers (the API's history, the case file) show it.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from . import history
from .store import Case, CaseEvent

GENESIS = "0" * 64


def _iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).isoformat(timespec="microseconds")


# What json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str) gives
# (it builds this encoder afresh at every call: a command hashes a few texts for each of its events).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical(event: Mapping[str, Any]) -> str:
    return _CANONICAL.encode(event)


def _body(case_id: int, seq: int, at: datetime, actor: str, kind: str, data_canonical: str) -> str:
    """canonical({case_id, seq, at, actor, kind, data}) with `data` already canonical: the same text,
    key for key in sorted order, without encoding the data a second time."""
    return (f'{{"actor":{canonical(actor)},"at":"{_iso(at)}","case_id":{int(case_id)},"data":{data_canonical},'
            f'"kind":{canonical(kind)},"seq":{int(seq)}}}')


def event_hash(prev_hash: str, case_id: int, seq: int, at: datetime, actor: str, kind: str, data: Any) -> str:
    body = _body(case_id, seq, at, actor, kind, canonical(data))
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PendingEvent:
    kind: str
    data: dict[str, Any]
    actor: str


class StoredJSON(str):
    """JSON text to store as it is in a JSON column (engine/rows.py's insert_events does)."""
    __slots__ = ()


def chain_rows(case_id: int, last_seq: int, last_hash: str, at: datetime,
               events: Iterable[PendingEvent], *, data_as_text: bool = False) -> tuple[list[dict], int, str]:
    """Rows for new events continuing a case's chain, and the new head (seq, hash). Each row's data is
    exactly what was hashed: the canonical JSON read back, or (`data_as_text`) that text itself, for
    `rows.insert_events` to store without encoding it again."""
    rows, seq, prev = [], last_seq, last_hash or GENESIS
    for ev in events:
        seq += 1
        text = canonical(ev.data)
        data = StoredJSON(text) if data_as_text else json.loads(text)
        digest = hashlib.sha256((prev + _body(case_id, seq, at, ev.actor, ev.kind, text)).encode("utf-8")).hexdigest()
        rows.append({"case_id": case_id, "seq": seq, "at": at, "actor": ev.actor, "kind": ev.kind,
                     "data": data, "hash": digest})
        prev = digest
    return rows, seq, prev


def prev_hashes(events: Iterable[Any]) -> dict[int, str]:
    """Per event seq, the hash it is chained to: the previous event's (by seq), GENESIS for the first.
    What the rows held as `prev_hash` before migration 0010, derived from the chain as it stands."""
    out, prev = {}, GENESIS
    for ev in events:
        out[ev.seq] = prev
        prev = ev.hash
    return out


def insert_events(session: Session, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(CaseEvent), rows)


@dataclass(frozen=True)
class ChainBreak:
    """Where a case's chain breaks. `event_id` is kept in the answer for its readers but is always
    None since migration 0012: an event is named by (case_id, seq) and has no id of its own."""
    case_id: int
    seq: int | None
    event_id: int | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "seq": self.seq, "event_id": self.event_id, "reason": self.reason}

    def __str__(self) -> str:
        where = f"第 {self.seq} 条事件" if self.seq is not None else "事件链末尾"
        return f"案件 {self.case_id} {where}：{self.reason}"


def verify_chain(case_id: int, events: list[CaseEvent], head_seq: int, head_hash: str) -> ChainBreak | None:
    prev, expected_seq = GENESIS, 1
    for ev in events:
        if ev.seq != expected_seq:
            return ChainBreak(case_id, expected_seq, None,
                              f"缺少第 {expected_seq} 条事件（已被删除或顺序被改动）/ event {expected_seq} is missing or out of order")
        digest = event_hash(prev, case_id, ev.seq, ev.at, ev.actor, ev.kind, ev.data)
        if digest != ev.hash:
            return ChainBreak(case_id, ev.seq, None, "内容与哈希不符（事件被篡改）/ content does not match its hash (edited)")
        prev, expected_seq = ev.hash, expected_seq + 1
    if expected_seq - 1 != head_seq or prev != (head_hash or GENESIS):
        return ChainBreak(case_id, None, None,
                          f"案件记录的最新事件为第 {head_seq} 条，链上只有 {expected_seq - 1} 条（末尾事件被删除）"
                          f" / the case records {head_seq} events but the chain holds {expected_seq - 1}")
    return None


def verify_cases(session: Session, case_ids: Iterable[int] | None = None) -> tuple[int, ChainBreak | None]:
    """Recompute every chain (or the given cases'); return how many were checked and the first break."""
    query = select(Case.id, Case.last_event_seq, Case.last_event_hash).order_by(Case.id)
    if case_ids is not None:
        query = query.where(Case.id.in_(list(case_ids)))
    checked = 0
    for case_id, head_seq, head_hash in session.execute(query).all():
        events = history.case_events(session, case_id)
        checked += 1
        broken = verify_chain(case_id, events, head_seq, head_hash)
        if broken:
            return checked, broken
    return checked, None


def verify_batch(session: Session, after_id: int, limit: int) -> tuple[list[int], list[ChainBreak]]:
    """Recompute the chains of the next `limit` cases by id after `after_id`, with one statement for
    their heads and one for their events: (the case ids checked, in order; every break among them)."""
    heads = session.execute(select(Case.id, Case.last_event_seq, Case.last_event_hash)
                            .where(Case.id > after_id).order_by(Case.id).limit(limit)).all()
    if not heads:
        return [], []
    ids = [h.id for h in heads]
    by_case = history.events_of(session, ids)
    breaks = [found for found in (verify_chain(case_id, by_case[case_id], seq, digest)
                                  for case_id, seq, digest in heads) if found is not None]
    session.expunge_all()  # a long run keeps nothing of what it has checked
    return ids, breaks


def event_links(events: list[CaseEvent], broken: ChainBreak | None) -> dict[int, bool]:
    """Per event seq: True while the chain holds up to and including it, False from the break on."""
    links, holding = {}, True
    for ev in events:
        if broken is not None and broken.seq is not None and ev.seq >= broken.seq:
            holding = False
        links[ev.seq] = holding
    return links
