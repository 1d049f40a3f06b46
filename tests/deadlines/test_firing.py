"""Deadlines fire on time, once, whether one scheduler runs or several, and after a restart."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from engine.audit import verify_cases
from engine.scheduler import DeadlineScheduler
from engine.store import CaseEvent, Deadline, SchedulerLease
from notifications.dispatcher import OutboxDispatcher
from tests.conftest import START
from tests.deadlines.conftest import (build, deadlines_of, events_of, iso_in, outbox, pending_due, ready_task,
                                      seed_county, wait_for, who_got)
from tests.kept_due import assert_due_kept


def test_a_reply_due_in_two_seconds_is_escalated_within_a_second_of_its_time(database_url):
    """The real clock, a scheduler in the process as `fengqiao serve` runs it, and a step due shortly."""
    system = build(database_url, simulated=False)
    people = seed_county(system)
    scheduler = DeadlineScheduler(system, OutboxDispatcher.for_system(system))
    scheduler.start()
    try:
        # Red risk: its overdue reminders go at once, whatever the hour (a test may run in the evening).
        case_id = system.engine.start_case("quick", {"answer_by": iso_in(2.0), "jurisdiction": "qh",
                                                     "risk_level": "red"}, people["mediator"]).case_id
        (deadline,) = deadlines_of(system, case_id)
        fired = wait_for(lambda: [d for d in deadlines_of(system, case_id) if d.status == "fired"], 8,
                         what="the deadline to fire")[0]
        overdue = lambda: [m for m in outbox(system) if m.kind.startswith("deadline_overdue")]  # noqa: E731
        wait_for(lambda: overdue() and all(m.status == "sent" for m in overdue()), 5,
                 what="the overdue reminders to be delivered")
    finally:
        scheduler.stop()
    lag = (fired.fired_at - deadline.due_at).total_seconds()
    assert 0 <= lag < 1.0, f"fired {lag:.3f} s after its due time"
    assert fired.warning_level == "overdue"
    assert [e.data["deadline_id"] for e in events_of(system, "deadline_breached")] == [deadline.id]
    assert ready_task(system, case_id).name == "supervise"  # the petition office took it over
    # The mediators were told (in-app, delivered by the scheduler's dispatcher).
    assert who_got(system, "deadline_overdue") == {"med1", "med2"}
    with system.db.read() as s:
        assert verify_cases(s) == (1, None)
    system.close()


def test_a_scheduler_restarted_after_downtime_fires_what_came_due_once_and_only_the_overdue_reminder(
        county, schedulers):
    url = county.settings.database_url
    case_id = county.engine.start_case("timed", {"days": 10, "jurisdiction": "qh-dz-lc"},
                                       county.people["intake"]).case_id
    first = schedulers(url, "first")
    time.sleep(0.6)  # a few sweeps with nothing due
    assert first.fired() == 0
    first.kill()
    # While nothing runs, the step passes both its warning time and its due time.
    county.clock.set(datetime(2026, 9, 14, 1, 0, tzinfo=timezone.utc))  # Mon 09:00 in Shanghai
    second = schedulers(url, "second")
    wait_for(lambda: deadlines_of(county, case_id)[0].status == "fired", 15, what="the catch-up firing")
    wait_for(lambda: outbox(county) and all(m.status == "sent" for m in outbox(county)), 10,
             what="the reminders to be delivered")
    second.stop()
    assert len(events_of(county, "deadline_breached")) == 1
    assert outbox(county, "deadline_warning") == []  # both thresholds passed while down: only overdue
    assert who_got(county, "deadline_overdue") == {"vmed1"}
    assert who_got(county, "deadline_overdue_supervisor") == {"town_head"}
    sent = [(m.id, m.status, m.attempts) for m in outbox(county)]
    # Once more: nothing fires or is sent twice.
    third = schedulers(url, "third")
    time.sleep(1.0)
    third.stop()
    assert third.fired() == 0
    assert len(events_of(county, "deadline_breached")) == 1
    assert [(m.id, m.status, m.attempts) for m in outbox(county)] == sent
    with county.db.read() as s:
        assert verify_cases(s) == (1, None)


def test_two_scheduler_processes_fire_each_of_200_deadlines_exactly_once(postgres_url, schedulers):
    system = build(postgres_url)
    people = seed_county(system)
    due = START + timedelta(hours=1)
    later = START + timedelta(hours=2)
    # 100 cases with one deadline, 50 with two that come due together: 200 deadlines.
    for i in range(100):
        system.engine.start_case("quick", {"answer_by": (due + timedelta(seconds=i)).isoformat(),
                                           "jurisdiction": "qh"}, people["mediator"])
    for i in range(50):
        system.engine.start_case("pair", {"first_by": due.isoformat(), "second_by": due.isoformat(),
                                          "jurisdiction": "qh"}, people["mediator"])
    assert len(deadlines_of(system)) == 200
    a = schedulers(postgres_url, "a")
    b = schedulers(postgres_url, "b")
    system.clock.set(later)
    wait_for(lambda: pending_due(system) == 0, 60, 0.1, what="every deadline to fire")
    time.sleep(0.5)  # a few more sweeps by both, which must find nothing
    a.stop()
    b.stop()
    rows = deadlines_of(system)
    fired = [d for d in rows if d.status == "fired"]
    breached = [e.data["deadline_id"] for e in events_of(system, "deadline_breached")]
    assert len(fired) == 200 and sorted(breached) == sorted(d.id for d in fired)
    assert a.fired() + b.fired() == 200
    assert a.fired() > 0 and b.fired() > 0, (a.fired(), b.fired())
    # and each overdue reminder was queued once (two mediators of the unit per deadline)
    overdue = outbox(system, "deadline_overdue")
    assert len(overdue) == 400 and len({m.idempotency_key for m in overdue}) == 400
    with system.db.read() as s:
        assert verify_cases(s) == (150, None)
    system.close()


def test_a_standby_scheduler_takes_over_the_sqlite_lease_when_the_holder_dies(tmp_path, schedulers):
    url = f"sqlite:///{tmp_path / 'lease.db'}"
    system = build(url)
    people = seed_county(system)
    case_id = system.engine.start_case("timed", {"days": 10, "jurisdiction": "qh"}, people["mediator"]).case_id
    holder = schedulers(url, "holder")
    standby = schedulers(url, "standby")
    wait_for(lambda: lease_holder(system), 5, what="a lease holder")
    first_holder = lease_holder(system)
    time.sleep(1.0)
    assert lease_holder(system) == first_holder  # renewed, not taken over
    assert ("standing by" in standby.log() or "standby" in standby.log()) and "holds the lease" in holder.log()
    holder.kill()
    system.clock.set(datetime(2026, 9, 12, 1, 0, tzinfo=timezone.utc))  # past the due time
    wait_for(lambda: deadlines_of(system, case_id)[0].status == "fired", 10, what="the standby to take over")
    assert "holds the lease" in standby.log().split("started:", 1)[1]
    assert lease_holder(system) != first_holder
    wait_for(lambda: standby.fired() == 1, 5, what="the standby's log")
    assert holder.fired() == 0
    assert len(events_of(system, "deadline_breached")) == 1
    system.close()


def lease_holder(system) -> str | None:
    with system.db.read() as s:
        row = s.get(SchedulerLease, "scheduler")
        return row.holder if row is not None and row.expires_at > datetime.now(timezone.utc) else None


def test_a_report_due_every_15_days_fires_each_time_and_waits_for_the_next(county):
    """A cycle timer still waits after it fired: the sweep records the firing and the next due time."""
    med = county.people["mediator"]
    case_id = county.engine.start_case("report", {"jurisdiction": "qh"}, med).case_id
    (first,) = deadlines_of(county, case_id)
    county.clock.set(first.due_at + timedelta(seconds=1))
    assert county.sweep() == 1
    assert county.sweep() == 0  # and not again on every sweep
    rows = deadlines_of(county, case_id)
    assert [d.status for d in rows] == ["fired", "pending"]
    assert rows[1].due_at == first.due_at + timedelta(days=15)
    county.clock.set(rows[1].due_at + timedelta(seconds=1))
    assert county.sweep() == 1
    assert len(events_of(county, "deadline_breached")) == 2
    assert assert_due_kept(county) == 1  # the next report's due time, kept on the case by each firing


def test_the_warning_level_is_stored_and_moves_with_the_clock(county):
    case_id = county.engine.start_case("timed", {"days": 10, "jurisdiction": "qh"}, county.people["mediator"]).case_id
    level = lambda: deadlines_of(county, case_id)[0].warning_level  # noqa: E731
    county.sweep_all()
    assert level() == "normal"
    county.clock.set(datetime(2026, 9, 8, 4, 0, tzinfo=timezone.utc))  # 12:00 in Shanghai: past 2/3 (09-08 10:59:59)
    assert county.sweep_all().warned == 1
    assert level() == "warning"
    assert county.sweep_all().warned == 0
    with county.db.read() as s:  # lists filter and sort on the column
        assert s.scalar(select(func.count()).select_from(Deadline).where(Deadline.warning_level == "warning")) == 1
    county.clock.set(datetime(2026, 9, 12, 1, 0, tzinfo=timezone.utc))
    assert county.sweep_all().fired == 1
    assert level() == "overdue"


def test_an_extended_deadline_is_normal_again_and_warns_again(county):
    case_id = county.engine.start_case("timed", {"days": 10, "jurisdiction": "qh"}, county.people["mediator"]).case_id
    county.clock.set(datetime(2026, 9, 8, 4, 0, tzinfo=timezone.utc))
    county.sweep_all()
    assert len(outbox(county, "deadline_warning")) == 2
    with county.db.write() as s:  # what an extension does to the row (the case type's command)
        row = s.scalar(select(Deadline).where(Deadline.case_id == case_id))
        row.due_at += timedelta(days=15)
        row.warning_at += timedelta(days=10)
    county.sweep_all()
    assert deadlines_of(county, case_id)[0].warning_level == "normal"
    county.clock.set(datetime(2026, 9, 19, 4, 0, tzinfo=timezone.utc))
    assert county.sweep_all().warned == 1
    assert len(outbox(county, "deadline_warning")) == 4


def test_a_sweep_with_nothing_due_changes_nothing(county):
    county.engine.start_case("timed", {"days": 10, "jurisdiction": "qh"}, county.people["mediator"])
    with county.db.read() as s:
        before = s.scalar(select(func.count()).select_from(CaseEvent))
    report = county.sweep_all()
    assert (report.fired, report.warned) == (0, 0)
    with county.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == before
