"""Who may do what to a petition, as people probing the system found it (the application layer's
authorization table): an owner's report is theirs alone, petition-office powers stay on petitions."""
from tests.mediation.conftest import dispute
from tests.petition.test_ownership import group_petition


def owned_by_wang(people) -> dict:
    office = people["officer"]
    case = group_petition(office)
    office.do(case["id"], "decide_acceptance", decision="accept")
    return office.do(case["id"], "assign_leader", leader="leader_wang")


def test_another_leader_can_neither_take_nor_claim_nor_file_the_owners_progress_report(people):
    wang, li = people["wang"], people["li"]
    case = owned_by_wang(people)
    report = wang.task(case["id"], "progress_report")

    assert li.post(f"/tasks/{report['id']}/assign", {"user": "leader_li"}).status_code == 403
    assert li.post(f"/tasks/{report['id']}/claim").status_code == 403
    assert li.complete(report["id"], case["version"], notes="越权").status_code == 403
    # The owner may not drop it either: it is theirs for as long as they own the case.
    assert wang.post(f"/tasks/{report['id']}/unclaim").status_code == 403
    assert wang.task(case["id"], "progress_report")["assignee"] == "leader_wang"
    assert people["officer"].case(case["id"])["version"] == case["version"]  # nothing of it changed anything


def test_a_leader_who_does_not_own_a_case_is_no_handler_of_it_and_never_sees_its_petitioners_unmasked(people):
    wang, li = people["wang"], people["li"]
    case = owned_by_wang(people)

    assert li.get(f"/cases/{case['id']}/unmasked").status_code == 403
    shown = wang.get(f"/cases/{case['id']}/unmasked")
    assert shown.status_code == 200 and shown.get_json()["data"]["petitioners"][0]["id_number"] == "320582198001011231"
    assert [e["actor"] for e in people["officer"].history(case["id"], "pii_viewed")] == ["leader_wang"]


def test_the_petition_office_cannot_give_a_mediation_case_an_owner_or_mark_it_backlog(people, system):
    office = people["officer"]
    mediation = office.post("/cases", {"type": "mediation", "data": dispute()}).get_json()
    before = office.case(mediation["id"])

    owner = office.set_owner(mediation["id"], "leader_wang")
    backlog = office.post(f"/cases/{mediation['id']}/backlog", {"reason": "积案", "leader": "leader_wang"})

    assert owner.status_code == 409 and "包案领导" in owner.get_json()["error"]["message"]
    assert backlog.status_code == 409
    after = office.case(mediation["id"])
    assert after["version"] == before["version"] and after["owner_leader"] is None and "backlog" not in after["flags"]
    assert people["wang"].get(f"/cases/{mediation['id']}/unmasked").status_code in (403, 404)
