"""A county changes its mediation rules mid-year and moves the disputes already open onto the new version
of the flow, on purpose: the admin compares the versions, tries a dry run, then moves the cases; each
move is one transaction and one `definition_migrated` event in the case's hash chain.

The clock starts on Tuesday 1 September 2026, 09:00 in Shanghai; a village round has 10 days in the
bundled flow (due Friday 11 September, 23:59:59) and 7 days in the county's new one (Tuesday 8 September).
"""
from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from engine.store import Case, CaseEvent, Deadline, HumanTask, LedgerEntry, LedgerEvent
from tests.conftest import START
from tests.kept_due import assert_due_kept
from tests.mediation.conftest import bundle_files, deploy_bundle, kinds, settle

VERSIONS = Path(__file__).resolve().parents[1] / "fixtures" / "versions"


def deploy_variant(system, name: str) -> int:
    files = bundle_files()
    files["mediation.bpmn"] = (VERSIONS / name).read_bytes()
    (result,) = [r for r in deploy_bundle(system, files) if r.process_key == "mediation"]
    assert result.created
    return result.version


def at_day(system, days: float) -> None:
    system.clock.set(START + timedelta(days=days))


def migrate(people, from_version: int, to_version: int, **body) -> dict:
    response = people["admin"].post("/definitions/mediation/migrate", {"from": from_version, "to": to_version, **body})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def store_state(system, case_id: int) -> str:
    """Everything of a case a migration could touch."""
    with system.db.read() as s:
        case = s.execute(select(Case.version, Case.definition_id, Case.state, Case.last_event_hash)
                         .where(Case.id == case_id)).one()
        return json.dumps([list(case), s.scalar(select(func.count()).select_from(CaseEvent)
                                                .where(CaseEvent.case_id == case_id)),
                           s.execute(select(Deadline.id, Deadline.due_at, Deadline.warning_at, Deadline.status,
                                            Deadline.warning_level).where(Deadline.case_id == case_id)
                                     .order_by(Deadline.id)).all(),
                           s.execute(select(HumanTask.id, HumanTask.status, HumanTask.due_at, HumanTask.title)
                                     .where(HumanTask.case_id == case_id).order_by(HumanTask.id)).all()], default=str)


def test_a_village_dispute_moved_to_a_7_day_village_deadline_fires_on_the_sweep_after_day_7_once(system, people):
    case = people["intake"].register()
    assert case["definition_version"] == 1 and case["deadlines"][0]["due_at"] == "2026-09-11T23:59:59+08:00"
    at_day(system, 3)
    assert deploy_variant(system, "mediation_village_7_days.bpmn") == 2

    result = migrate(people, 1, 2)

    assert (result["moved"], result["blocked"], result["dry_run"]) == (1, 0, False)
    (moved,) = result["cases"]
    assert moved["timers"] == [{"step": "mediate_village_late", "kind": "mediate", "from": "2026-09-11T23:59:59+08:00",
                                "to": "2026-09-08T23:59:59+08:00", "overdue": False}]
    after = people["village"].case(case["id"])
    assert after["definition_version"] == 2 and after["level"] == "village"
    # Counted from when the village round opened (1 September), not from the move: 7 days.
    assert [(d["kind"], d["due_at"]) for d in after["deadlines"]] == [("mediate", "2026-09-08T23:59:59+08:00")]
    (task,) = after["tasks"]
    assert task["name"] == "mediate" and task["due_at"] == "2026-09-08T23:59:59+08:00"
    assert assert_due_kept(system) == 1  # the moved case's kept due times moved with its deadline
    (event,) = people["admin"].history(case["id"], "definition_migrated")
    assert event["actor"] == "admin1"
    assert event["data"]["from"] == 1 and event["data"]["to"] == 2 and event["data"]["by"] == "admin1"
    assert event["data"]["mapping"]["mediate_village"] == "mediate_village"
    assert event["data"]["deadlines"] == [{"kind": "mediate", "step": "mediate_village_late",
                                           "from": "2026-09-11T23:59:59+08:00", "to": "2026-09-08T23:59:59+08:00"}]
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True

    at_day(system, 7.5)  # Tuesday 8 September, 21:00: the last day of the shortened round
    assert system.sweep() == 0
    at_day(system, 7.7)  # Wednesday 9 September, 01:48
    assert system.sweep() == 1
    assert system.sweep() == 0
    at_day(system, 12)
    assert system.sweep() == 0

    escalated = people["town"].case(case["id"])
    assert escalated["level"] == "town"
    assert_due_kept(system)  # fired by the sweep, escalated: the town's round keeps them
    assert len(people["admin"].history(case["id"], "deadline_breached")) == 1
    (escalation,) = people["admin"].history(case["id"], "escalated")
    assert escalation["data"]["reason"] == "deadline" and escalation["data"]["to"] == "town"
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True


def test_a_shortened_deadline_already_past_fires_at_the_next_sweep_not_during_the_move(system, people):
    case = people["intake"].register()
    at_day(system, 8)  # Wednesday 9 September: past day 7, before day 10
    deploy_variant(system, "mediation_village_7_days.bpmn")

    (moved,) = migrate(people, 1, 2)["cases"]

    assert moved["status"] == "moved" and moved["timers"][0]["overdue"] is True
    assert "deadline_breached" not in kinds(people["admin"].history(case["id"]))
    assert people["village"].case(case["id"])["level"] == "village"
    assert system.sweep() == 1
    assert system.sweep() == 0
    assert people["town"].case(case["id"])["level"] == "town"
    assert len(people["admin"].history(case["id"], "deadline_breached")) == 1
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True


def test_a_dry_run_says_what_would_happen_and_changes_nothing(system, people):
    case = people["intake"].register()
    at_day(system, 2)
    deploy_variant(system, "mediation_village_7_days.bpmn")
    before = store_state(system, case["id"])

    result = migrate(people, 1, 2, dry_run=True)

    assert result["dry_run"] is True and result["would_move"] == 1 and result["moved"] == 0
    assert result["cases"][0]["timers"][0]["to"] == "2026-09-08T23:59:59+08:00"
    assert store_state(system, case["id"]) == before
    assert people["village"].case(case["id"])["definition_version"] == 1
    # The live workflow kept between commands is still good: the mediator works on as before.
    assert people["village"].do(case["id"], "mediate", result="no_agreement")["level"] == "town"


def test_a_case_whose_open_step_was_removed_is_reported_and_left_as_it_was(system, people):
    village = people["intake"].register()
    town = people["intake"].register(parties=[  # neighbours from two villages of 东镇: triaged to the town
        {"side": "applicant", "name": "张三", "residence_org": "dz-lc"},
        {"side": "respondent", "name": "王二", "residence_org": "dz-sq"}])
    assert people["town"].case(town["id"])["level"] == "town"
    at_day(system, 1)
    deploy_variant(system, "mediation_without_village.bpmn")
    before = store_state(system, village["id"])

    diff = people["admin"].get("/definitions/mediation/diff", **{"from": 1, "to": 2}).get_json()
    assert {s["id"] for s in diff["removed"]} == {"mediate_village", "mediate_village_late",
                                                  "mediate_village_withdrawn"}
    checks = {c["case_id"]: c for c in diff["cases"]}
    assert checks[town["id"]]["can_move"] is True
    assert checks[village["id"]]["can_move"] is False
    assert {b["reason"] for b in checks[village["id"]]["blockers"]} == {"open_step_removed"}

    result = migrate(people, 1, 2)

    outcomes = {c["case_id"]: c for c in result["cases"]}
    assert (result["moved"], result["blocked"]) == (1, 1)
    blocked = outcomes[village["id"]]
    assert blocked["status"] == "blocked"
    assert [b["step"] for b in blocked["blockers"]] == ["mediate_village", "mediate_village_late",
                                                        "mediate_village_withdrawn"]
    assert "新版本中没有本案当前所处的步骤" in blocked["blockers"][0]["message"]
    assert store_state(system, village["id"]) == before
    assert people["village"].case(village["id"])["definition_version"] == 1
    assert people["town"].case(town["id"])["definition_version"] == 2
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True
    # The case left behind works on, on its own version.
    assert people["village"].do(village["id"], "mediate", result="no_agreement")["level"] == "town"


def test_moving_back_is_another_explicit_migration_and_restores_the_ten_days(system, people):
    case = people["intake"].register()
    deploy_variant(system, "mediation_village_7_days.bpmn")
    migrate(people, 1, 2)
    assert people["village"].case(case["id"])["deadlines"][0]["due_at"] == "2026-09-08T23:59:59+08:00"
    assert migrate(people, 2, 1)["moved"] == 1

    back = people["village"].case(case["id"])
    assert back["definition_version"] == 1 and back["deadlines"][0]["due_at"] == "2026-09-11T23:59:59+08:00"
    assert [(e["data"]["from"], e["data"]["to"]) for e in people["admin"].history(case["id"], "definition_migrated")] \
        == [(1, 2), (2, 1)]
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True


def test_an_extension_granted_before_the_move_is_kept_on_the_new_deadline(system, people):
    case = people["intake"].register()
    task = people["village"].task(case["id"], "mediate")
    extended = people["village"].post(f"/tasks/{task['id']}/extend", {
        "days": 5, "reason": "双方同意继续调解", "parties_consent": True,
        "version": people["village"].case(case["id"])["version"]})
    assert extended.status_code == 200, extended.get_json()
    assert people["village"].case(case["id"])["deadlines"][0]["due_at"] == "2026-09-16T23:59:59+08:00"
    assert assert_due_kept(system) == 1  # the extension moved the case's kept due times
    deploy_variant(system, "mediation_village_7_days.bpmn")

    migrate(people, 1, 2)
    assert assert_due_kept(system) == 1

    # 8 September + the same 5 days.
    assert people["village"].case(case["id"])["deadlines"][0]["due_at"] == "2026-09-13T23:59:59+08:00"


def test_a_closed_case_is_never_moved_and_its_subsidy_never_priced_again(system, people):
    case = people["intake"].register()
    settle(people, case["id"])
    with system.db.read() as s:
        ledger = s.execute(select(LedgerEntry.id, LedgerEntry.amount_fen, LedgerEntry.rate_version)).all()
        statuses = s.scalar(select(func.count()).select_from(LedgerEvent))
    assert ledger and ledger[0].amount_fen == 5000
    deploy_variant(system, "mediation_village_7_days.bpmn")
    before = store_state(system, case["id"])

    result = migrate(people, 1, 2, cases=[case["number"]])

    assert result["cases"][0]["status"] == "skipped" and result["cases"][0]["note"] == "closed"
    assert migrate(people, 1, 2)["cases"] == []  # only open cases are moved
    assert store_state(system, case["id"]) == before
    with system.db.read() as s:
        assert s.execute(select(LedgerEntry.id, LedgerEntry.amount_fen, LedgerEntry.rate_version)).all() == ledger
        assert s.scalar(select(func.count()).select_from(LedgerEvent)) == statuses


def test_the_comparison_names_the_changed_timer_and_what_each_open_case_would_do(system, people):
    case = people["intake"].register()
    deploy_variant(system, "mediation_village_7_days.bpmn")

    diff = people["admin"].get("/definitions/mediation/diff", **{"from": 1, "to": 2}).get_json()

    assert diff["added"] == [] and diff["removed"] == []
    (change,) = diff["changed"]
    assert change["id"] == "mediate_village_late" and set(change["changes"]) == {"name", "timer"}
    assert change["before"]["timer"]["expression"] == 'due_in_days(period("mediate_village"))'
    assert change["after"]["timer"]["expression"] == "due_in_days(7)"
    assert (diff["open_cases"], diff["movable"], diff["blocked"]) == (1, 1, 0)
    assert diff["cases"][0]["case_id"] == case["id"] and "mediate_village" in diff["cases"][0]["open_steps"]
    listing = people["admin"].get("/definitions", key="mediation").get_json()["items"]
    assert [(v["version"], v["open_cases"], v["closed_cases"], v["newest"]) for v in listing] == [
        (2, 0, 0, True), (1, 1, 0, False)]
    assert listing[0]["deployed_by"] == "cli" and len(listing[0]["content_hash"]) == 64
    assert people["village"].get("/definitions").status_code == 403


def test_bad_requests_to_move_cases_are_refused_and_change_nothing(system, people):
    case = people["intake"].register()
    deploy_variant(system, "mediation_village_7_days.bpmn")
    before = store_state(system, case["id"])
    admin = people["admin"]
    assert admin.post("/definitions/mediation/migrate", {"from": 1}).status_code == 400
    assert admin.post("/definitions/mediation/migrate", {"from": 1, "to": 9}).status_code == 404
    assert admin.post("/definitions/nothing/migrate", {"from": 1, "to": 2}).status_code == 404
    assert admin.post("/definitions/mediation/migrate", {"from": 1, "to": 2, "cases": [987654]}).status_code == 404
    assert admin.post("/definitions/mediation/migrate", {"from": 1, "to": 2, "cases": "all"}).status_code == 400
    assert people["village"].post("/definitions/mediation/migrate", {"from": 1, "to": 2}).status_code == 403
    assert store_state(system, case["id"]) == before


def test_cases_changed_while_their_batch_is_computed_are_computed_again_or_skipped_untouched(system, people,
                                                                                            monkeypatch):
    from engine import migration

    first, changing, third = (people["intake"].register()["id"] for _ in range(3))
    at_day(system, 3)
    deploy_variant(system, "mediation_village_7_days.bpmn")
    monkeypatch.setattr(migration, "BATCH", 2)  # the first two cases in one write transaction, the third alone
    prepare, seen = migration.CaseMigrations._prepare, []

    def someone_changes_the_case_meanwhile(self, case, *args):
        found = prepare(self, case, *args)
        seen.append(case["id"])
        if case["id"] == changing or (case["id"] == first and seen.count(first) == 1):
            with system.db.write() as s:  # a command of a user, between the batch's read and its write
                s.execute(Case.__table__.update().where(Case.id == case["id"]).values(version=Case.version + 1))
        return found

    monkeypatch.setattr(migration.CaseMigrations, "_prepare", someone_changes_the_case_meanwhile)

    result = migrate(people, 1, 2)

    assert [(c["case_id"], c["status"]) for c in result["cases"]] == [(first, "moved"), (changing, "skipped"),
                                                                       (third, "moved")]
    assert result["cases"][1]["note"].startswith("conflict")
    assert seen == [first, changing, first, changing, third]  # computed again once, then given up
    for case_id in (first, third):
        after = people["village"].case(case_id)
        assert after["definition_version"] == 2
        assert [d["due_at"] for d in after["deadlines"]] == ["2026-09-08T23:59:59+08:00"]
        assert len(people["admin"].history(case_id, "definition_migrated")) == 1
    untouched = people["village"].case(changing)
    assert untouched["definition_version"] == 1
    assert [d["due_at"] for d in untouched["deadlines"]] == ["2026-09-11T23:59:59+08:00"]
    assert untouched["tasks"][0]["due_at"] == "2026-09-11T23:59:59+08:00"
    assert people["admin"].history(changing, "definition_migrated") == []
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True
    # The moved cases work on from the new version; the skipped one from the old.
    assert people["village"].do(first, "mediate", result="no_agreement")["level"] == "town"
    assert people["village"].do(changing, "mediate", result="no_agreement")["level"] == "town"
