"""Registering a dispute (forms, routing, numbering) and the deployable definition itself."""
from __future__ import annotations

from lxml import etree

from engine.definitions import parse_files
from tests.mediation.conftest import BPMN, bundle_files, dispute
from web.cli import main as fengqiao

NS = {"bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL", "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI"}


def test_cases_are_numbered_per_type_and_year_and_carry_the_optional_people(people):
    first = people["intake"].register(linked_police_officer={"name": "刘警官", "phone": "13700137000",
                                                             "unit": "东镇派出所"},
                                      legal_aid_contact={"name": "陈明白"})
    second = people["intake"].register()
    assert (first["number"], second["number"]) == ("MED-2026-000001", "MED-2026-000002")
    assert first["data"]["linked_police_officer"]["name"] == "刘警官"
    assert first["data"]["legal_aid_contact"] == {"name": "陈明白"}
    triaged = people["intake"].history(first["id"], "triaged")[0]["data"]
    assert triaged["level"] == "village" and triaged["facts"]["villages"] == 1


def test_triage_routes_by_residence_size_amount_and_risk(people):
    auditor = people["auditor"]
    cases = {
        "different towns": dispute(parties=[{"side": "applicant", "name": "甲", "residence_org": "dz-lc"},
                                            {"side": "respondent", "name": "乙", "residence_org": "xz-hx"}]),
        "collective": dispute(parties=[{"side": "applicant", "name": f"村民{i}", "residence_org": "dz-lc"}
                                       for i in range(5)] + [{"side": "respondent", "name": "公司",
                                                              "residence_org": "dz-lc"}]),
        "large amount": dispute(amount_fen=10_000_000),
        "just under": dispute(amount_fen=9_999_999),
    }
    found = {}
    for name, data in cases.items():
        response = people["admin"].post("/cases", {"type": "mediation", "data": data})
        assert response.status_code == 201, response.get_json()
        case = auditor.case(response.get_json()["id"])
        found[name] = (case["level"], case["jurisdiction"])
    assert found == {"different towns": ("county", "qh"), "collective": ("county", "qh"),
                     "large amount": ("town", "dz"), "just under": ("village", "dz-lc")}


def test_a_register_form_with_a_bad_id_number_or_residence_is_refused_naming_the_field(people):
    intake = people["intake"]
    bad_id = dispute()
    bad_id["parties"][0]["id_number"] = "110105194912310021"  # wrong check digit
    response = intake.post("/cases", {"type": "mediation", "data": bad_id})
    assert response.status_code == 400
    fields = response.get_json()["error"]["fields"]
    assert list(fields) == ["parties.0.id_number"] and "身份证" in fields["parties.0.id_number"]

    elsewhere = dispute()
    elsewhere["parties"][1]["residence_org"] = "dz"  # a town, not a village
    response = intake.post("/cases", {"type": "mediation", "data": elsewhere})
    assert response.status_code == 400 and "parties.1.residence_org" in response.get_json()["error"]["fields"]

    no_respondent = dispute(parties=[dispute()["parties"][0], dispute()["parties"][0]])
    response = intake.post("/cases", {"type": "mediation", "data": no_respondent})
    assert response.status_code == 400 and "被申请人" in response.get_json()["error"]["fields"]["parties"]
    assert people["auditor"].get("/cases").get_json()["items"] == []


def test_the_mediate_form_requires_the_agreement_fields_only_for_an_agreement(people):
    village = people["village"]
    case = people["intake"].register()
    task = village.task(case["id"])
    response = village.complete(task["id"], case["version"], result="agreement", agreement_form="written")
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"agreement_text", "difficulty"}
    detail = village.get(f"/tasks/{task['id']}").get_json()
    assert detail["form"]["properties"]["result"]["enum"] == ["agreement", "no_agreement", "refused"]
    assert village.case(case["id"])["version"] == case["version"]


def test_an_auditor_reads_everything_and_changes_nothing(people):
    case = people["intake"].register()
    task = people["village"].task(case["id"])
    auditor = people["auditor"]
    assert auditor.case(case["id"])["id"] == case["id"]
    assert auditor.complete(task["id"], case["version"], result="refused").status_code == 403
    assert auditor.message(case["id"], "withdraw", reason="x").status_code == 403
    assert auditor.post("/cases", {"type": "mediation", "data": dispute()}).status_code == 403


def test_the_definition_validates_with_its_diagram_and_deploys_with_the_command_line(monkeypatch, capsys,
                                                                                      database_url, tmp_path):
    definitions = parse_files(bundle_files())  # XSD (BPMN 2.0 + DI), references, expressions
    assert set(definitions) == {"mediation"} and set(definitions["mediation"].files) == {"mediation.bpmn", "triage.dmn"}

    root = etree.parse(str(BPMN / "mediation.bpmn")).getroot()
    process = root.find("bpmn:process", NS)
    nodes = {el.get("id") for el in process if el.get("id") and etree.QName(el).localname not in
             ("sequenceFlow", "laneSet")}
    flows = {el.get("id") for el in process.iterfind("bpmn:sequenceFlow", NS)}
    shapes = {s.get("bpmnElement") for s in root.iterfind(".//bpmndi:BPMNShape", NS)}
    edges = {e.get("bpmnElement") for e in root.iterfind(".//bpmndi:BPMNEdge", NS)}
    assert nodes <= shapes and flows <= edges
    lanes = {lane.get("name"): {ref.text for ref in lane} for lane in process.iterfind(".//bpmn:lane", NS)}
    assert set(lanes) == {"intake", "mediator", "court_liaison"}
    assert set().union(*lanes.values()) == nodes

    folder = tmp_path / "bpmn"
    folder.mkdir()
    for name, content in bundle_files().items():
        (folder / name).write_bytes(content)
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(folder))
    capsys.readouterr()
    assert fengqiao(["deploy"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [["mediation", "v1", "新版本"], ["subsidy", "v1", "新版本"],
                                                     ["triage", "v1", "新版本"]]
    assert fengqiao(["deploy", str(folder / "subsidy.dmn")]) == 0  # a rate table deploys on its own
    assert capsys.readouterr().out.split()[:3] == ["subsidy", "v1", "未变"]


def test_the_api_documents_the_extension_and_ledger_routes(people):
    document = people["auditor"].get("/openapi.json").get_json()
    for path in ("/tasks/{task_id}/extend", "/subsidies", "/subsidies/{entry_id}/review",
                 "/subsidies/{entry_id}/approve", "/subsidies/{entry_id}/reject", "/subsidies/{entry_id}/reverse"):
        assert path in document["paths"], path
    assert {"Extension", "LedgerAction", "LedgerEntryList"} <= set(document["components"]["schemas"])
