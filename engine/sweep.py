"""Firing due deadlines, each exactly once, however many sweepers run (a collaborator of CaseEngine)."""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import BigInteger, Integer, bindparam, func, select, tuple_
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from . import deadlines, reminders, rows
from . import runtime as rt
from .application import SYSTEM
from .calendar import ZONE
from .clock import command_time
from .command import Ctx, Known
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
_BATCH_ROWS = 25         # due rows one transaction claims
_BATCH_SECONDS = 0.25    # … and it commits once its cases took this long: user commands wait for no longer

_DUE_ROWS = (select(Deadline.id, Deadline.case_id, Deadline.due_at)
             .where(deadlines.DUE,
                    tuple_(Deadline.due_at, Deadline.id) > tuple_(bindparam("b_after_due", type_=UTCDateTime()),
                                                                  bindparam("b_after_id", type_=Integer())),
                    Deadline.case_id.not_in(bindparam("b_passed", expanding=True)))
             .order_by(Deadline.due_at, Deadline.id).limit(_BATCH_ROWS))
_claimable = _DUE_ROWS.with_for_update(skip_locked=True).subquery()
_CLAIM_DUE_ROWS = select(_claimable.c.id, _claimable.c.case_id, _claimable.c.due_at,
                         func.pg_try_advisory_xact_lock(_sweep_lock_key(_claimable.c.case_id)).label("free"),
                         func.set_config("lock_timeout", f"{_SWEEP_LOCK_TIMEOUT_MS}ms", True))


class _Passed:
    """The cases one sweep leaves to the next (another sweeper's, busy, or failing), shared by its threads."""

    def __init__(self):
        self._ids: set[int] = set()
        self._lock = threading.Lock()

    def add(self, *case_ids: int) -> None:
        with self._lock:
            self._ids.update(case_ids)

    def ids(self) -> list[int]:
        with self._lock:
            return sorted(self._ids)


class _Pass:
    """Where one sweeper (thread) is in its walk over the due rows, in (due time, id) order."""

    def __init__(self, passed: _Passed):
        self.after = (_BEFORE_ALL, 0)
        self.passed = passed


@dataclass
class _Batch:
    """What a batch of cases needs to fire, read with one statement each: their case rows, the
    workflows held in the cache (the others' stored states are in their rows), their pending
    deadlines and their open tasks."""
    cases: dict[int, dict[str, Any]]
    live: dict[int, tuple[Any, Known]]
    pending: dict[int, list[dict[str, Any]]]
    tasks: dict[int, list[dict[str, Any]]]
    fired_ids: list[int] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)


class _CaseFailed(Exception):
    """A case of the batch failed (and is passed): the batch is rolled back and claimed again."""


class DeadlineSweep:
    """CaseEngine's sweep: fires due timers through the engine's workflows, as commands of the system."""

    def __init__(self, engine):
        self.engine = engine
        self.db = engine.db
        self.cache = engine.cache
        self.failing_cases: dict[int, str] = {}  # cases the sweep could not fire, with their error

    def sweep(self, limit: int = 10000, workers: int = 1, now: datetime | None = None) -> int:
        """Fire every deadline due at `now` (default: the clock's now), each exactly once; returns how
        many fired.

        The due rows are walked in (due time, id) order, a batch of cases per transaction. On
        PostgreSQL any number of sweepers may work at once (processes, or `workers` threads of this
        one): a due row is claimed with FOR UPDATE SKIP LOCKED and its case with a transaction-scoped
        advisory lock, so two sweepers never fire the same case even when it has several due rows.
        A sweeper waits only briefly (lock_timeout) for a user's command on the same case and
        otherwise leaves the case to the next sweep, so it never deadlocks with one; a case that
        moved on meanwhile (Conflict), or whose firing fails, is left to the next sweep too, and the
        rest of its batch fires without it."""
        now, passed = now or self.engine.clock.now(), _Passed()
        if workers <= 1 or not self.db.is_postgres:  # SQLite has one writer at a time anyway
            return self._sweep_at(now, limit, passed)
        with self.db.read() as session:  # most sweeps find nothing: no threads for that
            if session.execute(_DUE_ROWS, self._claim_params(now, _Pass(passed))).first() is None:
                return 0
        with ThreadPoolExecutor(workers, thread_name_prefix="fengqiao-sweep") as pool:
            return sum(pool.map(lambda _: self._sweep_at(now, limit, passed), range(workers)))

    def _sweep_at(self, now: datetime, limit: int, passed: _Passed) -> int:
        fired, walk = 0, _Pass(passed)
        while fired < limit:
            done = self._fire_batch(now, walk)
            if done is None:
                return fired
            due_times = []
            for ctx, count, due in done:  # committed: the live workflows are good for the cases' new versions
                fired += count
                due_times += due
                self.cache.put(ctx.case["id"], ctx.case["version"], ctx.workflow, ctx.known)
            observer = self.engine.observer
            if observer is not None and due_times:
                at = self.engine.clock.now()  # the firing's commit, on the engine's clock
                observer.deadlines_fired([max(0.0, (at - due).total_seconds()) for due in due_times])
        return fired

    def _fire_batch(self, now: datetime, walk: _Pass):
        """Claim the next due rows and fire their cases in one transaction; the fired cases' contexts,
        or None when nothing is left. A case that fails is passed and the batch tried again without it."""
        while True:
            with command_time(now):
                try:
                    with self.db.write() as session:
                        claimed = self._claim(session, now, walk)
                        if claimed is None:
                            continue  # some cases were another sweeper's: claimed again without them
                        if not claimed:
                            return None
                        done, after = self._fire_claimed(session, now, claimed, walk.passed)
                except _CaseFailed:  # rolled back: the batch again, without that case
                    continue
            walk.after = after
            return done

    @staticmethod
    def _claim_params(now: datetime, walk: _Pass) -> dict[str, Any]:
        return {"b_now": now, "b_after_due": walk.after[0], "b_after_id": walk.after[1],
                "b_passed": walk.passed.ids()}

    def _claim(self, session: Session, now: datetime, walk: _Pass):
        """The next due rows as (deadline id, case id, due time), or None if some of their cases were
        another sweeper's (now passed: this transaction must end, to let go of their rows)."""
        params = self._claim_params(now, walk)
        if not self.db.is_postgres:  # BEGIN IMMEDIATE: this transaction is the only writer
            return [tuple(r) for r in session.execute(_DUE_ROWS, params)]
        # One round trip: claim the rows, try their cases' locks, bound how long this transaction waits.
        found = session.execute(_CLAIM_DUE_ROWS, params).all()
        taken = {r.case_id for r in found if not r.free}
        if taken:
            walk.passed.add(*taken)
            return None
        return sorted(((r.id, r.case_id, r.due_at) for r in found), key=lambda r: (r[2], r[0]))

    def _fire_claimed(self, session: Session, now: datetime, claimed: list[tuple], passed: _Passed):
        """Fire the claimed rows' cases in order, until the batch has taken long enough; the fired
        cases' contexts and the last row dealt with."""
        batch = self._read_batch(session, list(dict.fromkeys(case_id for _, case_id, _ in claimed)))
        done, started, seen, after = [], time.monotonic(), set(), None
        for deadline_id, case_id, due_at in claimed:
            if case_id not in seen:
                if seen and time.monotonic() - started > _BATCH_SECONDS:
                    break  # the rest of the claimed rows go to the next batch
                seen.add(case_id)
                try:
                    ctx = self._fire_case(session, now, batch, case_id)
                except Exception as exc:
                    passed.add(case_id)  # before the rollback lets go of its rows: no thread of this sweep retries it
                    self._case_failed(case_id, exc)
                    raise _CaseFailed() from exc
                if ctx is not None:
                    done.append(ctx)
                if self.failing_cases.pop(case_id, None) is not None:
                    log.warning("deadline sweep: case %s, which failed before, fires now", case_id)
            after = (due_at, deadline_id)
        conn = session.connection()
        if batch.fired_ids:
            deadlines.mark_fired(conn, batch.fired_ids, now)
        reminders.enqueue(conn, batch.messages)
        return done, after

    def _case_failed(self, case_id: int, exc: BaseException) -> None:
        if isinstance(exc, Conflict):
            log.info("deadline sweep: case %s changed meanwhile; left to the next sweep", case_id)
        elif isinstance(exc, DBAPIError) and getattr(exc.orig, "sqlstate", None) in _SWEEP_GIVES_WAY:
            log.info("deadline sweep: case %s was busy (%s); left to the next sweep", case_id, exc.orig.sqlstate)
        elif self.failing_cases.get(case_id) != repr(exc):
            # Once with its traceback, not at every sweep: a broken case would otherwise fill the log.
            self.failing_cases[case_id] = repr(exc)
            log.error("deadline sweep: firing case %s failed; it stays overdue and every sweep tries it again",
                      case_id, exc_info=exc)
        else:
            log.debug("deadline sweep: case %s still fails: %r", case_id, exc)

    def _read_batch(self, session: Session, case_ids: list[int]) -> _Batch:
        conn = session.connection()
        held = self.cache.holds(case_ids)
        cases = rows.load_cases(conn, case_ids, with_state=not held)
        live = {}
        for case_id in held & cases.keys():
            item = self.cache.take(case_id, cases[case_id]["version"])
            if item is not None:
                live[case_id] = item
        missing = [case_id for case_id, case in cases.items() if case_id not in live and "state" not in case]
        for case_id, state in (rows.load_states(conn, missing).items() if missing else ()):
            cases[case_id]["state"] = state
        return _Batch(cases, live, rows.pending_deadlines_of(conn, case_ids), rows.ready_tasks_of(conn, case_ids))

    def _fire_case(self, session: Session, now: datetime, batch: _Batch, case_id: int):
        """Fire the case's due timers as a command of the system user: its context, how many fired and
        their due times."""
        case = batch.cases[case_id]
        state = case.pop("state", None)
        pending = batch.pending.get(case_id, [])
        due = [d for d in pending if d["due_at"] < now]
        if not due:  # fired meanwhile by a sweeper that committed after this one read its rows
            return None
        app = self.engine.application(case["type"])
        task_rows = batch.tasks.get(case_id, [])
        live = batch.live.get(case_id)
        if live is not None:
            workflow, known = live
        else:
            workflow = self.engine.restore(session, case, app, state)
            known = Known({d["spiff_id"]: d for d in pending if d["spiff_id"] is not None},
                          {t["spiff_id"]: rows.TaskRow(t["id"], t["spiff_id"], t["name"], t["due_at"])
                           for t in task_rows})
        # The people a deadline concerns are those of its task before the firing cancels it.
        tasks = {t["name"]: t for t in task_rows}
        ctx = Ctx(session, now, SYSTEM, app, case, workflow, known)
        rt.fire_timers(workflow)
        waiting = {t.spiff_id: t.due_at for t in rt.waiting_timers(workflow)}
        # A cycle timer (a report every 15 days) still waits after firing, for its next due time.
        fired = [d for d in due if d["spiff_id"] is None or waiting.get(d["spiff_id"]) != d["due_at"]]
        for d in fired:
            ctx.event("deadline_breached", {"kind": d["kind"], "due_at": d["due_at"].astimezone(ZONE).isoformat(),
                                            "deadline_id": d["id"]})
            ctx.known.timers.pop(d["spiff_id"], None)
        self.engine.persist(ctx)
        batch.fired_ids += [d["id"] for d in fired]
        if fired and self.engine.reminders is not None:
            batch.messages += self.engine.reminders.overdue_messages(ctx.conn, now, ctx.case, fired, tasks)
        return ctx, len(fired), [d["due_at"] for d in fired]
