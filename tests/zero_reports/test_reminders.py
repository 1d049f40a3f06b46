"""The scheduler's reminders of the zero report, on the simulated clock: the villages still missing from
the 1st of the next month and again on the 5th, their towns from the 6th; each once, however many
sweeps and processes run, and released in working hours like every other reminder."""
from __future__ import annotations

from sqlalchemy import select

from engine.accounts import add_user
from engine.store import OutboxMessage
from usecases import Services

from .conftest import local


def outbox(county, month: str | None = None) -> list[tuple]:
    """The zero report's reminders queued (of one month): kind, recipient, village or town, stage, release."""
    with county.system.db.read() as s:
        rows = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        return [(m.kind, m.recipient, m.payload.get("village") or m.payload.get("town"), m.payload["stage"],
                 m.next_attempt_at) for m in rows
                if m.kind.startswith("zero_report") and (month is None or m.payload["month"] == month)]


def sweep_at(county, text: str) -> int:
    county.at(text)
    return county.system.sweep_all().jobs


VILLAGE_MEDIATORS = {"dz-lc": {"vmed1", "vmed2", "vmed3", "vmed_cs"}, "dz-sq": {"smed1"}, "xz-hx": {"xmed1"}}


def test_missing_villages_are_reminded_on_the_first_and_the_fifth_and_their_towns_after(county):
    sweep_at(county, "2026-10-31 23:59")  # September's reminders; October is not over
    assert outbox(county, "2026-10") == []
    first = sweep_at(county, "2026-11-01 08:00")  # a Sunday: held for Monday's working hours
    sent = outbox(county, "2026-10")
    assert first == len(sent) == 6
    assert {(r, v) for _k, r, v, _s, _at in sent} == {(r, v) for v, rs in VILLAGE_MEDIATORS.items() for r in rs}
    assert {at for *_rest, at in sent} == {local("2026-11-02 08:30")}
    assert {s for _k, _r, _v, s, _at in sent} == {"first"}

    assert sweep_at(county, "2026-11-01 08:01") == 0  # once, across sweeps
    other = Services(county.system).zero_reports  # another process on the same store
    assert other.remind(local("2026-11-01 09:00")) == 0

    county.at("2026-11-03 10:00")
    county.reports.confirm(county.actor("xmed1"), "xz-hx", "2026-10")
    county.register_dispute("dz-sq")  # a November case: October stays missing
    assert sweep_at(county, "2026-11-05 07:00") == 5  # the last day: the villages still missing
    last = [m for m in outbox(county, "2026-10") if m[3] == "last_day"]
    assert {v for _k, _r, v, _s, _at in last} == {"dz-lc", "dz-sq"}
    assert {at for *_rest, at in last} == {local("2026-11-05 08:30")}

    assert sweep_at(county, "2026-11-06 09:00") == 2  # overdue: 东镇's mediator and justice office
    told = [m for m in outbox(county, "2026-10") if m[3] == "overdue"]
    assert {(k, r, t) for k, r, t, _s, _at in told} == {("zero_report_overdue", "tmed1", "dz"),
                                                         ("zero_report_overdue", "jtown1", "dz")}
    with county.system.db.read() as s:
        (message,) = [m for m in s.scalars(select(OutboxMessage).where(OutboxMessage.recipient == "jtown1"))
                      if m.payload["month"] == "2026-10"]
        assert [v["code"] for v in message.payload["missing"]] == ["dz-lc", "dz-sq"]
        assert message.payload["link"].endswith("/reports/zero?month=2026-10&unit=dz")
    assert sweep_at(county, "2026-11-20 10:00") == 0 and len(outbox(county, "2026-10")) == 13


def test_a_village_that_reported_is_not_reminded(county):
    county.at("2026-10-20 10:00")
    county.register_dispute("dz-lc")
    county.at("2026-11-01 08:00")
    county.reports.confirm(county.actor("smed1"), "dz-sq", "2026-10")
    sweep_at(county, "2026-11-02 09:00")
    assert {v for _k, _r, v, _s, _at in outbox(county, "2026-10")} == {"xz-hx"}


def test_the_fifth_in_the_same_holiday_as_the_first_reminds_once(county):
    """October 1–7 is the National Day break: the first and the last day's reminders would both go out
    on the 8th, so the villages are told once; the towns hear on the 8th as well."""
    sweep_at(county, "2026-10-01 10:00")
    sweep_at(county, "2026-10-05 10:00")
    sent = outbox(county)
    assert {s for _k, _r, _v, s, _at in sent} == {"first"} and len(sent) == 6
    assert {at for *_rest, at in sent} == {local("2026-10-08 08:30")}
    sweep_at(county, "2026-10-06 10:00")
    overdue = [m for m in outbox(county, "2026-09") if m[3] == "overdue"]
    assert {r for _k, r, _t, _s, _at in overdue} == {"tmed1", "jtown1", "xjustice1"}
    assert {at for *_rest, at in overdue} == {local("2026-10-08 08:30")}


def test_a_scheduler_that_was_down_until_after_the_fifth_sends_one_reminder_per_village(county):
    sweep_at(county, "2026-11-05 09:00")
    sent = outbox(county)
    assert {s for _k, _r, _v, s, _at in sent} == {"last_day"} and len(sent) == 6


def test_nobody_is_asked_about_a_month_before_their_account_existed(county):
    """The county's accounts were made on 1 September: August's reports are nobody's to chase."""
    sweep_at(county, "2026-09-07 10:00")
    assert outbox(county, "2026-08") == []
    with county.system.db.write() as s:
        add_user(s, "newmed", ["mediator"], "dz-sq", "password1", now=local("2026-10-15 10:00"))
    sweep_at(county, "2026-10-08 10:00")  # September's reminders: the October account is not asked
    assert "newmed" not in {r for _k, r, _v, _s, _at in outbox(county, "2026-09")}
    sweep_at(county, "2026-11-02 10:00")
    assert "newmed" in {r for _k, r, _v, _s, _at in outbox(county, "2026-10")}
