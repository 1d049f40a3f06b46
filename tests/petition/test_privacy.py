"""Personal data (DOMAIN.md §6) and confidentiality (Petition Work Regulation Art. 30): the unit complained
about sees the matter, not the person; everyone else sees masked ID numbers and phones; a handler may look at
the unmasked values, and each look is in the case's history."""
import json

from tests.petition.conftest import WANG_WU

MATERIALS = [{"title": "承包合同复印件", "description": "王五与村组签订的承包合同"}]


def seen(*payloads) -> str:
    return json.dumps(payloads, ensure_ascii=False)


def test_a_complaint_about_the_town_passes_the_town_by_and_its_people_never_see_the_petitioner(people):
    intake, town, town_mediator = people["intake"], people["town_officer"], people["town_mediator"]
    # A grid worker of 柳村 registers 王五's complaint about 东镇 itself: it goes past 东镇 to the county.
    case_id = intake.register(materials=MATERIALS)["id"]

    for viewer in (town, town_mediator):
        refused = viewer.get(f"/cases/{case_id}")
        assert refused.status_code == 404 and "王五" not in refused.get_data(as_text=True)
        assert viewer.get(f"/cases/{case_id}/unmasked").status_code == 404
        assert viewer.get("/cases", q="王五").get_json()["items"] == []
        assert viewer.get("/cases", q=WANG_WU["phone"]).get_json()["items"] == []
        assert viewer.tasks() == []

    # Nor may it be handed to 东镇 to decide on (Art. 30).
    refused = people["officer"].try_step(case_id, "decide_acceptance", decision="transfer", transfer_to="dz",
                                         reason="交办")
    assert refused.status_code == 400 and "第三十条" in refused.get_json()["error"]["fields"]["transfer_to"]

    county = people["officer"].case(case_id)
    assert county["data"]["petitioners"] == [{"name": "王五", "id_number": "110105********002X",
                                              "phone": "138****8000", "address": "东镇柳村3组"}]
    assert county["data"]["materials"] == MATERIALS


def test_id_numbers_and_phones_are_masked_for_everyone_and_a_handlers_look_is_recorded(people):
    office, auditor, mediator = people["officer"], people["auditor"], people["county_mediator"]
    case = office.register()

    for viewer in (office, auditor, mediator):
        data = viewer.case(case["id"])["data"]
        assert data["petitioners"][0]["id_number"] == "110105********002X"
        assert data["petitioners"][0]["phone"] == "138****8000"
        created = viewer.events(case["id"])[0]["data"]["data"]["petitioners"][0]
        assert created["id_number"] == "110105********002X" and created["phone"] == "138****8000"

    assert auditor.get(f"/cases/{case['id']}/unmasked").status_code == 403
    assert mediator.get(f"/cases/{case['id']}/unmasked").status_code == 403
    assert office.case(case["id"])["version"] == case["version"]

    shown = office.get(f"/cases/{case['id']}/unmasked")

    assert shown.status_code == 200
    full = shown.get_json()
    assert full["data"]["petitioners"][0] == WANG_WU
    assert full["version"] == case["version"] + 1
    (event,) = auditor.history(case["id"], "pii_viewed")
    assert event["actor"] == "officer1" and event["at"] == "2026-09-01T09:00:00+08:00"
    assert event["data"] == {"fields": ["petitioners[0].id_number", "petitioners[0].phone"]}
    assert office.case(case["id"])["data"]["petitioners"][0]["id_number"] == "110105********002X"  # masked again
    # The owner leader is a handler too; the history stays verifiable.
    office.set_owner(case["id"], "leader_li")
    assert people["li"].get(f"/cases/{case['id']}/unmasked").status_code == 200
    assert [e["actor"] for e in office.history(case["id"], "pii_viewed")] == ["officer1", "leader_li"]
    assert auditor.get("/audit/verify", case=case["id"]).get_json()["ok"] is True
