"""The scheduler: APScheduler 3 jobs that fire deadlines on time and deliver the outbox.

It runs inside `fengqiao serve` and alone as `fengqiao scheduler`. Due times live in the indexed
`deadline` table, not in scheduler jobs; a few jobs look at the table:

- **sweep** runs `System.sweep_all()` (fire due deadlines, move deadlines to `warning`, queue the
  digest) and re-arms itself for the next instant something becomes due, so a deadline fires
  within milliseconds of its time. It never sleeps longer than FENGQIAO_SCHEDULER_POLL_SECONDS
  (1 s), so deadlines written by other processes, and a simulated clock that was moved, are
  noticed within that; under the simulated clock it simply sweeps at that interval. Its first run
  at start fires whatever came due while nothing ran.
- **dispatch** delivers the outbox (an object of notifications/, handed in: the engine does not
  import it) and re-arms itself for the next release or retry time, likewise.
- **lease**, on SQLite: only the process holding the scheduler lease sweeps and dispatches. It
  renews the lease every third of FENGQIAO_SCHEDULER_LEASE_SECONDS; a standby process tries as
  often and takes over once the holder has stopped renewing. On PostgreSQL every scheduler works
  at once: sweeps claim rows with FOR UPDATE SKIP LOCKED, so each deadline fires exactly once
  (there the job is only a watchdog that restarts a job chain that somehow ended).
- **optimize**, on SQLite: the lease holder runs `PRAGMA optimize` every OPTIMIZE_EVERY (an hour),
  which analyses the tables whose planner statistics went stale as cases grew (`init` ran ANALYZE).
  PostgreSQL's autovacuum analyses by itself; there the job does not run.
- **pack**, on both stores, every PACK_EVERY (ten minutes; on SQLite the lease holder): packs the
  histories of up to history.PACK_LIMIT closed cases with new events (`System.pack_closed`,
  engine/history.py), a batch a transaction. On PostgreSQL every scheduler may run it at once: a
  case one is packing is skipped by the others (FOR UPDATE SKIP LOCKED).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta, timezone
from typing import Callable, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import update

from . import deadlines, health
from .clock import utcnow
from .db import Database
from .store import SchedulerLease

log = logging.getLogger("fengqiao.scheduler")

SWEEP, DISPATCH, LEASE, OPTIMIZE = "fengqiao-sweep", "fengqiao-dispatch", "fengqiao-lease", "fengqiao-optimize"
PACK = "fengqiao-pack"
OPTIMIZE_EVERY = timedelta(hours=1)
PACK_EVERY = timedelta(minutes=10)
_LATE_MARGIN = timedelta(milliseconds=1)  # a timer fires once `now` is past its time, not at it


class Dispatcher(Protocol):
    """What the scheduler needs of the outbox dispatcher (notifications.dispatcher.OutboxDispatcher)."""

    def dispatch(self) -> int:
        """Deliver what is due now; returns how many messages were tried."""

    def next_due(self) -> datetime | None:
        """The real time the next message becomes due, if known."""


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Lease:
    """A row in `scheduler_lease`: who may sweep, until when (real time)."""

    def __init__(self, db: Database, holder: str, seconds: float, name: str = "scheduler"):
        self.db, self.holder, self.name = db, holder, name
        self.ttl = timedelta(seconds=seconds)

    def hold(self) -> bool:
        """Acquire the lease, or renew it if held; False while another live process holds it."""
        now = utcnow()
        with self.db.write() as session:
            row = session.get(SchedulerLease, self.name)
            if row is None:
                session.add(SchedulerLease(name=self.name, holder=self.holder, acquired_at=now,
                                           expires_at=now + self.ttl))
                return True
            if row.holder != self.holder and row.expires_at > now:
                return False
            if row.holder != self.holder:
                row.holder, row.acquired_at = self.holder, now
            row.expires_at = now + self.ttl
            return True

    def holder_now(self) -> str | None:
        with self.db.read() as session:
            row = session.get(SchedulerLease, self.name)
            return row.holder if row is not None and row.expires_at > utcnow() else None

    def release(self) -> None:
        """Let a standby take over at once."""
        with self.db.write() as session:
            session.execute(update(SchedulerLease).where(SchedulerLease.name == self.name,
                                                         SchedulerLease.holder == self.holder)
                            .values(expires_at=utcnow()))


class DeadlineScheduler:
    def __init__(self, system, dispatcher: Dispatcher | None = None, *, name: str | None = None):
        self.system = system
        self.dispatcher = dispatcher
        self.name = name or process_name()
        settings = system.settings
        self.poll = timedelta(seconds=settings.scheduler_poll_seconds)
        self.lease = None if system.db.is_postgres else Lease(system.db, self.name, settings.scheduler_lease_seconds)
        self._holding = self.lease is None
        self._stopping = False
        self._sweep_lock, self._dispatch_lock = threading.Lock(), threading.Lock()
        self._aps = BackgroundScheduler(timezone=timezone.utc, executors={"default": ThreadPoolExecutor(4)},
                                        job_defaults={"coalesce": True, "misfire_grace_time": None,
                                                      "max_instances": 10})
        self.fired = self.warned = self.digests = self.sweeps = self.optimized = 0  # since start, for logs and tests
        self.packed = 0  # closed cases whose histories the pack job looked at, since start
        # In the store, so that /healthz of any process sees that some scheduler sweeps and delivers.
        self._swept = health.Heartbeat(system.db, health.LAST_SWEEP)
        self._dispatched = health.Heartbeat(system.db, health.LAST_DISPATCH)

    # ------------------------------------------------------------------ life cycle
    def start(self) -> None:
        if self.lease is not None:
            self._take_lease()
        every = self.lease.ttl.total_seconds() / 3 if self.lease is not None else 10.0
        self._aps.add_job(self._lease_job, IntervalTrigger(seconds=max(every, 0.2)), id=LEASE, replace_existing=True)
        if self.lease is not None:
            self._aps.add_job(self._optimize_job, IntervalTrigger(seconds=OPTIMIZE_EVERY.total_seconds()),
                              id=OPTIMIZE, replace_existing=True)
        self._aps.add_job(self._pack_job, IntervalTrigger(seconds=PACK_EVERY.total_seconds()),
                          id=PACK, replace_existing=True)
        self._aps.start()
        now = utcnow()
        self._arm(SWEEP, self._sweep_job, now)
        if self.dispatcher is not None:
            self._arm(DISPATCH, self._dispatch_job, now)
        mode = "PostgreSQL (SKIP LOCKED)" if self.lease is None else (
            "SQLite, holding the lease" if self._holding else "SQLite, standby until the lease is free")
        log.info("scheduler %s started: %s; clock %s", self.name, mode,
                 "simulated" if self.system.clock.simulated else "real")

    def stop(self) -> None:
        self._stopping = True
        try:
            self._aps.shutdown(wait=True)
        except SchedulerNotRunningError:
            pass
        if self.lease is not None and self._holding:
            try:
                self.lease.release()
            except Exception:  # the store may be gone already; the lease then simply expires
                log.exception("could not release the scheduler lease")
        log.info("scheduler %s stopped", self.name)

    def run_forever(self, stop: threading.Event) -> None:
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()

    def wake(self) -> None:
        """Sweep now (after something in this process moved the clock or wrote deadlines)."""
        self._arm(SWEEP, self._sweep_job, utcnow())

    @property
    def holding(self) -> bool:
        return self._holding

    # ------------------------------------------------------------------ jobs
    def _arm(self, job_id: str, func: Callable[[], None], when: datetime) -> None:
        if self._stopping:
            return
        try:
            # A job re-arms itself while it still runs; max_instances is high so that a run armed
            # for "now" is never dropped for that, and the job's lock keeps runs one at a time.
            self._aps.add_job(func, DateTrigger(run_date=when, timezone=timezone.utc), id=job_id,
                              replace_existing=True)
        except SchedulerNotRunningError:
            pass

    def _sweep_job(self) -> None:
        next_at, started = None, utcnow()
        with self._sweep_lock:
            try:
                if not self._holding:
                    return
                sweep_clock = self.system.clock.now()
                report = self.system.sweep_all()
                self.sweeps += 1
                self.fired += report.fired
                self.warned += report.warned
                self.digests += report.digests
                self._swept.beat()
                if report.queued_anything:
                    log.info("fired %d deadline(s), %d reached warning, %d digest(s) queued",
                             report.fired, report.warned, report.digests)
                    if self.dispatcher is not None:
                        self._arm(DISPATCH, self._dispatch_job, utcnow())
                next_at = self._next_sweep(sweep_clock)
            except Exception:
                log.exception("the deadline sweep failed; retrying")
            finally:
                self._arm(SWEEP, self._sweep_job, self._within_poll(next_at, started))

    def _next_sweep(self, swept_at: datetime) -> datetime | None:
        """When to sweep next (real time), or None for "at the next poll"."""
        if self.system.clock.simulated:
            return None  # the stored clock jumps: look at the interval
        with self.system.db.read() as session:
            transition = deadlines.next_transition(session.connection())
        candidates = [self.system.reminders.next_digest(utcnow())]
        if transition is not None:
            if transition < swept_at:
                return None  # due before this sweep yet still pending: another process holds it
            candidates.append(transition + _LATE_MARGIN)
        return min(candidates)

    def _within_poll(self, when: datetime | None, started: datetime) -> datetime:
        ceiling = max(utcnow(), started + self.poll)
        return ceiling if when is None else min(when, ceiling)

    def _dispatch_job(self) -> None:
        next_at, started = None, utcnow()
        with self._dispatch_lock:
            try:
                if not self._holding or self.dispatcher is None:
                    return
                tried = self.dispatcher.dispatch()
                self._dispatched.beat()
                next_at = self.dispatcher.next_due()
                if next_at is not None and next_at <= utcnow() and not tried:
                    next_at = None  # due but not ours to send (another dispatcher has it): poll
            except Exception:
                log.exception("outbox dispatch failed; retrying")
            finally:
                self._arm(DISPATCH, self._dispatch_job, self._within_poll(next_at, started))

    def _optimize_job(self) -> None:
        """SQLite: refresh the planner's statistics where they went stale (the lease holder only)."""
        if not self._holding or self._stopping:
            return
        try:
            self.system.optimize(full=False)
            self.optimized += 1
        except Exception:
            log.exception("PRAGMA optimize failed; trying again at the next interval")

    def _pack_job(self) -> None:
        """Pack the histories of closed cases (on SQLite the lease holder only)."""
        if not self._holding or self._stopping:
            return
        try:
            self.packed += self.system.pack_closed().cases
        except Exception:
            log.exception("packing closed histories failed; trying again at the next interval")

    def _take_lease(self) -> None:
        try:
            held = self.lease.hold()
        except Exception:
            log.exception("could not reach the scheduler lease")
            held = False
        if held and not self._holding:
            log.info("scheduler %s holds the lease: sweeping", self.name)
        elif self._holding and not held:
            log.warning("scheduler %s lost the lease to %s: standing by", self.name, self.lease.holder_now())
        was, self._holding = self._holding, held
        if held and not was and self._aps.running:
            self._arm(SWEEP, self._sweep_job, utcnow())
            if self.dispatcher is not None:
                self._arm(DISPATCH, self._dispatch_job, utcnow())

    def _lease_job(self) -> None:
        if self.lease is not None:
            self._take_lease()
        # A safety net: a job chain that somehow ended is started again.
        if self._holding and not self._stopping:
            if self._aps.get_job(SWEEP) is None and not self._sweep_lock.locked():
                self._arm(SWEEP, self._sweep_job, utcnow())
            if self.dispatcher is not None and self._aps.get_job(DISPATCH) is None and not self._dispatch_lock.locked():
                self._arm(DISPATCH, self._dispatch_job, utcnow())
