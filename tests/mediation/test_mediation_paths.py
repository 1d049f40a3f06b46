"""Every path of a dispute through three-level mediation (DOMAIN.md §2), as mediators and auditors see it."""
from __future__ import annotations

import pytest

from tests.mediation.conftest import COMPLETE_FILE, kinds, settle

# DOMAIN.md §4 default table, in fen: level → difficulty → rate; oral agreements pay the simple rate.
RATES = {"village": {"simple": 3000, "general": 5000, "difficult": 8000, "major": 15000},
         "town": {"simple": 5000, "general": 10000, "difficult": 20000, "major": 40000},
         "county": {"simple": 10000, "general": 20000, "difficult": 30000, "major": 50000}}
TWO_VILLAGES = [{"side": "applicant", "name": "王五", "residence_org": "dz-lc"},
                {"side": "respondent", "name": "赵六", "residence_org": "dz-sq"}]
STARTS = {  # how a dispute starts at each level, and who mediates there
    "village": ({}, "dz-lc", "village"),
    "town": ({"parties": TWO_VILLAGES}, "dz", "town"),
    "county": ({"risk_level": "red"}, "qh", "county"),
}


@pytest.mark.parametrize("level", ["village", "town", "county"])
def test_an_agreement_at_each_level_pays_that_levels_rate_for_each_difficulty_and_form(people, level):
    register_data, unit, mediator = STARTS[level]
    combos = [("written", d) for d in ("simple", "general", "difficult", "major")] + [("oral", "major")]
    for form, difficulty in combos:
        registered = people["intake"].register(**register_data)  # intake of 柳村 may not read a town's case
        case = people["auditor"].case(registered["id"])
        assert (case["level"], case["jurisdiction"], case["status"]) == (level, unit, "open")
        (task,) = case["tasks"]
        assert (task["name"], task["level"], task["org_unit"], task["role"]) == ("mediate", level, unit, "mediator")
        closed = settle(people, case["id"], mediator, form=form, difficulty=difficulty)

        assert closed["status"] == "closed" and closed["outcome"] == f"resolved_{level}"
        assert closed["tasks"] == [] and closed["deadlines"] == []
        (entry,) = closed["subsidy"]
        expected = RATES[level]["simple" if form == "oral" else difficulty]
        assert entry["amount_fen"] == expected, (form, difficulty)
        assert (entry["mediator"], entry["level"], entry["status"], entry["kind"], entry["rate_version"]) == \
            (people[mediator].username, level, "accrued", "subsidy", 1)
        history = people["auditor"].history(case["id"])
        assert kinds(history)[:2] == ["case_created", "triaged"] and kinds(history)[-2:] == ["subsidy_recorded",
                                                                                             "case_closed"]
        reached = next(e for e in history if e["kind"] == "agreement_reached")
        assert reached["data"]["mediators"] == [people[mediator].username]
        assert reached["data"]["agreement_form"] == form and reached["data"]["level"] == level


def test_a_village_dispute_that_fails_is_settled_at_town_level_and_pays_the_town_mediator_100_yuan(people, system):
    village, town = people["village"], people["town"]
    case = people["intake"].register()
    system.clock.set(system.clock.now().replace(day=4))  # Friday 4 September: the village tries for three days

    moved = village.do(case["id"], "mediate", result="no_agreement", notes="双方各执一词")

    assert (moved["level"], moved["jurisdiction"], moved["status"]) == ("town", "dz", "open")
    (task,) = moved["tasks"]
    assert (task["name"], task["level"], task["org_unit"]) == ("mediate", "town", "dz")
    # 15 days from entering the town level: Saturday 19 September is a rest day, and Sunday the 20th a
    # make-up working day (调休) of the 2026 schedule, so the period ends then.
    assert task["due_at"] == "2026-09-20T23:59:59+08:00"
    assert village.tasks(case=case["id"]) == [] and [t["id"] for t in town.tasks(case=case["id"])] == [task["id"]]
    (escalated,) = town.history(case["id"], "escalated")
    assert {k: escalated["data"][k] for k in ("from", "to", "reason", "from_unit", "to_unit")} == {
        "from": "village", "to": "town", "reason": "no_agreement", "from_unit": "dz-lc", "to_unit": "dz"}
    assert escalated["actor"] == "system"

    closed = settle(people, case["id"], "town", difficulty="general")
    assert closed["outcome"] == "resolved_town" and closed["level"] == "town"
    assert [(e["mediator"], e["amount_fen"], e["level"]) for e in closed["subsidy"]] == [("tmed1", 10000, "town")]


def test_a_dispute_that_fails_at_all_three_levels_goes_to_court_and_closes_on_the_courts_result(people):
    case = people["intake"].register()
    people["village"].do(case["id"], "mediate", result="no_agreement")
    people["town"].do(case["id"], "mediate", result="no_agreement")
    at_court = people["county"].do(case["id"], "mediate", result="no_agreement")

    assert (at_court["level"], at_court["jurisdiction"]) == ("county", "qh")
    (task,) = at_court["tasks"]
    assert (task["name"], task["role"], task["org_unit"]) == ("refer_to_court", "court_liaison", "qh")
    steps = [(e["data"]["from"], e["data"]["to"], e["data"]["reason"]) for e in
             people["auditor"].history(case["id"], "escalated")]
    assert steps == [("village", "town", "no_agreement"), ("town", "county", "no_agreement"),
                     ("county", "court", "no_agreement")]

    court = people["court"]
    waiting = court.do(case["id"], "refer_to_court", court="清河县人民法院", referral_kind="pre_filing_mediation")
    assert waiting["tasks"] == []
    # Pre-filing mediation takes 30 days (warning only): 1 October is National Day, so the 8th.
    assert [(d["kind"], d["due_at"]) for d in waiting["deadlines"]] == [("court_result", "2026-10-08T23:59:59+08:00")]
    assert people["village"].message(case["id"], "court_result", outcome="mediated", reference="x").status_code == 403

    after = court.send(case["id"], "court_result", outcome="mediated", reference="(2026)清民诉前调123号")
    (archive,) = after["tasks"]
    assert (archive["name"], archive["org_unit"]) == ("archive", "qh")
    closed = people["county"].do(case["id"], "archive", checklist={**COMPLETE_FILE, "agreement": False,
                                                                   "followup_record": False})
    assert closed["status"] == "closed" and closed["outcome"] == "court"
    (entry,) = closed["subsidy"]
    assert entry["amount_fen"] == 0 and entry["mediator"] is None and "court" in entry["reason"]


def test_both_parties_asking_for_court_skip_the_remaining_levels(people):
    case = people["intake"].register()
    moved = people["village"].do(case["id"], "mediate", result="no_agreement", parties_request_court=True)
    assert [t["name"] for t in moved["tasks"]] == ["refer_to_court"] and moved["level"] == "village"
    (escalated,) = people["auditor"].history(case["id"], "escalated")
    assert (escalated["data"]["from"], escalated["data"]["to"]) == ("village", "court")


def test_a_party_refusing_mediation_closes_the_case_as_refused_with_no_subsidy(people):
    case = people["intake"].register()
    archive = people["village"].do(case["id"], "mediate", result="refused", notes="被申请人拒绝调解，已告知诉讼途径")
    assert [t["name"] for t in archive["tasks"]] == ["archive"] and archive["status"] == "open"
    closed = people["village"].do(case["id"], "archive", checklist={**COMPLETE_FILE, "agreement": False,
                                                                    "followup_record": False})
    assert (closed["status"], closed["outcome"], closed["level"]) == ("closed", "refused", "village")
    (entry,) = closed["subsidy"]
    assert entry["amount_fen"] == 0 and "refused" in entry["reason"]


def test_the_applicant_withdraws_during_mediation_and_the_case_closes_as_withdrawn(people):
    case = people["intake"].register()
    withdrawn = people["intake"].send(case["id"], "withdraw", reason="双方已自行和解")
    assert [t["name"] for t in withdrawn["tasks"]] == ["archive"] and withdrawn["deadlines"] == []
    assert people["intake"].message(case["id"], "withdraw", reason="再撤一次").status_code == 409
    closed = people["village"].do(case["id"], "archive", checklist={**COMPLETE_FILE, "mediation_record": False,
                                                                    "agreement": False, "followup_record": False},
                                  missing_reason="未开始调解即撤回，无调解笔录")
    assert closed["outcome"] == "withdrawn"
    assert closed["subsidy"][0]["amount_fen"] == 0 and "withdrawn" in closed["subsidy"][0]["reason"]
    received = people["auditor"].history(case["id"], "message_received")
    assert received[0]["data"] == {"name": "withdraw", "data": {"reason": "双方已自行和解"}}


def test_judicial_confirmation_confirmed_by_the_court_leads_to_the_follow_up(people):
    village, court = people["village"], people["court"]
    case = people["intake"].register()
    village.do(case["id"], "mediate", result="agreement", agreement_form="written", agreement_text="赔偿 2000 元",
               difficulty="difficult")
    waiting = village.do(case["id"], "judicial_confirmation", applied=True, court="清河县人民法院")
    assert waiting["tasks"] == []
    # The court answers within 3 days and decides within 15: 18 days, warning only. The 19th is a
    # Saturday; Sunday the 20th is a make-up working day (调休), so the period ends then.
    assert [(d["kind"], d["due_at"]) for d in waiting["deadlines"]] == [
        ("court_confirmation", "2026-09-20T23:59:59+08:00")]

    confirmed = court.send(case["id"], "court_confirmation", result="confirmed", reference="(2026)清民特1号")
    (followup,) = confirmed["tasks"]
    # Follow-up is due 30 days after the agreement took effect (1 September): 1 October → 8 October.
    assert (followup["name"], followup["due_at"]) == ("followup", "2026-10-08T23:59:59+08:00")
    village.do(case["id"], "followup", performance="partial", satisfaction=3)
    closed = village.do(case["id"], "archive", checklist=COMPLETE_FILE)
    assert closed["outcome"] == "resolved_village" and closed["subsidy"][0]["amount_fen"] == 8000


def test_a_rejected_judicial_confirmation_sends_the_parties_back_to_mediation_at_the_same_level(people, system):
    village, court = people["village"], people["court"]
    case = people["intake"].register()
    village.do(case["id"], "mediate", result="agreement", agreement_form="written", agreement_text="分期付款",
               difficulty="general", mediators=["vmed1", "vmed2"])
    village.do(case["id"], "judicial_confirmation", applied=True)
    system.clock.set(system.clock.now().replace(day=8))

    again = court.send(case["id"], "court_confirmation", result="rejected")
    (task,) = again["tasks"]
    assert (task["name"], task["level"], task["org_unit"], again["level"]) == ("mediate", "village", "dz-lc", "village")
    assert task["due_at"] == "2026-09-18T23:59:59+08:00"  # a fresh 10 days from re-entering the level
    assert again["data"]["mediation_round"] == 2

    # The re-mediation reaches a new agreement by vmed1 alone: the subsidy follows the newest agreement.
    closed = settle(people, case["id"], "village", difficulty="simple")
    assert [(e["mediator"], e["amount_fen"]) for e in closed["subsidy"]] == [("vmed1", 3000)]
    assert len(people["auditor"].history(case["id"], "agreement_reached")) == 2
