"""零上报 through the application layer: a village without disputes confirms its month in one click, a
village with cases has reported by them, and the town and the county see who is missing and overdue."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.store import AdminEvent, MonthlyZeroReport

from .conftest import local


def test_a_village_without_disputes_confirms_its_month_and_leaves_the_missing_list(county):
    county.at("2026-11-02 10:00")
    before = county.reports.overview(county.actor("town"), month="2026-10", unit="dz")
    assert [r["code"] for r in before["missing"]] == ["dz-lc", "dz-sq"]
    assert before["counts"] == {"cases": 0, "zero": 0, "missing": 2}
    assert before["due_date"] == "2026-11-05" and not before["overdue"] and before["open"]

    done = county.reports.confirm(county.actor("village"), "dz-lc", "2026-10")
    assert done["status"] == "zero" and done["reported_by"] == "vmed1" and not done["late"]

    after = county.status("2026-10", unit="dz", who="town")
    assert after["dz-lc"]["status"] == "zero" and after["dz-lc"]["reported_by"] == "vmed1"
    assert after["dz-lc"]["reported_at"].startswith("2026-11-02T10:00")
    assert after["dz-sq"]["status"] == "missing"
    with county.system.db.read() as s:  # the auditors' record: who confirmed, when, in the admin log
        event = s.scalar(select(AdminEvent).where(AdminEvent.kind == "zero_report_confirmed"))
        row = s.scalar(select(MonthlyZeroReport))
        assert (event.actor, event.subject, event.data) == ("vmed1", "dz-lc", {"month": "2026-10", "unit": "dz-lc"})
        assert row.admin_event_seq == event.seq


def test_a_village_with_a_dispute_has_reported_by_it_and_cannot_report_zero(county):
    county.at("2026-10-12 10:00")
    county.register_dispute("dz-sq")
    county.register_dispute("dz-sq")
    county.at("2026-11-02 10:00")
    rows = county.status("2026-10")
    assert (rows["dz-sq"]["status"], rows["dz-sq"]["cases"]) == ("cases", 2)
    assert rows["dz-lc"]["status"] == rows["xz-hx"]["status"] == "missing"
    with pytest.raises(Conflict, match="登记了 2 件"):
        county.reports.confirm(county.actor("other_village"), "dz-sq", "2026-10")
    assert county.status("2026-09")["dz-sq"]["status"] == "missing"  # a case counts in its own month only


@pytest.mark.parametrize("who, unit, month, error, words", [
    ("other_village", "dz-lc", "2026-10", Forbidden, "只有本村"),  # a mediator of another village
    ("town", "dz-lc", "2026-10", Forbidden, "只有本村"),  # the town's mediator reads, never confirms
    ("justice_town", "dz-lc", "2026-10", Forbidden, "只有本村"),
    ("village", "dz-lc", "2026-12", Conflict, "尚未开始"),  # a future month
    ("village", "dz-lc", "2026-09", Conflict, "已经结束"),  # before the month just ended
    ("village", "dz", "2026-10", InvalidInput, "不是本县的村"),  # a town
    ("village", "nowhere", "2026-10", InvalidInput, "不是本县的村"),
    ("village", "dz-lc", "2026-13", InvalidInput, "YYYY-MM"),
    ("village", "dz-lc", "10/2026", InvalidInput, "YYYY-MM"),
])
def test_a_confirmation_is_refused_with_a_reason_and_changes_nothing(county, who, unit, month, error, words):
    county.at("2026-11-02 10:00")
    with pytest.raises(error, match=words):
        county.reports.confirm(county.actor(who), unit, month)
    with county.system.db.read() as s:
        assert s.scalar(select(MonthlyZeroReport)) is None
        assert s.scalar(select(AdminEvent).where(AdminEvent.kind == "zero_report_confirmed")) is None


def test_a_month_is_confirmed_once(county):
    county.at("2026-11-02 10:00")
    county.reports.confirm(county.actor("village"), "dz-lc", "2026-10")
    with pytest.raises(Conflict, match="已由 vmed1"):
        county.reports.confirm(county.actor("village2"), "dz-lc", "2026-10")
    with county.system.db.read() as s:
        assert len(s.scalars(select(MonthlyZeroReport)).all()) == 1


def test_the_missing_are_overdue_after_the_fifth_and_a_late_confirmation_says_so(county):
    county.at("2026-11-05 23:59")
    view = county.reports.overview(county.actor("county"), month="2026-10")
    assert not view["overdue"] and not any(r["overdue"] for r in view["missing"])
    county.at("2026-11-06 00:00")
    view = county.reports.overview(county.actor("county"), month="2026-10")
    assert view["overdue"] and [r["code"] for r in view["missing"] if r["overdue"]] == ["dz-lc", "dz-sq", "xz-hx"]
    assert county.reports.confirm(county.actor("village"), "dz-lc", "2026-10")["late"]
    rows = county.status("2026-10")
    assert rows["dz-lc"]["status"] == "zero" and rows["dz-lc"]["late"] and not rows["dz-lc"]["overdue"]


def test_a_dispute_registered_after_the_confirmation_voids_it(county):
    county.at("2026-11-20 16:00")
    county.reports.confirm(county.actor("village"), "dz-lc", "2026-11")  # the current month
    county.at("2026-11-25 09:00")
    county.register_dispute("dz-lc")
    row = county.status("2026-11")["dz-lc"]
    assert (row["status"], row["cases"], row["void"], row["reported_by"]) == ("cases", 1, True, "vmed1")


def test_who_reads_which_villages(county):
    county.at("2026-11-02 10:00")
    assert set(county.status("2026-10", unit="dz", who="tleader1")) == {"dz-lc", "dz-sq"}
    assert set(county.status("2026-10", unit="dz-lc", who="village")) == {"dz-lc"}
    assert set(county.status("2026-10", unit="qh", who="auditor")) == {"dz-lc", "dz-sq", "xz-hx"}
    assert set(county.status("2026-10", unit="xz", who="justice_county")) == {"xz-hx"}
    default = county.reports.overview(county.actor("justice_town"))  # the month just ended, the own unit
    assert default["month"] == "2026-10" and default["unit"]["code"] == "dz"
    for who, unit in (("tleader1", "xz"), ("village", "dz"), ("village", "dz-sq"), ("intake", "dz-lc"),
                      ("court", "qh")):
        with pytest.raises(Forbidden):
            county.reports.overview(county.actor(who), month="2026-10", unit=unit)
    with pytest.raises(InvalidInput):
        county.reports.overview(county.actor("county"), month="2026-10", unit="nowhere")


def test_the_village_mediator_is_asked_from_the_first_until_reported(county):
    county.at("2026-10-31 16:00")  # October has not ended; September is still open, and overdue
    assert [(d["month"], d["overdue"]) for d in county.reports.due(county.actor("village"))] == [("2026-09", True)]
    county.at("2026-11-01 08:00")
    (due,) = county.reports.due(county.actor("village"))
    assert (due["unit"], due["month"], due["due_date"], due["overdue"]) == ("dz-lc", "2026-10", "2026-11-05", False)
    assert county.reports.due(county.actor("town")) == [] and county.reports.due(county.actor("intake")) == []
    county.reports.confirm(county.actor("village"), due["unit"], due["month"])
    assert county.reports.due(county.actor("village")) == [] and county.reports.due(county.actor("village2")) == []
    assert county.reports.due(county.actor("other_village"))[0]["unit"] == "dz-sq"
    assert local("2026-11-01 08:00") == county.system.clock.now()
