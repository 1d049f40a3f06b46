"""A provincial notice adds a step to the petition flow: the written opinion must be served on the
petitioner (送达处理意见) before the review window opens. Petitions already being handled are moved to
the new version and reach the new step when their opinion is given."""
from __future__ import annotations

from pathlib import Path

from tests.conftest import definition_files, deploy_files
from tests.petition.conftest import BPMN

VERSIONS = Path(__file__).resolve().parents[1] / "fixtures" / "versions"


def deploy_serving_step(system) -> int:
    files = definition_files(BPMN)
    files["petition.bpmn"] = (VERSIONS / "petition_serve_opinion.bpmn").read_bytes()
    (result,) = [r for r in deploy_files(system, files) if r.process_key == "petition"]
    return result.version


def test_a_petition_moved_to_a_version_with_a_new_step_after_handle_reaches_that_step(system, people, office, clock):
    case = office.register()
    office.do(case["id"], "decide_acceptance", decision="accept")
    handle = office.task(case["id"], "handle")
    clock.to("2026-09-05 10:00")
    assert deploy_serving_step(system) == 2
    admin = people["admin"]

    diff = admin.get("/definitions/petition/diff", **{"from": 1, "to": 2}).get_json()
    assert [(s["id"], s["name"], s["kind"]) for s in diff["added"]] == [("serve_opinion", "送达处理意见", "UserTask")]
    assert "handle" in {c["id"] for c in diff["changed"] if "flow" in c["changes"]}
    assert diff["cases"][0]["can_move"] is True and {"handle", "handle_late"} <= set(diff["cases"][0]["open_steps"])

    moved = admin.post("/definitions/petition/migrate", {"from": 1, "to": 2}).get_json()
    assert moved["moved"] == 1 and moved["cases"][0]["mapping"]["handle"] == "handle"
    after = office.case(case["id"])
    assert after["definition_version"] == 2
    # The open step is the same task, with its 60-day deadline as it was.
    assert office.task(case["id"], "handle")["id"] == handle["id"]
    assert [(d["kind"], d["due_at"]) for d in after["deadlines"]] == [("handle", "2026-11-02T23:59:59+08:00")]

    handled = office.do(case["id"], "handle", opinion="explain", opinion_text="已当面解释")

    assert [t["name"] for t in handled["tasks"]] == ["serve_opinion"]
    assert handled["data"].get("stage") != "review_window"
    served = office.do(case["id"], "serve_opinion")
    assert served["data"]["stage"] == "review_window" and served["tasks"] == []
    assert [e["data"]["to"] for e in office.history(case["id"], "definition_migrated")] == [2]
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True


def test_a_petition_not_moved_keeps_the_old_flow(system, people, office):
    case = office.register()
    office.do(case["id"], "decide_acceptance", decision="accept")
    deploy_serving_step(system)

    handled = office.do(case["id"], "handle", opinion="explain", opinion_text="已当面解释")

    assert handled["definition_version"] == 1 and handled["data"]["stage"] == "review_window"
