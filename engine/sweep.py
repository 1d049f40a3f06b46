"""Firing due deadlines, each exactly once, however many sweepers run (a mixin of CaseEngine)."""
from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

from sqlalchemy import BigInteger, Integer, bindparam, func, select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import deadlines, reminders, rows
from . import runtime as rt
from .application import SYSTEM
from .clock import command_time
from .command import Ctx
from .errors import Conflict
from .store import Deadline, UTCDateTime

log = logging.getLogger(__name__)

# A PostgreSQL sweeper gives way (leaves the case to its next sweep) on these: lock_not_available
# (lock_timeout while a user's command holds a row), deadlock_detected, serialization_failure.
_SWEEP_GIVES_WAY = {"55P03", "40P01", "40001"}
_SWEEP_LOCK_TIMEOUT_MS = 500  # below PostgreSQL's deadlock_timeout (1 s): the sweeper is the one to yield


def _sweep_lock_key(case_id):
    """The advisory lock of one case's sweep. Advisory locks are per database, so the key includes the
    schema: stores in two schemas of one database (a test run, two counties) never block each other."""
    schema = func.hashtext(func.concat("fengqiao.sweep:", func.current_schema())).cast(BigInteger)
    return schema * 4294967296 + case_id


_BEFORE_ALL = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DUE_ROW = (select(Deadline.id, Deadline.case_id, Deadline.due_at)
            .where(Deadline.status == "pending", Deadline.due_at < bindparam("b_now", type_=UTCDateTime()),
                   tuple_(Deadline.due_at, Deadline.id) > tuple_(bindparam("b_after_due", type_=UTCDateTime()),
                                                                 bindparam("b_after_id", type_=Integer())))
            .order_by(Deadline.due_at, Deadline.id).limit(1))
_claimable = _DUE_ROW.with_for_update(skip_locked=True).subquery()
_CLAIM_DUE_ROW = select(_claimable.c.id, _claimable.c.case_id, _claimable.c.due_at,
                        func.pg_try_advisory_xact_lock(_sweep_lock_key(_claimable.c.case_id)).label("free"),
                        func.set_config("lock_timeout", f"{_SWEEP_LOCK_TIMEOUT_MS}ms", True))


class DeadlineSweep:
    """CaseEngine's sweep: needs its db, clock, cache, reminders, _load_case, _workflow_for and _persist."""

    def sweep(self, limit: int = 10000, workers: int = 1) -> int:
        """Fire every deadline due now, each exactly once; returns how many fired.

        One case per transaction, walking the due rows in (due time, id) order. On PostgreSQL any
        number of sweepers may work at once (processes, or `workers` threads of this one): a due row
        is claimed with FOR UPDATE SKIP LOCKED and its case with a transaction-scoped advisory lock,
        so two sweepers never fire the same case even when it has several due rows. A sweeper waits
        only briefly (lock_timeout) for a user's command on the same case and otherwise leaves the
        case to the next sweep, so it never deadlocks with one; a case that moved on meanwhile
        (Conflict) is left to the next sweep too."""
        now = self.clock.now()
        if workers <= 1 or not self.db.is_postgres:  # SQLite has one writer at a time anyway
            return self._sweep_at(now, limit)
        with self.db.read() as session:  # most sweeps find nothing: no threads for that
            if session.execute(_DUE_ROW, {"b_now": now, "b_after_due": _BEFORE_ALL, "b_after_id": 0}).first() is None:
                return 0
        with ThreadPoolExecutor(workers, thread_name_prefix="fengqiao-sweep") as pool:
            return sum(pool.map(lambda _: self._sweep_at(now, limit), range(workers)))

    def _sweep_at(self, now: datetime, limit: int) -> int:
        fired, after = 0, (_BEFORE_ALL, 0)
        while fired < limit:
            case_id = None
            with command_time(now):
                try:
                    with self.db.write() as session:
                        claimed = self._claim_due_row(session, now, after)
                        if claimed is None:
                            return fired
                        deadline_id, case_id, due_at, free = claimed
                        after = (due_at, deadline_id)
                        ctx = self._fire_case(session, now, case_id) if free else None
                except Conflict:
                    log.info("deadline sweep: case %s changed meanwhile; left to the next sweep", case_id)
                    continue
                except DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) not in _SWEEP_GIVES_WAY:
                        raise
                    log.info("deadline sweep: case %s was busy (%s); left to the next sweep", case_id,
                             exc.orig.sqlstate)
                    continue
            if ctx is not None:
                fired += ctx[1]
                self.cache.put(ctx[0].case["id"], ctx[0].case["version"], ctx[0].workflow, ctx[0].known)
        return fired

    def _claim_due_row(self, session: Session, now: datetime, after: tuple[datetime, int]):
        """The next due row after `after`: (deadline id, case id, due time, whether this sweeper may fire
        its case), or None when no row is left."""
        params = {"b_now": now, "b_after_due": after[0], "b_after_id": after[1]}
        if not self.db.is_postgres:  # BEGIN IMMEDIATE: this transaction is the only writer
            row = session.execute(_DUE_ROW, params).first()
            return None if row is None else (row.id, row.case_id, row.due_at, True)
        # One round trip: claim the row, try its case's lock, bound how long this transaction waits.
        row = session.execute(_CLAIM_DUE_ROW, params).first()
        return None if row is None else (row.id, row.case_id, row.due_at, bool(row.free))

    def _fire_case(self, session: Session, now: datetime, case_id: int):
        case = self._load_case(session, case_id)
        app = self.application(case["type"])
        # No row locks here: sweepers exclude each other per case (advisory lock on PostgreSQL,
        # BEGIN IMMEDIATE on SQLite), and a user's concurrent command loses on the case version.
        due = rows.due_deadlines(session.connection(), case_id, now, lock=False)
        if not due:
            return None
        # The people a deadline concerns are those of its task before the firing cancels it.
        tasks = {step: t for (_, step), t in reminders.ready_tasks_by_step(session.connection(), [case_id]).items()}
        workflow, known = self._workflow_for(session, case, app)
        ctx = Ctx(session, now, SYSTEM, app, case, workflow, known)
        rt.fire_timers(workflow)
        waiting = {t.spiff_id: t.due_at for t in rt.waiting_timers(workflow)}
        # A cycle timer (a report every 15 days) still waits after firing, for its next due time.
        fired = [d for d in due if d["spiff_id"] is None or waiting.get(d["spiff_id"]) != d["due_at"]]
        for d in fired:
            ctx.event("deadline_breached", {"kind": d["kind"], "due_at": d["due_at"].isoformat(),
                                            "deadline_id": d["id"]})
        if fired:
            deadlines.mark_fired(ctx.conn, [d["id"] for d in fired], now)
            if ctx.known is not None:
                for d in fired:
                    ctx.known.timers.pop(d["spiff_id"], None)
        self._persist(ctx)
        if fired and self.reminders is not None:
            self.reminders.deadlines_overdue(ctx.conn, now, ctx.case, fired, tasks)
        return ctx, len(fired)
