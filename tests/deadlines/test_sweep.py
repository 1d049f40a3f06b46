"""A sweep fires its due cases in batches of one transaction; one case that cannot fire holds up none
of the others and is fired by a later sweep, once."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine.audit import verify_cases
from engine.store import CaseEvent
from tests.conftest import START
from tests.deadlines.conftest import a_county, deadlines_of, events_of, outbox, ready_task

DUE_CASES = 60  # more than two batches


def start_due_cases(system, count: int = DUE_CASES) -> list[int]:
    mediator = system.people["mediator"]
    return [system.engine.start_case("timed", {"days": 10, "jurisdiction": "qh"}, mediator).case_id
            for _ in range(count)]


def breached_by_case(system) -> dict[int, int]:
    found: dict[int, int] = {}
    for event in events_of(system, "deadline_breached"):
        found[event.case_id] = found.get(event.case_id, 0) + 1
    return found


def fail_firing_of(system, monkeypatch, case_id: int, error: Exception) -> None:
    """The case type's own rules raise while the sweep fires this one case, after the sweep has
    already written the earlier cases of its batch."""
    app = system.engine.application("timed")
    after_step = app.after_step

    def failing(scope):
        if scope.case["id"] == case_id:
            raise error
        return after_step(scope)

    monkeypatch.setattr(app, "after_step", failing)


def test_a_case_that_fails_to_fire_is_left_pending_and_every_other_fires_once(county, monkeypatch, caplog):
    cases = start_due_cases(county)
    bad = cases[len(cases) // 2]
    fail_firing_of(county, monkeypatch, bad, RuntimeError("the rules broke"))
    county.clock.set(START + timedelta(days=11))

    with caplog.at_level(logging.ERROR, logger="engine.sweep"):
        assert county.sweep() == DUE_CASES - 1
        assert county.sweep() == 0  # tried again, still failing: logged once, not at every sweep
    assert [r.getMessage() for r in caplog.records] == [
        f"deadline sweep: firing case {bad} failed; it stays overdue and every sweep tries it again"]
    assert breached_by_case(county) == {c: 1 for c in cases if c != bad}
    assert deadlines_of(county, bad)[0].status == "pending"
    assert ready_task(county, bad).name == "respond"  # not escalated
    assert all(ready_task(county, c).name == "supervise" for c in cases if c != bad)
    # The overdue reminder went to the two county mediators of each case fired, and of no other.
    assert len(outbox(county, "deadline_overdue")) == 2 * (DUE_CASES - 1)
    assert len({m.case_id for m in outbox(county, "deadline_overdue")}) == DUE_CASES - 1

    monkeypatch.undo()  # the rules are mended: the next sweep fires it, once
    assert county.sweep() == 1
    assert county.sweep() == 0
    assert breached_by_case(county) == {c: 1 for c in cases}
    assert len(outbox(county, "deadline_overdue")) == 2 * DUE_CASES
    with county.db.read() as s:
        assert verify_cases(s) == (DUE_CASES, None)


def test_a_sweep_with_more_due_cases_than_a_batch_fires_each_once(county):
    cases = start_due_cases(county)
    with county.db.read() as s:
        before = s.scalar(select(func.count()).select_from(CaseEvent))
    county.clock.set(START + timedelta(days=11))
    assert county.sweep_all().fired == DUE_CASES
    assert county.sweep_all().fired == 0
    assert breached_by_case(county) == {c: 1 for c in cases}
    assert {(d.status, d.warning_level) for d in deadlines_of(county)} == {("fired", "overdue")}
    with county.db.read() as s:
        # each case once: the deadline breached, its step cancelled, the supervision opened
        assert s.scalar(select(func.count()).select_from(CaseEvent)) - before == 3 * DUE_CASES
        assert verify_cases(s) == (DUE_CASES, None)


@pytest.fixture
def pg_county(postgres_url):
    with a_county(postgres_url) as system:
        yield system


def test_a_case_a_user_changes_while_the_sweep_fires_it_is_fired_by_the_next_sweep(pg_county, monkeypatch):
    """PostgreSQL: the user's command commits first; the sweep's write of that case loses on the case
    version, its batch is fired again without it, and the next sweep fires it on top of the user's change."""
    county = pg_county
    cases = start_due_cases(county, 30)
    busy = cases[10]
    task_id = ready_task(county, busy).id
    app = county.engine.application("timed")
    after_step = app.after_step
    claimed = []

    def a_user_claims_the_task_meanwhile(scope):
        if scope.case["id"] == busy and not claimed:
            claimed.append(county.engine.claim_task(task_id, county.people["mediator"]))
        return after_step(scope)

    monkeypatch.setattr(app, "after_step", a_user_claims_the_task_meanwhile)
    county.clock.set(START + timedelta(days=11))
    assert county.sweep() == 29
    assert claimed and deadlines_of(county, busy)[0].status == "pending"
    assert county.sweep() == 1
    assert breached_by_case(county) == {c: 1 for c in cases}
    with county.db.read() as s:
        kinds = s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == busy).order_by(CaseEvent.seq)).all()
        assert kinds.index("task_claimed") < kinds.index("deadline_breached")
        assert verify_cases(s) == (30, None)
