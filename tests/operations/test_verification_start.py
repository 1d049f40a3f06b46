"""Two web processes asked at the same moment to verify the whole store start one run, not two: the
second start waits for the first one's commit and answers its run (PostgreSQL, where several
`serve --workers` processes share the store; SQLite's writers queue at BEGIN IMMEDIATE already)."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

import usecases.audit
from engine.store import AuditRun
from tests.conftest import (
    FIXTURES,
    PG_URL,
    fresh_postgres_schema,
    make_system,
    seed_people,
)


@pytest.fixture(params=["postgresql"])
def two_processes(request):
    """Two application layers on one PostgreSQL schema, each with its own engine and pool: what two
    worker processes are to the store."""
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        first = make_system(url, FIXTURES / "bpmn")
        second = make_system(url, FIXTURES / "bpmn")
        auditor = seed_people(first)["auditor"]
        for system in (first, second):
            system.services.audit.runner = lambda work: None  # the run's work is not what is tested
        try:
            yield first, second, auditor
        finally:
            first.close()
            second.close()


def _waiting_on_a_lock(system) -> bool:
    with system.db.probe() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND wait_event_type = 'Lock' AND wait_event = 'advisory' "
                                      "AND query LIKE '%pg_advisory_xact_lock%'")).scalar())


def test_two_starts_at_once_in_two_processes_make_one_run(two_processes, monkeypatch):
    first, second, auditor = two_processes
    inside, go = threading.Event(), threading.Event()
    real_view = usecases.audit._run_view
    holder: dict[str, threading.Thread] = {}

    def view_then_wait(run, now):  # the first start, inside its transaction, its run added, not committed
        view = real_view(run, now)
        if threading.current_thread() is holder.get("first"):
            inside.set()
            assert go.wait(60)
        return view
    monkeypatch.setattr(usecases.audit, "_run_view", view_then_wait)

    answers: dict[str, dict] = {}
    holder["first"] = threading.Thread(target=lambda: answers.update(first=first.services.audit.start_verification(auditor)))
    holder["first"].start()
    assert inside.wait(60)
    late = threading.Thread(target=lambda: answers.update(second=second.services.audit.start_verification(auditor)))
    late.start()
    # Let the first commit once the second is either waiting for it or (without the lock) done already.
    deadline = time.monotonic() + 60
    while not (_waiting_on_a_lock(first) or not late.is_alive()) and time.monotonic() < deadline:
        time.sleep(0.02)
    go.set()
    holder["first"].join(60)
    late.join(60)

    assert answers["first"]["status"] == answers["second"]["status"] == "running"
    assert answers["second"]["id"] == answers["first"]["id"]
    with first.db.read() as session:
        assert session.scalar(select(func.count()).select_from(AuditRun)) == 1
