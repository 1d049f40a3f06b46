"""Wiring: settings → database, clock, business calendar, case engine. Used by the web app, the
command line, the scheduler and the tests alike (none of them needs a Flask app context)."""
from __future__ import annotations

import gc
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Mapping

from sqlalchemy import bindparam, delete, select

from . import history, ledger
from .application import ProcessApplication
from .calendar import BusinessCalendar, YearSchedule, load_bundled_schedules, parse_year_schedule
from .clock import Clock, SimulatedClock
from .config import Settings, parse_supervisor
from .db import Database, upgrade_schema
from .deadlines import WORK_COLUMNS
from .reminders import Reminders
from .service import CaseEngine
from .store import HolidayYear, Setting

CLOCK_KEY = "clock.now"
CALENDAR_KEY = "calendar.generation"  # counts the holiday-year imports: other processes reload on a change

_NOT_LOADED = object()
_CLOCK = select(Setting.value).where(Setting.key == bindparam("b_key"))
_SWEEP_PROBE = select(*WORK_COLUMNS, _CLOCK.params(b_key=CALENDAR_KEY).scalar_subquery().label("calendar"))


def settle_heap() -> None:
    """For a long-running process once it has built what it keeps (the process specs, the compiled
    statements, the app): collect what is garbage already, then move every object left out of the
    cyclic collector's reach (`gc.freeze`). Its full passes otherwise walk all of them again every
    few hundred requests: a pause of 50–70 ms in one request in ten to twenty at 1,000,000 cases
    (bench/queries.py, PostgreSQL). Before a fork it also keeps those pages shared with the workers,
    which the passes would write to. Objects made later are collected as before."""
    gc.collect()
    gc.freeze()


@dataclass(frozen=True)
class SweepReport:
    fired: int  # deadlines fired
    warned: int  # deadlines that reached their warning level
    digests: int  # owners' digests queued
    jobs: int = 0  # notifications queued by the sweep jobs the application layer added (add_sweep_job)

    @property
    def queued_anything(self) -> bool:
        return bool(self.fired or self.warned or self.digests or self.jobs)


ANALYSIS_LIMIT = 2000  # rows SQLite's ANALYZE reads per index


class System:
    def __init__(self, settings: Settings, applications: Mapping[str, ProcessApplication] | None = None,
                 default_application: Callable[[str], ProcessApplication] | None = None):
        self.settings = settings
        self.db = Database(settings)
        self.clock: Clock = SimulatedClock(self._load_clock, self._save_clock) if settings.simulated_clock else Clock()
        self.calendar = BusinessCalendar(load_bundled_schedules())
        self.engine = CaseEngine(self.db, applications or {}, self.calendar, self.clock,
                                 cache_size=settings.workflow_cache_size,
                                 default_application=default_application or (lambda key: ProcessApplication(key)))
        self.reminders = Reminders(settings, self.calendar, {
            key: parse_supervisor(app.supervisor) for key, app in (applications or {}).items()})
        self.engine.reminders = self.reminders
        self._calendar_generation: object = _NOT_LOADED  # the first sweep loads the imported years
        self._sweep_jobs: dict[str, Callable[[datetime], int]] = {}
        self.add_case_listener(ledger.on_case_saved)  # the ledger's kept totals follow a case's unit

    def add_sweep_job(self, name: str, job: Callable[[datetime], int]) -> None:
        """Run `job(now)` in every sweep after the deadlines (a reminder that is no deadline of a case,
        such as the villages' monthly report). It returns how many notifications it queued, keeps itself
        cheap when it has nothing to do, and must be idempotent: every scheduler process runs it.
        A second job of the same name replaces the first (several Services over one System)."""
        self._sweep_jobs[name] = job

    def add_case_listener(self, listener) -> None:
        """Call `listener(session, before, case)` after every write of a case, in its transaction
        (engine/tally.py): `before` the case as the command found it (None when it registers it)."""
        if listener not in self.engine.case_listeners:
            self.engine.case_listeners.append(listener)

    def add_task_listener(self, listener) -> None:
        """Call `listener(session, task, at)` when a step is completed, in its transaction
        (engine/tally.py): `task` the task's row as it was ready, `at` the instant of completion."""
        if listener not in self.engine.task_listeners:
            self.engine.task_listeners.append(listener)

    def upgrade(self) -> None:
        upgrade_schema(self.db)
        self.load_calendar()

    def load_calendar(self) -> None:
        """Add the holiday years imported into the database to the bundled ones."""
        with self.db.read() as session:
            generation = session.scalar(select(Setting.value).where(Setting.key == CALENDAR_KEY))
            for row in session.scalars(select(HolidayYear)):
                self.calendar.add_year(parse_year_schedule(row.data))
        self._calendar_generation = generation

    def import_calendar_year(self, data: dict, now: datetime) -> YearSchedule:
        """Store a year's official schedule; it replaces the bundled data or the estimate. Every
        process reloads its calendar at its next sweep: the import counts up CALENDAR_KEY."""
        schedule = parse_year_schedule(data)
        with self.db.write() as session:
            session.execute(delete(HolidayYear).where(HolidayYear.year == schedule.year))
            session.add(HolidayYear(year=schedule.year, data=data, imported_at=now))
            generation = session.scalar(select(Setting).where(Setting.key == CALENDAR_KEY).with_for_update())
            if generation is None:
                session.add(Setting(key=CALENDAR_KEY, value="1"))
            else:
                generation.value = str(int(generation.value) + 1)
        self.calendar.add_year(schedule)
        return schedule

    def sweep(self) -> int:
        """Fire the deadlines due now (and queue every reminder due); returns how many fired."""
        return self.sweep_all().fired

    def sweep_all(self) -> SweepReport:
        """One sweep, with the holiday years imported since this process started: fire the due
        deadlines with their overdue reminders, move deadlines to `warning` with theirs, and queue
        the owners' digest when it is due. A sweep with nothing to do is one statement."""
        now = self.clock.now()
        with self.db.probe() as conn:
            work = conn.execute(_SWEEP_PROBE, {"b_now": now}).one()
        if work.calendar != self._calendar_generation:
            self.load_calendar()
        fired = self.engine.sweep(workers=self.settings.sweep_workers, now=now) if work.due else 0
        warned = self.reminders.sweep_warnings(self.db, now) if work.warning else 0
        digests = self.reminders.write_digests(self.db, now)
        jobs = sum(job(now) for job in list(self._sweep_jobs.values()))
        return SweepReport(fired, warned, digests, jobs)

    # --- the simulated clock's storage -----------------------------------------------------
    def _load_clock(self) -> str | None:
        with self.db.probe() as conn:
            return conn.execute(_CLOCK, {"b_key": CLOCK_KEY}).scalar()

    def _save_clock(self, value: str | None) -> None:
        with self.db.write() as session:
            session.execute(delete(Setting).where(Setting.key == CLOCK_KEY))
            if value is not None:
                session.add(Setting(key=CLOCK_KEY, value=value))

    def optimize(self, *, full: bool = True) -> str:
        """Give the query planner statistics of the store: `ANALYZE` (`init`, after a bulk load), or
        on SQLite with `full=False` `PRAGMA optimize`, which analyses only the tables whose statistics
        have gone stale (the scheduler, periodically). SQLite reads at most ANALYSIS_LIMIT rows of each
        index, so it takes seconds even at a million cases. On PostgreSQL autovacuum keeps the
        statistics current; ANALYZE here only makes them current at once. Returns what ran."""
        if self.db.is_postgres:
            if not full:
                return "nothing (autovacuum analyses PostgreSQL)"
            with self.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
            return "ANALYZE"
        statement = "ANALYZE" if full else "PRAGMA optimize"
        with self.db.write_engine.connect() as conn:
            conn.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
            conn.exec_driver_sql(statement)
            conn.commit()
        return statement

    def pack_closed(self, limit: int = history.PACK_LIMIT, batch: int = history.PACK_BATCH) -> history.PackReport:
        """Pack the histories of up to `limit` closed cases with events not yet looked at (engine/
        history.py), `batch` cases a transaction: their events move into one `case_history` row each,
        but for those that stay rows (history.ROW_KINDS, the application's `keeps_event_row`). Run by
        the scheduler periodically and by `fengqiao pack`; several at once do no harm (a case being
        packed by one is skipped by the other on PostgreSQL; SQLite writes one at a time)."""
        return history.pack_closed(self.db, self.engine.application, limit, batch)

    def close(self) -> None:
        self.db.dispose()
