"""Reminders reach the right people at the right time (DOMAIN.md §5, the working-hours rule, the digest).

A village case (柳村) answered within 10 days, registered on Tue 2026-09-01 09:00: its warning
time is Tue 09-08 11:00 (10:59:59.3) and its due time Fri 09-11 23:59:59, both Shanghai time.
"""
from __future__ import annotations

from datetime import datetime, time, timezone

import pytest
from sqlalchemy import select

from engine.calendar import ZONE, BusinessCalendar
from engine.config import Settings
from engine.reminders import WorkingHours
from engine.store import InboxItem
from notifications.dispatcher import OutboxDispatcher
from tests.deadlines.conftest import COUNTY, VILLAGE, build, outbox, ready_task, seed_county, set_owner, who_got


def shanghai(y, m, d, hh, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=ZONE)


def inbox(system, username: str) -> list[InboxItem]:
    with system.db.read() as s:
        items = list(s.scalars(select(InboxItem).where(InboxItem.username == username).order_by(InboxItem.id)))
        s.expunge_all()
        return items


def deliver(system) -> int:
    return OutboxDispatcher.for_system(system).dispatch()


def village_case(county, **data) -> int:
    return county.engine.start_case("timed", {"days": 10, "jurisdiction": VILLAGE, **data},
                                    county.people["intake"]).case_id


def test_the_warning_goes_to_the_village_mediators_and_the_overdue_reminder_also_to_the_town_head(county):
    case_id = village_case(county)
    county.clock.set(shanghai(2026, 9, 8, 10, 50))
    county.sweep_all()
    assert outbox(county) == []  # not yet 2/3 of the period
    county.clock.set(shanghai(2026, 9, 8, 11, 5))
    county.sweep_all()
    assert who_got(county, "deadline_warning") == {"vmed1"}  # unassigned: the role in the task's unit
    deliver(county)
    (item,) = inbox(county, "vmed1")
    assert "TIMED-2026-000001" in item.title and "2026年09月11日 23:59" in item.title
    assert item.link.endswith(f"/tasks/{ready_task(county, case_id).id}")

    county.engine.claim_task(ready_task(county, case_id).id, county.people["village_mediator"])
    county.clock.set(shanghai(2026, 9, 14, 9, 0))  # Monday: it came due on Friday night
    assert county.sweep_all().fired == 1
    assert who_got(county, "deadline_overdue") == {"vmed1"}  # assigned: only the assignee
    # the village has no head, so the town's head supervises; nobody at the county is bothered
    assert who_got(county, "deadline_overdue_supervisor") == {"town_head"}
    deliver(county)
    assert [i.kind for i in inbox(county, "vmed1")] == ["deadline_warning", "deadline_overdue"]
    (supervise,) = inbox(county, "town_head")
    assert "TIMED-2026-000001" in supervise.body and "vmed1" in supervise.body


def test_an_assigned_step_warns_only_its_assignee(county):
    case_id = county.engine.start_case("timed", {"days": 10, "jurisdiction": COUNTY},
                                       county.people["mediator"]).case_id
    county.engine.assign_task(ready_task(county, case_id).id, "med2", county.people["mediator"])
    county.clock.set(shanghai(2026, 9, 8, 14, 0))
    county.sweep_all()
    assert who_got(county, "deadline_warning") == {"med2"}


def test_a_petition_step_overdue_is_supervised_by_the_petition_office(database_url):
    system = build(database_url, supervisors="quick=role:petition_officer;*=head")
    people = seed_county(system)
    try:
        system.engine.start_case("quick", {"answer_by": shanghai(2026, 9, 2, 10).isoformat(), "jurisdiction": VILLAGE},
                                 people["intake"])
        system.clock.set(shanghai(2026, 9, 2, 10, 1))
        system.sweep_all()
        assert who_got(system, "deadline_overdue_supervisor") == {"town_officer"}  # the town's petition office
    finally:
        system.close()


def test_when_both_thresholds_passed_unseen_only_the_overdue_reminder_goes_out(county):
    village_case(county)
    county.clock.set(shanghai(2026, 9, 14, 9, 0))
    report = county.sweep_all()
    assert (report.fired, report.warned) == (1, 0)
    assert outbox(county, "deadline_warning") == []
    assert who_got(county, "deadline_overdue") == {"vmed1"}


def test_reminders_wait_for_working_hours_but_overdue_red_risk_goes_at_once(county):
    plain = village_case(county)
    red = village_case(county, risk_level="red")
    county.clock.set(shanghai(2026, 9, 12, 0, 5))  # Saturday, just after both came due
    assert county.sweep_all().fired == 2
    held = {m.case_id: m.next_attempt_at for m in outbox(county, "deadline_overdue")}
    assert held[plain] == shanghai(2026, 9, 14, 8, 30)  # Monday morning
    assert held[red] == shanghai(2026, 9, 12, 0, 5)  # now
    deliver(county)
    assert [i.case_id for i in inbox(county, "vmed1")] == [red]
    assert "红色风险" in inbox(county, "vmed1")[0].body
    county.clock.set(shanghai(2026, 9, 14, 8, 29))
    deliver(county)
    assert len(inbox(county, "vmed1")) == 1
    county.clock.set(shanghai(2026, 9, 14, 8, 30))
    deliver(county)
    assert [i.case_id for i in inbox(county, "vmed1")] == [red, plain]


@pytest.mark.parametrize("at, released", [
    (shanghai(2026, 9, 8, 7, 0), shanghai(2026, 9, 8, 8, 30)),  # a Tuesday, before hours
    (shanghai(2026, 9, 8, 12, 0), shanghai(2026, 9, 8, 12, 0)),  # within hours
    (shanghai(2026, 9, 8, 17, 30), shanghai(2026, 9, 9, 8, 30)),  # the end is outside
    (shanghai(2026, 9, 11, 18, 0), shanghai(2026, 9, 14, 8, 30)),  # Friday evening → Monday
    (shanghai(2026, 9, 30, 18, 0), shanghai(2026, 10, 8, 8, 30)),  # National Day holidays
    (shanghai(2026, 10, 9, 18, 0), shanghai(2026, 10, 10, 8, 30)),  # a make-up working Saturday
])
def test_the_working_hours_rule_follows_the_business_calendar(at, released):
    hours = WorkingHours(BusinessCalendar.bundled(), time(8, 30), time(17, 30))
    assert hours.release(at) == released
    assert hours.release(at).astimezone(timezone.utc) == released.astimezone(timezone.utc)


def test_working_hours_are_configurable():
    settings = Settings.from_env({"FENGQIAO_WORKING_HOURS": "09:00-18:00"})
    hours = WorkingHours(BusinessCalendar.bundled(), *settings.working_hours_range)
    assert hours.release(shanghai(2026, 9, 8, 8, 45)) == shanghai(2026, 9, 8, 9, 0)
    assert hours.release(shanghai(2026, 9, 8, 17, 45)) == shanghai(2026, 9, 8, 17, 45)
    with pytest.raises(ValueError):
        Settings.from_env({"FENGQIAO_WORKING_HOURS": "18:00-09:00"})


def test_a_leader_owning_cases_gets_one_digest_at_eight_on_working_days(county):
    # registered 09-01, so backlog after 90 days; its step stays open once overdue (supervised)
    old = county.engine.start_case("handle", {"days": 10, "jurisdiction": VILLAGE}, county.people["intake"]).case_id
    county.clock.set(shanghai(2026, 11, 30, 9, 0))
    soon = village_case(county)  # due Thu 12-10
    for case_id in (old, soon):
        set_owner(county, case_id, "leader1")
    county.clock.set(shanghai(2026, 12, 4, 7, 59))  # Friday
    county.sweep_all()
    assert outbox(county, "owner_digest") == []
    county.clock.set(shanghai(2026, 12, 4, 8, 0))
    assert county.sweep_all().digests == 1
    assert county.sweep_all().digests == 0  # once a day …
    (digest,) = outbox(county, "owner_digest")
    assert digest.recipient == "leader1" and digest.next_attempt_at == shanghai(2026, 12, 4, 8, 0)
    assert [c["case_id"] for c in digest.payload["overdue"]] == [old]
    assert [c["case_id"] for c in digest.payload["due_soon"]] == [soon]
    assert [c["case_id"] for c in digest.payload["backlog"]] == [old]
    restarted = build(county.settings.database_url)  # … also across a restart
    try:
        restarted.clock.set(shanghai(2026, 12, 4, 9, 0))
        assert restarted.sweep_all().digests == 0
    finally:
        restarted.close()
    county.clock.set(shanghai(2026, 12, 5, 8, 0))  # Saturday: none
    assert county.sweep_all().digests == 0
    county.clock.set(shanghai(2026, 12, 7, 8, 5))  # Monday
    assert county.sweep_all().digests == 1
    deliver(county)
    (first, second) = inbox(county, "leader1")
    assert "已超期 1 件" in first.title and "积案 1 件" in first.title
    assert "TIMED-2026-000001" in first.body and "HANDLE-2026-000001" in first.body


def test_the_digest_time_and_windows_are_configurable(database_url):
    system = build(database_url, digest_time="07:30", digest_due_days=3, backlog_days=30)
    people = seed_county(system)
    try:
        case_id = system.engine.start_case("timed", {"days": 10, "jurisdiction": VILLAGE}, people["intake"]).case_id
        set_owner(system, case_id, "leader1")
        system.clock.set(shanghai(2026, 9, 9, 7, 30))  # due 09-11: within 3 days
        assert system.sweep_all().digests == 1
        (digest,) = outbox(system, "owner_digest")
        assert digest.payload["due_soon_count"] == 1 and digest.payload["backlog_count"] == 0
    finally:
        system.close()


def test_a_user_who_left_is_not_reminded(county):
    village_case(county)
    with county.db.write() as s:
        from engine.store import User
        s.execute(User.__table__.update().where(User.username == "vmed1").values(active=False))
    county.clock.set(shanghai(2026, 9, 8, 12, 0))
    county.sweep_all()
    assert outbox(county, "deadline_warning") == []


def test_a_step_whose_deadline_passed_without_interrupting_it_stays_overdue(county):
    case_id = county.engine.start_case("handle", {"days": 10, "jurisdiction": VILLAGE}, county.people["intake"]).case_id
    county.clock.set(shanghai(2026, 9, 14, 9, 0))
    assert county.sweep_all().fired == 1
    view = county.services.cases.get(county.people["auditor"], case_id)
    tasks = {t["name"]: t for t in view["tasks"]}
    assert set(tasks) == {"handle_step", "supervise"}
    assert tasks["handle_step"]["warning_level"] == "overdue"
    assert tasks["handle_step"]["due_at"] == "2026-09-11T23:59:59+08:00"
