"""Mediation deadlines (DOMAIN.md §5): a level's deadline passing escalates the case, extensions, restarts."""
from __future__ import annotations

from datetime import datetime

from engine.config import Settings
from engine.calendar import ZONE
from workflows import build_system

VILLAGE_DUE = "2026-09-11T23:59:59+08:00"  # registered Tuesday 1 September + 10 days


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(ZONE)


def test_a_village_deadline_passing_escalates_the_case_to_town_on_the_next_sweep(people, system):
    case = people["intake"].register()
    assert case["tasks"][0]["due_at"] == VILLAGE_DUE and case["tasks"][0]["warning_level"] == "normal"

    system.clock.set(at("2026-09-09T09:00:00+08:00"))  # past two thirds of the period
    assert people["village"].task(case["id"])["warning_level"] == "warning"
    system.clock.set(at("2026-09-11T23:59:59+08:00"))
    assert system.sweep() == 0  # the last second of the last day still belongs to the period
    system.clock.set(at("2026-09-12T00:00:05+08:00"))
    assert system.sweep() == 1

    moved = people["auditor"].case(case["id"])
    assert (moved["level"], moved["jurisdiction"]) == ("town", "dz")
    (task,) = moved["tasks"]
    # 15 days from the 12th end on Sunday the 27th, inside the Mid-Autumn holiday: Monday the 28th.
    assert (task["name"], task["org_unit"], task["due_at"]) == ("mediate", "dz", "2026-09-28T23:59:59+08:00")
    assert people["village"].tasks(case=case["id"]) == []
    history = people["auditor"].history(case["id"])
    breached = [e for e in history if e["kind"] == "deadline_breached"]
    assert [(e["data"]["kind"], e["data"]["due_at"][:10]) for e in breached] == [("mediate", "2026-09-11")]
    (escalated,) = [e for e in history if e["kind"] == "escalated"]
    assert (escalated["data"]["from"], escalated["data"]["to"], escalated["data"]["reason"]) == \
        ("village", "town", "deadline")
    assert system.sweep() == 0  # fired once


def test_a_deadline_missed_while_the_service_was_stopped_escalates_once_on_the_first_sweep_after_restart(
        people, system, database_url):
    case = people["intake"].register()
    system.close()  # the service stops on 1 September …

    restarted = build_system(Settings(database_url=database_url, simulated_clock=True, bpmn_dir=system.settings.bpmn_dir))
    restarted.upgrade()
    restarted.clock.set(at("2026-09-14T08:00:00+08:00"))  # … and comes back on Monday the 14th
    try:
        assert restarted.sweep() == 1
        assert restarted.sweep() == 0
    finally:
        restarted.close()
    again = build_system(Settings(database_url=database_url, simulated_clock=True, bpmn_dir=system.settings.bpmn_dir))
    try:
        assert again.sweep() == 0
    finally:
        again.close()

    moved = people["auditor"].case(case["id"])
    assert (moved["level"], moved["jurisdiction"], [t["name"] for t in moved["tasks"]]) == ("town", "dz", ["mediate"])
    # The town's 15 days count from the sweep that escalated it (the 14th): Tuesday 29 September.
    assert moved["tasks"][0]["due_at"] == "2026-09-29T23:59:59+08:00"
    assert len(people["auditor"].history(case["id"], "escalated")) == 1
    assert len(people["auditor"].history(case["id"], "deadline_breached")) == 1


def test_an_extension_with_both_parties_consent_moves_the_levels_deadline_once(people, system):
    village = people["village"]
    case = people["intake"].register()
    task = village.task(case["id"])

    extended = village.post(f"/tasks/{task['id']}/extend", {"days": 15, "reason": "双方同意延期，等待鉴定结果"})

    assert extended.status_code == 200, extended.get_json()
    # 11 September + 15 days is Saturday the 26th, in the Mid-Autumn holiday: Monday the 28th.
    assert extended.get_json()["tasks"][0]["due_at"] == "2026-09-28T23:59:59+08:00"
    assert extended.get_json()["deadlines"][0]["due_at"] == "2026-09-28T23:59:59+08:00"
    (event,) = village.history(case["id"], "deadline_extended")
    assert event["actor"] == "vmed1"
    assert {k: event["data"][k] for k in ("step", "level", "days", "reason", "from", "to", "parties_consent")} == {
        "step": "mediate", "level": "village", "days": 15, "reason": "双方同意延期，等待鉴定结果",
        "from": VILLAGE_DUE, "to": "2026-09-28T23:59:59+08:00", "parties_consent": True}

    twice = village.post(f"/tasks/{task['id']}/extend", {"days": 1, "reason": "再延一天"})
    assert twice.status_code == 409 and "已延期" in twice.get_json()["error"]["message"]

    system.clock.set(at("2026-09-12T09:00:00+08:00"))
    assert system.sweep() == 0 and people["auditor"].case(case["id"])["level"] == "village"
    system.clock.set(at("2026-09-29T00:00:01+08:00"))
    assert system.sweep() == 1
    moved = people["auditor"].case(case["id"])
    assert moved["level"] == "town"
    # The town may extend its own level once too.
    town_task = people["town"].task(case["id"])
    assert people["town"].post(f"/tasks/{town_task['id']}/extend", {"days": 5, "reason": "双方同意"}).status_code == 200


def test_extensions_outside_the_rules_are_refused_and_change_nothing(people):
    village = people["village"]
    case = people["intake"].register()
    task = village.task(case["id"])
    before = village.case(case["id"])

    too_long = village.post(f"/tasks/{task['id']}/extend", {"days": 16, "reason": "太久"})
    no_reason = village.post(f"/tasks/{task['id']}/extend", {"days": 5})
    no_consent = village.post(f"/tasks/{task['id']}/extend", {"days": 5, "reason": "x", "parties_consent": False})
    not_theirs = people["other_village"].post(f"/tasks/{task['id']}/extend", {"days": 5, "reason": "越权"})
    auditor = people["auditor"].post(f"/tasks/{task['id']}/extend", {"days": 5, "reason": "审计"})

    assert too_long.status_code == 400 and "days" in too_long.get_json()["error"]["fields"]
    assert no_reason.status_code == 400 and "reason" in no_reason.get_json()["error"]["fields"]
    assert no_consent.status_code == 400 and "parties_consent" in no_consent.get_json()["error"]["fields"]
    assert not_theirs.status_code == 404  # another village's task: as if it did not exist
    assert auditor.status_code == 403
    assert village.case(case["id"]) == before


def test_the_judicial_confirmation_window_closing_moves_on_to_the_follow_up(people, system):
    village = people["village"]
    case = people["intake"].register()
    agreed = village.do(case["id"], "mediate", result="agreement", agreement_form="oral", agreement_text="当场道歉",
                        difficulty="simple")
    (task,) = agreed["tasks"]
    # 30 days from 1 September end on 1 October, National Day: the window closes on the 8th.
    assert (task["name"], task["due_at"]) == ("judicial_confirmation", "2026-10-08T23:59:59+08:00")

    system.clock.set(at("2026-10-09T09:00:00+08:00"))
    assert system.sweep() == 1

    moved = people["auditor"].case(case["id"])
    assert [t["name"] for t in moved["tasks"]] == ["followup"]
    assert moved["data"]["applied"] is False and moved["data"]["confirmation_window_missed"] is True
    breached = people["auditor"].history(case["id"], "deadline_breached")
    assert [e["data"]["kind"] for e in breached] == ["judicial_confirmation"]


def test_a_late_follow_up_stays_open_and_shows_overdue(people, system):
    village = people["village"]
    case = people["intake"].register()
    village.do(case["id"], "mediate", result="agreement", agreement_form="written", agreement_text="赔偿",
               difficulty="general")
    followup = village.do(case["id"], "judicial_confirmation", applied=False)["tasks"][0]
    assert (followup["name"], followup["due_at"]) == ("followup", "2026-10-08T23:59:59+08:00")

    system.clock.set(at("2026-10-09T09:00:00+08:00"))
    assert system.sweep() == 1  # warning only: the visit is still to be made

    (task,) = people["auditor"].case(case["id"])["tasks"]
    assert (task["name"], task["due_at"], task["warning_level"]) == ("followup", "2026-10-08T23:59:59+08:00",
                                                                     "overdue")
    closed = village.do(case["id"], "followup", performance="performed", satisfaction=4)
    assert [t["name"] for t in closed["tasks"]] == ["archive"]
