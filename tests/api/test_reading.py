"""What readers get: case lists a page at a time, histories an auditor can check, the county's people."""
from datetime import datetime

from sqlalchemy import update

from engine.audit import event_hash
from engine.store import CaseEvent

GENESIS = "0" * 64


def test_the_case_list_pages_newest_first_until_there_is_no_next(mediator):
    ids = [mediator.register()["id"] for _ in range(5)]

    seen, after, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"after": after} if after else {})
        page = mediator.get("/cases", **params).get_json()
        assert len(page["items"]) <= 2
        seen += [c["id"] for c in page["items"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
        assert isinstance(after, str)

    assert seen == sorted(ids, reverse=True) and pages == 3
    first = mediator.get("/cases").get_json()
    assert [c["id"] for c in first["items"]] == seen and first["next"] is None


def test_the_case_list_filters_by_status_type_and_number(mediator):
    open_case = mediator.register()
    closed_case = mediator.register()
    mediator.message(closed_case["id"], "withdraw", reason="撤回")

    def ids(**params):
        response = mediator.get("/cases", **params)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["items"]]

    assert ids(status="open") == [open_case["id"]]
    assert ids(status="closed") == [closed_case["id"]]
    assert ids(type="timed") == [closed_case["id"], open_case["id"]]
    assert ids(type="mediation") == []
    assert ids(q=open_case["number"]) == [open_case["id"]]
    assert ids(overdue=1) == []
    summary = mediator.get("/cases", status="closed").get_json()["items"][0]
    assert summary["number"] == closed_case["number"] and summary["status"] == "closed"


def test_bad_list_parameters_are_named_in_the_error(mediator):
    for params, field in (({"limit": 0}, "limit"), ({"limit": "ten"}, "limit"), ({"limit": 1000}, "limit"),
                          ({"after": "x"}, "after"), ({"status": "pending"}, "status"), ({"overdue": "maybe"}, "overdue")):
        response = mediator.get("/cases", **params)
        assert response.status_code == 400, params
        assert list(response.get_json()["error"]["fields"]) == [field]
    assert mediator.get("/tasks", case="abc").status_code == 400


def test_a_village_mediator_cannot_see_a_county_case(mediator, people):
    case = mediator.register()
    villager = people["village_mediator"]

    assert villager.get(f"/cases/{case['id']}").status_code == 404
    assert villager.get(f"/cases/{case['id']}/events").status_code == 404
    assert villager.get("/cases").get_json()["items"] == []
    assert villager.message(case["id"], "withdraw", reason="冒名撤回").status_code == 404
    assert mediator.case(case["id"])["status"] == "open"
    missing = mediator.get("/cases/9999")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_a_case_history_is_a_hash_chain_anyone_can_recompute(mediator):
    case = mediator.register()
    (task,) = mediator.tasks(case=case["id"])
    mediator.complete(task["id"], case["version"], answer="已答复")

    events = mediator.events(case["id"])

    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == GENESIS
    for previous, event in zip(events, events[1:]):
        assert event["prev_hash"] == previous["hash"]
    for event in events:
        assert event["hash"] == event_hash(event["prev_hash"], case["id"], event["seq"],
                                           datetime.fromisoformat(event["at"]), event["actor"], event["kind"],
                                           event["data"])
        assert event["at"].endswith("+08:00")


def test_an_auditor_verifies_every_chain_and_finds_the_edited_event(system, mediator, auditor):
    first = mediator.register()
    second = mediator.register()
    mediator.message(second["id"], "withdraw", reason="撤回")

    result = auditor.get("/audit/verify")
    assert result.status_code == 200
    assert result.get_json() == {"ok": True, "cases_checked": 2, "first_break": None}

    with system.db.write() as session:  # someone edits the history behind the engine's back
        session.execute(update(CaseEvent).where(CaseEvent.case_id == second["id"], CaseEvent.seq == 3)
                        .values(data={"name": "withdraw", "data": {"reason": "被篡改"}}))

    broken = auditor.get("/audit/verify").get_json()
    assert broken["ok"] is False
    assert broken["first_break"]["case_id"] == second["id"] and broken["first_break"]["seq"] == 3
    assert "被篡改" in broken["first_break"]["reason"]
    only_first = auditor.get("/audit/verify", case=first["id"]).get_json()
    assert only_first == {"ok": True, "cases_checked": 1, "first_break": None}


def test_only_auditors_and_admins_verify_the_history(mediator):
    response = mediator.get("/audit/verify")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_the_county_and_its_people_are_listed_without_secrets(mediator):
    units = mediator.get("/org-units")
    users = mediator.get("/users")

    assert units.status_code == users.status_code == 200
    assert {"code": "qh-dz", "name": "东镇", "level": "town", "parent": "qh"} in units.get_json()["items"]
    listed = {u["username"]: u for u in users.get_json()["items"]}
    assert listed["med1"]["roles"] == ["mediator"] and listed["med1"]["org_unit"] == "qh"
    text = users.get_data(as_text=True)
    for secret in ("password", "scrypt", "token", "hash"):
        assert secret not in text
