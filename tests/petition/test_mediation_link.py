"""A petition the office decides to mediate (Art. 33) opens a linked mediation case (the bundled
`bpmn/mediation.bpmn`); the petition waits for it and closes, or comes back for a new decision, when
the mediation case closes."""
from tests.petition.conftest import end_of

CHECKLIST = {"registration_form": True, "rights_notice": True, "identity_proof": True,
             "mediation_record": True, "agreement": True, "followup_record": True}


def mediate(office, **petition) -> tuple[dict, dict]:
    """王五 and his neighbour 李四 of 柳村 quarrel over a boundary: the office sends it to mediation."""
    case = office.register(category="neighbour", respondent_unit="dz-lc", summary="与邻居李四宅基地界址争议", **petition)
    decided = office.do(case["id"], "decide_acceptance", decision="mediate", mediation={
        "respondents": [{"name": "李四", "phone": "13900139000", "residence_org": "dz-lc"}],
        "risk_level": "green", "note": "双方均同意调解"})
    (link,) = decided["links"]
    return decided, office.case(link["case_id"])


def test_mediate_opens_a_linked_mediation_case_at_the_village_and_the_petition_waits_for_it(people):
    office, village = people["town_officer"], people["village_mediator"]  # 柳村's town office holds it
    petition, mediation = mediate(office)

    assert petition["status"] == "open" and petition["data"]["stage"] == "mediation"
    assert petition["tasks"] == [] and petition["deadlines"] == []
    assert petition["links"] == [{"kind": "mediation", "direction": "opened", "case_id": mediation["id"],
                                  "number": mediation["number"], "type": "mediation", "status": "open",
                                  "outcome": None}]
    (opened,) = office.history(petition["id"], "mediation_opened")
    assert opened["data"] == {"case_id": mediation["id"], "number": mediation["number"]}

    assert mediation["type"] == "mediation" and mediation["level"] == "village" and mediation["jurisdiction"] == "dz-lc"
    assert mediation["data"]["petition_case_id"] == petition["id"]
    assert mediation["data"]["source"] == "department_assignment" and mediation["data"]["category"] == "neighbour"
    assert [(p["side"], p["name"]) for p in mediation["data"]["parties"]] == [("applicant", "王五"), ("respondent", "李四")]
    assert mediation["links"][0]["direction"] == "opened_by" and mediation["links"][0]["case_id"] == petition["id"]
    assert [t["name"] for t in village.tasks(case=mediation["id"])] == ["mediate"]
    created = office.history(mediation["id"], "case_created")[0]
    assert created["actor"] == "tofficer1" and created["data"]["linked_from"] == {"case_id": petition["id"],
                                                                                  "kind": "mediation"}


def test_an_agreement_in_the_mediation_closes_the_petition_with_the_mediation_outcome(people):
    office, village = people["town_officer"], people["village_mediator"]  # 柳村's town office holds it
    petition, mediation = mediate(office)

    m = mediation["id"]
    village.do(m, "mediate", result="agreement", agreement_form="written", agreement_text="以村里测绘为准重新立界",
               difficulty="general")
    village.do(m, "judicial_confirmation", applied=False)
    village.do(m, "followup", performance="performed", satisfaction=5, notes="已重新立界")
    archived = village.do(m, "archive", checklist=CHECKLIST)
    assert archived["status"] == "closed" and archived["outcome"] == "resolved_village"

    closed = office.case(petition["id"])
    assert closed["status"] == "closed" and closed["outcome"] == "mediation"
    assert closed["data"]["mediation_result"] == {"case_id": m, "number": mediation["number"], "type": "mediation",
                                                  "outcome": "resolved_village"}
    assert closed["links"][0]["status"] == "closed" and closed["links"][0]["outcome"] == "resolved_village"
    (received,) = office.history(petition["id"], "message_received")
    assert received["actor"] == "system" and received["data"]["name"] == "mediation_closed"
    assert office.get("/audit/verify").status_code == 403
    assert people["auditor"].get("/audit/verify").get_json()["ok"] is True


def test_a_refused_mediation_sends_the_petition_back_to_the_office_for_a_new_decision(people, clock):
    office, village = people["town_officer"], people["village_mediator"]  # 柳村's town office holds it
    petition, mediation = mediate(office)
    clock.to("2026-09-08 10:00")

    village.do(mediation["id"], "mediate", result="refused")
    village.do(mediation["id"], "archive", checklist={**CHECKLIST, "agreement": False, "followup_record": False})

    back = office.case(petition["id"])
    assert back["status"] == "open" and back["data"]["stage"] == "acceptance"
    assert back["data"]["mediation_result"]["outcome"] == "refused"
    # A new decision is due 15 days after the mediation came back: 8 Sep + 15 = Wed 23 Sep.
    assert office.task(petition["id"], "decide_acceptance")["due_at"] == end_of("2026-09-23")
    accepted = office.do(petition["id"], "decide_acceptance", decision="accept")
    assert [t["name"] for t in accepted["tasks"]] == ["handle"]


def test_an_invalid_other_party_is_refused_in_the_decisions_terms_and_changes_nothing(people):
    office = people["town_officer"]
    case = office.register(category="neighbour", respondent_unit="dz-lc")

    elsewhere = office.try_step(case["id"], "decide_acceptance", decision="mediate",
                                mediation={"respondents": [{"name": "李四", "residence_org": "qh"}]})

    # The mediation case refuses a party who lives in no village; the officer is told in the decision's terms.
    assert elsewhere.status_code == 400 and list(elsewhere.get_json()["error"]["fields"]) == ["mediation"]
    assert "parties.1.residence_org" in elsewhere.get_json()["error"]["fields"]["mediation"]
    assert office.get("/cases", type="mediation").get_json()["items"] == []
    assert office.case(case["id"])["version"] == case["version"]


def test_deciding_to_mediate_in_the_contracts_shape_makes_the_unit_complained_about_the_other_party(people):
    office = people["town_officer"]
    case = office.register(category="neighbour", respondent_unit="dz-lc", summary="柳村村委会占用承包地修路")

    decided = office.do(case["id"], "decide_acceptance", decision="mediate")  # DOMAIN.md §7: no more is needed

    (link,) = decided["links"]
    mediation = office.case(link["case_id"])
    assert [(p["side"], p["name"], p["residence_org"]) for p in mediation["data"]["parties"]] == [
        ("applicant", "王五", "dz-lc"), ("respondent", "柳村", "dz-lc")]


def test_the_town_complained_about_never_sees_who_petitioned_even_through_the_linked_mediation_case(people):
    office, town_mediator = people["officer"], people["town_mediator"]
    case = office.register(category="land_forest", respondent_unit="dz")  # 王五 complains about 东镇 itself
    decided = office.do(case["id"], "decide_acceptance", decision="mediate",
                        mediation={"respondents": [{"name": "东镇政府", "residence_org": "dz-lc"}]})
    (link,) = decided["links"]
    village = people["village_mediator"]
    village.do(link["case_id"], "mediate", result="no_agreement")  # up to the town: 东镇's own mediators

    mediation = town_mediator.case(link["case_id"])
    assert mediation["level"] == "town" and mediation["jurisdiction"] == "dz"
    assert "parties" not in mediation["data"] and mediation["identity_withheld"] is True
    assert "王五" not in str(mediation) and "11010519491231002X" not in str(mediation)
    assert "王五" not in str(town_mediator.events(link["case_id"]))
    assert town_mediator.get(f"/cases/{link['case_id']}/unmasked").status_code == 403
    assert town_mediator.get("/cases", q="王五").get_json()["items"] == []
    # 东镇's mediator still works the mediation: the matter, not the person.
    assert [t["name"] for t in town_mediator.tasks(case=link["case_id"])] == ["mediate"]
