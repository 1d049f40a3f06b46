"""A small county whose cases have deadlines, and scheduler processes to run against it.

`county` is a migrated store on the simulated clock (2026-09-01 09:00 Shanghai, a Tuesday) with
the fixture processes of tests/fixtures/deadlines and tests/fixtures/bpmn deployed and these people:

- village 柳村 (qh-dz-lc): intake1, vmed1 (mediator)
- town 东镇 (qh-dz): town_head (mediator, heads the unit), town_officer (petition office)
- county 清河县 (qh): med1, med2 (mediators), officer1 (petition office), leader1 (owns cases), admin1 …
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

import pytest
from sqlalchemy import func, select, update

from engine.accounts import actor_of, add_user
from engine.config import Settings
from engine.store import Case, CaseEvent, Deadline, HumanTask, OutboxMessage
from tests.conftest import FIXTURES, PG_URL, START, deploy_dir, fresh_postgres_schema, seed_people
from workflows import build_system

ROOT = Path(__file__).resolve().parents[2]
DEADLINES = FIXTURES / "deadlines"
VILLAGE, TOWN, COUNTY = "qh-dz-lc", "qh-dz", "qh"


@pytest.fixture(autouse=True)
def _notification_log_in_tmp(tmp_path, monkeypatch):
    """The `log` channels write into the test's own directory, never into ./instance/."""
    monkeypatch.setenv("FENGQIAO_NOTIFICATION_LOG", str(tmp_path / "notifications.log"))


def build(database_url: str, *, simulated: bool = True, **settings):
    if "FENGQIAO_NOTIFICATION_LOG" in os.environ:
        settings.setdefault("notification_log", Path(os.environ["FENGQIAO_NOTIFICATION_LOG"]))
    system = build_system(Settings(database_url=database_url, simulated_clock=simulated, bpmn_dir=DEADLINES,
                                   **settings))
    system.upgrade()
    if simulated:
        system.clock.set(START)
    from usecases import Services
    system.services = Services(system)
    return system


def seed_county(system) -> dict:
    people = seed_people(system)
    with system.db.write() as s:
        more = {
            "town_head": add_user(s, "town_head", ["mediator"], TOWN, "password1", now=START),
            "town_officer": add_user(s, "town_officer", ["petition_officer"], TOWN, "password1", now=START),
            "leader": add_user(s, "leader1", ["leader"], COUNTY, "password1", now=START),
            "admin": add_user(s, "admin1", ["admin"], COUNTY, "password1", now=START),
        }
        more["town_head"].unit_head = True
        people.update({k: actor_of(u) for k, u in more.items()})
    deploy_dir(system, DEADLINES)
    deploy_dir(system, FIXTURES / "bpmn")
    return people


@contextmanager
def a_county(database_url: str):
    """The county on the simulated clock, in the store at `database_url`."""
    system = build(database_url)
    system.people = seed_county(system)
    try:
        yield system
    finally:
        system.close()


@pytest.fixture
def county(database_url):
    """The county on the simulated clock, on SQLite and PostgreSQL."""
    with a_county(database_url) as system:
        yield system


@pytest.fixture(params=["postgresql"])
def postgres_url(request):
    """A fresh PostgreSQL schema, for what only PostgreSQL does (several schedulers sweeping at once).
    Skipped only when FENGQIAO_TEST_DATABASE_URL is not set (CI sets it)."""
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        yield url


# ------------------------------------------------------------------------------ helpers
def iso_in(seconds: float, now: datetime | None = None) -> str:
    return ((now or datetime.now(timezone.utc)) + timedelta(seconds=seconds)).isoformat()


def wait_for(condition: Callable[[], object], timeout: float, every: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def rows_of(system, model, *conditions) -> list:
    """The model's rows meeting the conditions, in key order (an event's: case, seq), readable after the read session ends
    (it rolls back, which would expire them)."""
    with system.db.read() as s:
        rows = list(s.scalars(select(model).where(*conditions).order_by(*model.__table__.primary_key.columns)))
        s.expunge_all()
        return rows


def deadlines_of(system, case_id: int | None = None) -> list[Deadline]:
    return rows_of(system, Deadline, *([Deadline.case_id == case_id] if case_id is not None else []))


def events_of(system, kind: str) -> list[CaseEvent]:
    return rows_of(system, CaseEvent, CaseEvent.kind == kind)


def outbox(system, kind: str | None = None) -> list[OutboxMessage]:
    return rows_of(system, OutboxMessage, *([OutboxMessage.kind == kind] if kind is not None else []))


def who_got(system, kind: str) -> set[str]:
    return {m.recipient for m in outbox(system, kind)}


def ready_task(system, case_id: int) -> HumanTask:
    found = rows_of(system, HumanTask, HumanTask.case_id == case_id, HumanTask.status == "ready")
    return found[0] if found else None


def set_owner(system, case_id: int, leader: str) -> None:
    with system.db.write() as s:
        s.execute(update(Case).where(Case.id == case_id).values(owner=leader))


def set_channels(system, username: str, channels: list[str], email: str | None = None, phone: str | None = None):
    from notifications.contacts import set_preferences
    with system.db.write() as s:
        set_preferences(s, username, channels=channels, **({"email": email} if email else {}),
                        **({"phone": phone} if phone else {}))


def pending_due(system) -> int:
    with system.db.read() as s:
        return s.scalar(select(func.count()).select_from(Deadline).where(Deadline.status == "pending",
                                                                          Deadline.due_at < system.clock.now()))


class SchedulerProcess:
    """`fengqiao scheduler` in a process of its own, as a deployment runs it."""

    def __init__(self, database_url: str, log_dir: Path, name: str, **env: str):
        self.name = name
        self.log_path = log_dir / f"scheduler-{name}.log"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_DATABASE_URL": database_url,
                    "FENGQIAO_SIMULATED_CLOCK": "1", "FENGQIAO_BPMN_DIR": str(DEADLINES),
                    "FENGQIAO_SCHEDULER_POLL_SECONDS": "0.2", "FENGQIAO_SCHEDULER_LEASE_SECONDS": "1.5",
                    "FENGQIAO_NOTIFICATION_LOG": str(log_dir / "notifications.log"), **env}
        self.process: subprocess.Popen | None = None

    def start(self) -> "SchedulerProcess":
        log = self.log_path.open("a")
        self.process = subprocess.Popen([sys.executable, "-m", "web.cli", "scheduler"], cwd=ROOT, env=self.env,
                                        stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_for(lambda: "started" in self.log() or self.process.poll() is not None, 60, 0.05,
                 f"scheduler {self.name} to start")
        assert self.process.poll() is None, self.log()
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def fired(self) -> int:
        """Deadlines this process fired, from its log."""
        total = 0
        for line in self.log().splitlines():
            if "fired " in line and " deadline(s)" in line:
                total += int(line.split("fired ", 1)[1].split(" ", 1)[0])
        return total

    def kill(self) -> None:
        """A crash: no clean-up at all."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def schedulers(tmp_path):
    """Start scheduler processes with `schedulers(url, name)`; all are stopped after the test."""
    started: list[SchedulerProcess] = []

    def start(database_url: str, name: str, **env: str) -> SchedulerProcess:
        process = SchedulerProcess(database_url, tmp_path, name, **env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
