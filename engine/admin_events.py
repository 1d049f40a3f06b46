"""The administrators' log: every change made by hand to accounts, tokens, org units, the calendar,
definitions and the outbox is one `admin_event` row, written in the transaction of the change.

The rows form one hash chain, like each case's history (engine/audit.py): hash = sha256(prev_hash +
canonical JSON of {seq, at, actor, kind, subject, data}). The setting `admin_events.head` keeps the
newest seq and hash, so a deleted last event is found as well as an edited, deleted or reordered one
in the middle. Appending takes a transaction-scoped advisory lock on PostgreSQL (SQLite's writers
are one at a time anyway), so two administrators never fork the chain.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .audit import GENESIS, canonical
from .store import AdminEvent, Setting

HEAD_KEY = "admin_events.head"
_LOCK_KEY = 7_310_432_004  # any constant: the advisory lock of appending to the chain


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(prev_hash: str, seq: int, at: datetime, actor: str, kind: str, subject: str, data: Any) -> str:
    body = canonical({"seq": seq, "at": _iso(at), "actor": actor, "kind": kind, "subject": subject, "data": data})
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _head(session: Session, *, for_update: bool) -> tuple[Setting | None, int, str]:
    query = select(Setting).where(Setting.key == HEAD_KEY)
    row = session.scalar(query.with_for_update() if for_update else query)
    if row is None or not row.value:
        return row, 0, GENESIS
    seq, _, digest = row.value.partition(":")
    return row, int(seq), digest


def record(session: Session, *, at: datetime, actor: str, kind: str, subject: str = "",
           data: dict[str, Any] | None = None) -> AdminEvent:
    """Append one event to the chain, in the caller's transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(_LOCK_KEY)))
    head, seq, prev = _head(session, for_update=True)
    seq += 1
    stored = json.loads(canonical(data or {}))  # what is stored is exactly what was hashed
    digest = event_hash(prev, seq, at, actor, kind, subject, stored)
    event = AdminEvent(seq=seq, at=at, actor=actor, kind=kind, subject=subject, data=stored, prev_hash=prev,
                       hash=digest)
    session.add(event)
    if head is None:
        session.add(Setting(key=HEAD_KEY, value=f"{seq}:{digest}"))
    else:
        head.value = f"{seq}:{digest}"
    session.flush()
    return event


@dataclass(frozen=True)
class AdminChainResult:
    checked: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reason is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "broken_seq": self.broken_seq, "reason": self.reason}


def verify(session: Session, batch: int = 1000) -> AdminChainResult:
    """Recompute the whole chain, a batch of rows at a time."""
    prev, expected, checked = GENESIS, 1, 0
    last_seq = 0
    while True:
        rows = session.scalars(select(AdminEvent).where(AdminEvent.seq > last_seq)
                               .order_by(AdminEvent.seq).limit(batch)).all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected:
                return AdminChainResult(checked, expected, "缺少事件（已被删除或顺序被改动）/ an event is missing or "
                                                           "out of order")
            if ev.prev_hash != prev:
                return AdminChainResult(checked, ev.seq, "前一哈希不符（事件被删除或重排）/ prev_hash does not match "
                                                         "the previous event")
            if event_hash(prev, ev.seq, ev.at, ev.actor, ev.kind, ev.subject, ev.data) != ev.hash:
                return AdminChainResult(checked, ev.seq, "内容与哈希不符（事件被篡改）/ content does not match its hash "
                                                         "(edited)")
            prev, expected, checked, last_seq = ev.hash, expected + 1, checked + 1, ev.seq
    _, head_seq, head_hash = _head(session, for_update=False)
    if head_seq != checked or head_hash != prev:
        return AdminChainResult(checked, None, f"记录的最新事件为第 {head_seq} 条，链上只有 {checked} 条（末尾事件被删除）"
                                               f" / the head records {head_seq} events but the chain holds {checked}")
    return AdminChainResult(checked)


def event_view(ev: AdminEvent) -> dict[str, Any]:
    return {"seq": ev.seq, "at": ev.at.isoformat(), "actor": ev.actor, "kind": ev.kind, "subject": ev.subject,
            "data": ev.data, "hash": ev.hash}


def list_events(session: Session, *, subject: str | None = None, kind: str | None = None,
                before: int | None = None, limit: int = 50) -> tuple[list[AdminEvent], int | None]:
    """Newest first; the cursor is the last seq shown (pass it back as `before`)."""
    query = select(AdminEvent).order_by(AdminEvent.seq.desc()).limit(limit + 1)
    if subject:
        query = query.where(AdminEvent.subject == subject)
    if kind:
        query = query.where(AdminEvent.kind == kind)
    if before:
        query = query.where(AdminEvent.seq < before)
    rows = session.scalars(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return list(rows), (rows[-1].seq if more and rows else None)
