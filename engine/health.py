"""What tells an operator the service is healthy, read from the store so that it holds across
processes: the scheduler's heartbeats (its last sweep, its last outbox run), the outbox's backlog,
and the figures exported for monitoring.

A scheduler writes its heartbeat at most every HEARTBEAT_EVERY seconds of real time (a sweep runs
every second; writing each one would be a write transaction per second for nothing).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from .clock import utcnow
from .db import Database
from .store import Case, Deadline, OutboxMessage, Setting

LAST_SWEEP = "scheduler.last_sweep"
LAST_DISPATCH = "scheduler.last_dispatch"
HEARTBEAT_EVERY = timedelta(seconds=10)


class Heartbeat:
    """One process's heartbeat of one kind, written to the store at most every HEARTBEAT_EVERY."""

    def __init__(self, db: Database, key: str):
        self.db, self.key = db, key
        self._written: datetime | None = None

    def beat(self, now: datetime | None = None) -> bool:
        """Record that the job just ran well; True when the store was written."""
        now = now or utcnow()
        if self._written is not None and now - self._written < HEARTBEAT_EVERY:
            return False
        record(self.db, self.key, now)
        self._written = now
        return True


def record(db: Database, key: str, at: datetime) -> None:
    value = at.isoformat()
    dialect = postgresql if db.is_postgres else sqlite
    stmt = dialect.insert(Setting).values(key=key, value=value)
    stmt = stmt.on_conflict_do_update(index_elements=[Setting.key], set_={"value": value})
    try:
        with db.write() as session:
            session.execute(stmt)
    except IntegrityError:  # never with the upsert; kept so a heartbeat cannot stop a sweep
        pass


def read(db: Database, key: str) -> datetime | None:
    with db.probe() as conn:
        value = conn.execute(select(Setting.value).where(Setting.key == key)).scalar()
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True)
class Health:
    ok: bool
    checks: dict[str, dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"status": "ok" if self.ok else "unhealthy", "checks": self.checks}


def health(db: Database, engine_now: datetime, *, sweep_max_age: float, outbox_max_age: float) -> Health:
    """The store answers; the last sweep (any process's) is recent; the outbox is not stuck, i.e. no
    message has been due for longer than `outbox_max_age` seconds without a dispatcher run since."""
    checks: dict[str, dict[str, Any]] = {}
    real_now = utcnow()
    try:
        with db.probe() as conn:
            conn.execute(select(1)).scalar()
    except Exception as exc:  # any failure to answer is the finding
        checks["store"] = {"ok": False, "error": type(exc).__name__}
        return Health(False, checks)
    checks["store"] = {"ok": True}
    last_sweep = read(db, LAST_SWEEP)
    age = None if last_sweep is None else max(0.0, (real_now - last_sweep).total_seconds())
    checks["scheduler"] = {"ok": age is not None and age <= sweep_max_age,
                           "last_sweep": last_sweep.isoformat() if last_sweep else None,
                           "age_seconds": round(age, 3) if age is not None else None, "max_age_seconds": sweep_max_age}
    due = and_(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= engine_now,
               or_(OutboxMessage.retry_at.is_(None), OutboxMessage.retry_at <= real_now))
    with db.probe() as conn:
        due_count = conn.execute(select(func.count()).select_from(OutboxMessage).where(due)).scalar() or 0
    last_dispatch = read(db, LAST_DISPATCH)
    quiet = None if last_dispatch is None else max(0.0, (real_now - last_dispatch).total_seconds())
    stuck = due_count > 0 and (quiet is None or quiet > outbox_max_age)
    checks["outbox"] = {"ok": not stuck, "due": due_count,
                        "last_dispatch": last_dispatch.isoformat() if last_dispatch else None,
                        "max_age_seconds": outbox_max_age}
    return Health(all(c["ok"] for c in checks.values()), checks)


@dataclass(frozen=True)
class Figures:
    """The store's figures for monitoring, as of one scrape."""
    open_cases: dict[str, int]
    outbox: dict[str, int]  # pending | failed | sent
    deadlines_pending: int
    deadlines_overdue: int  # pending and past due: waiting for a sweep
    last_sweep_age: float | None


def figures(db: Database, engine_now: datetime) -> Figures:
    with db.read() as session:
        open_cases = dict(session.execute(select(Case.type, func.count()).where(Case.status == "open")
                                          .group_by(Case.type)).all())
        outbox = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
        pending, overdue = session.execute(select(
            func.count(), func.count().filter(Deadline.due_at < engine_now)).where(Deadline.status == "pending")).one()
    last = read(db, LAST_SWEEP)
    return Figures(open_cases, {k: outbox.get(k, 0) for k in ("pending", "failed", "sent")}, pending or 0,
                   overdue or 0, None if last is None else max(0.0, (utcnow() - last).total_seconds()))
