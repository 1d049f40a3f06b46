"""The per-case subsidy (以案定补, DOMAIN.md §4): who is paid what, and the ledger's life after closing."""
from __future__ import annotations

from datetime import datetime

from engine.calendar import ZONE
from tests.mediation.conftest import BPMN, COMPLETE_FILE, deploy_bundle, settle
from web.cli import main as fengqiao


def amounts(case: dict) -> list[tuple]:
    return [(e["mediator"], e["amount_fen"]) for e in case["subsidy"]]


def test_three_mediators_share_a_difficult_village_case_and_the_first_gets_the_odd_fen(people):
    case = people["intake"].register()
    closed = settle(people, case["id"], difficulty="difficult", mediators=["vmed2", "vmed1", "vmed3"])
    # 80 yuan = 8000 fen over three: 2666 each and 2 fen left, which go to the first named.
    assert amounts(closed) == [("vmed2", 2668), ("vmed1", 2666), ("vmed3", 2666)]
    assert sum(e["amount_fen"] for e in closed["subsidy"]) == 8000
    assert {e["rate_fen"] for e in closed["subsidy"]} == {8000}


def test_a_civil_servant_mediator_gets_a_zero_entry_with_the_reason(people):
    alone = people["intake"].register()
    closed = settle(people, alone["id"], "village_cs", difficulty="major")
    assert amounts(closed) == [("vmed_cs", 0)] and "civil servants" in closed["subsidy"][0]["reason"]

    shared = people["intake"].register()
    closed = settle(people, shared["id"], difficulty="general", mediators=["vmed1", "vmed_cs"])
    assert amounts(closed) == [("vmed1", 2500), ("vmed_cs", 0)]


def test_a_follow_up_that_finds_the_agreement_not_performed_records_zero_with_the_reason(people):
    case = people["intake"].register()
    closed = settle(people, case["id"], difficulty="general", performance="not_performed")
    (entry,) = closed["subsidy"]
    assert (entry["mediator"], entry["amount_fen"], entry["status"]) == ("vmed1", 0, "accrued")
    assert "not performed" in entry["reason"] and "未履行" in entry["reason"]


def test_an_incomplete_case_file_needs_a_reason_and_earns_no_subsidy(people):
    village = people["village"]
    case = people["intake"].register()
    village.do(case["id"], "mediate", result="agreement", agreement_form="written", agreement_text="x",
               difficulty="general")
    village.do(case["id"], "judicial_confirmation", applied=False)
    village.do(case["id"], "followup", performance="performed", satisfaction=5)
    task = village.task(case["id"], "archive")
    version = village.case(case["id"])["version"]
    checklist = {**COMPLETE_FILE, "followup_record": False}

    refused = village.complete(task["id"], version, checklist=checklist)
    assert refused.status_code == 400 and "missing_reason" in refused.get_json()["error"]["fields"]
    assert village.case(case["id"])["version"] == version  # nothing changed

    closed = village.do(case["id"], "archive", checklist=checklist, missing_reason="回访记录遗失")
    assert amounts(closed) == [("vmed1", 0)] and "followup_record" in closed["subsidy"][0]["reason"]


def test_the_agreement_must_name_mediators_of_its_own_level(people):
    case = people["intake"].register()
    task = people["village"].task(case["id"])
    response = people["village"].complete(task["id"], case["version"], result="agreement", agreement_form="oral",
                                          agreement_text="x", difficulty="simple", mediators=["vmed1", "tmed1"])
    assert response.status_code == 400 and "tmed1" in response.get_json()["error"]["fields"]["mediators"]
    assert people["village"].task(case["id"])["id"] == task["id"]


def test_an_entry_is_reviewed_approved_paid_in_the_quarterly_batch_and_reversed_after_a_spot_check(
        people, system, monkeypatch, capsys, database_url):
    town_office, bureau, auditor = people["justice_town"], people["justice_county"], people["auditor"]
    case = people["intake"].register()
    (entry,) = settle(people, case["id"], difficulty="general")["subsidy"]
    assert (entry["amount_fen"], entry["status"], entry["review_unit"], entry["quarter"]) == (5000, "accrued", "dz",
                                                                                             "2026Q3")
    path = f"/subsidies/{entry['id']}"

    assert bureau.post(f"{path}/approve").status_code == 409  # not reviewed yet
    assert people["village"].post(f"{path}/review").status_code == 403  # mediators never act on the ledger
    assert auditor.post(f"{path}/review").status_code == 403
    reviewed = town_office.post(f"{path}/review", {"reason": "卷宗齐全"})
    assert reviewed.status_code == 200 and reviewed.get_json()["status"] == "reviewed"
    assert town_office.post(f"{path}/approve").status_code == 403  # the town office does not approve
    approved = bureau.post(f"{path}/approve")
    assert approved.get_json()["status"] == "approved" and approved.get_json()["status_by"] == "jcounty1"

    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_SIMULATED_CLOCK", "1")
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(BPMN))
    capsys.readouterr()
    # A quarter is paid once it has ended: in September the batch of 2026Q3 is refused and nothing is paid.
    assert fengqiao(["subsidy", "batch", "2026Q3"]) == 1 and "尚未结束" in capsys.readouterr().err
    assert fengqiao(["subsidy", "batch", "2026Q4"]) == 1  # nor one that has not even begun
    assert auditor.get("/subsidies", status="paid").get_json()["items"] == []
    system.clock.set(datetime(2026, 10, 8, 9, 0, tzinfo=ZONE))
    capsys.readouterr()
    assert fengqiao(["subsidy", "batch", "2026Q3"]) == 0
    printed = capsys.readouterr().out
    assert "2026Q3" in printed and "¥50.00" in printed and "vmed1" in printed and case["number"] in printed
    paid = auditor.get("/subsidies", quarter="2026Q3").get_json()["items"]
    assert [(e["id"], e["status"], e["batch"]) for e in paid] == [(entry["id"], "paid", "2026Q3")]
    assert fengqiao(["subsidy", "batch", "2026Q3"]) == 0 and "未作改动" in capsys.readouterr().out

    # A spot check in October finds the file sub-standard: a reversal entry, the original untouched.
    system.clock.set(datetime(2026, 10, 12, 10, 0, tzinfo=ZONE))
    assert bureau.post(f"{path}/reverse", {}).status_code == 400  # a reason is required
    reversed_ = bureau.post(f"{path}/reverse", {"reason": "抽查发现调解笔录系补写"})
    assert reversed_.status_code == 201
    reversal = reversed_.get_json()
    assert (reversal["kind"], reversal["amount_fen"], reversal["reverses"], reversal["status"], reversal["quarter"]) == \
        ("reversal", -5000, entry["id"], "approved", "2026Q4")
    assert bureau.post(f"{path}/reverse", {"reason": "again"}).status_code == 409
    ledger = auditor.case(case["id"])["subsidy"]
    assert [(e["kind"], e["amount_fen"], e["status"]) for e in ledger] == [("subsidy", 5000, "paid"),
                                                                         ("reversal", -5000, "approved")]

    system.clock.set(datetime(2027, 1, 4, 9, 0, tzinfo=ZONE))  # Q4 has ended: its batch settles the reversal
    capsys.readouterr()
    assert fengqiao(["subsidy", "batch", "2026Q4"]) == 0
    assert "-¥50.00" in capsys.readouterr().out
    mine = people["village"].get("/subsidies").get_json()["items"]
    assert [(e["amount_fen"], e["status"], e["batch"]) for e in mine] == [(5000, "paid", "2026Q3"),
                                                                         (-5000, "paid", "2026Q4")]
    events = auditor.events(case["id"])
    history = [e["kind"] for e in events]
    assert history[-5:] == ["subsidy_reviewed", "subsidy_approved", "subsidy_paid", "subsidy_reversed", "subsidy_paid"]
    assert all("early" not in e["data"] for e in events if e["kind"] == "subsidy_paid")
    assert auditor.get("/audit/verify").get_json()["ok"] is True


def test_rejection_needs_a_reason_and_the_ledger_is_read_by_who_may(people):
    case = people["intake"].register()
    (entry,) = settle(people, case["id"], difficulty="simple")["subsidy"]
    office = people["justice_town"]
    assert office.post(f"/subsidies/{entry['id']}/reject", {}).status_code == 400
    rejected = office.post(f"/subsidies/{entry['id']}/reject", {"reason": "调解协议未经双方签字"}).get_json()
    assert (rejected["status"], rejected["status_reason"], rejected["amount_fen"]) == ("rejected", "调解协议未经双方签字",
                                                                                      3000)
    assert office.post(f"/subsidies/{entry['id']}/review").status_code == 409

    assert [e["id"] for e in office.get("/subsidies", status="rejected").get_json()["items"]] == [entry["id"]]
    assert people["town"].get("/subsidies").get_json()["items"] == []  # only their own entries
    assert people["intake"].get("/subsidies").status_code == 403
    assert people["auditor"].get("/subsidies", mediator="vmed1", quarter="2026Q3").get_json()["items"][0]["id"] == \
        entry["id"]
    assert people["auditor"].get("/subsidies", quarter="2026-3").status_code == 400


def test_a_redeployed_rate_table_prices_only_the_cases_closed_after_it(people, system):
    before = people["intake"].register()
    open_across = people["intake"].register()
    first = settle(people, before["id"], difficulty="general")
    assert [(e["amount_fen"], e["rate_version"]) for e in first["subsidy"]] == [(5000, 1)]

    # The county raises the village "general" rate to 60 yuan and deploys the table alone.
    table = (BPMN / "subsidy.dmn").read_text(encoding="utf-8")
    raised = table.replace('<text>5000</text>', '<text>6000</text>', 1)
    assert raised != table
    results = deploy_bundle(system, {"subsidy.dmn": raised.encode()})
    assert [(r.process_key, r.version, r.created, r.kind) for r in results] == [("subsidy", 2, True, "decision")]

    later = settle(people, open_across["id"], difficulty="general")
    assert [(e["amount_fen"], e["rate_version"]) for e in later["subsidy"]] == [(6000, 2)]
    assert [(e["amount_fen"], e["rate_version"]) for e in people["auditor"].case(before["id"])["subsidy"]] == \
        [(5000, 1)]


def test_a_batch_made_early_on_purpose_says_so_in_each_paid_cases_history(people, system, monkeypatch, capsys,
                                                                          database_url):
    case = people["intake"].register()
    (entry,) = settle(people, case["id"], difficulty="general")["subsidy"]
    people["justice_town"].post(f"/subsidies/{entry['id']}/review")
    people["justice_county"].post(f"/subsidies/{entry['id']}/approve")
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_SIMULATED_CLOCK", "1")
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(BPMN))

    assert fengqiao(["subsidy", "batch", "2026Q3", "--early"]) == 0

    (paid,) = people["auditor"].history(case["id"], "subsidy_paid")
    assert paid["data"]["early"] is True and paid["data"]["batch"] == "2026Q3"
