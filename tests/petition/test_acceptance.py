"""Registering a petition and deciding on it (登记、受理): accept, transfer, not accept, and what is refused."""
from tests.petition.conftest import end_of, petition


def test_a_petition_registered_at_the_county_bureau_waits_for_its_acceptance_decision_for_15_days(office):
    case = office.register()

    assert case["type"] == "petition" and case["status"] == "open" and case["number"].startswith("XF-2026-")
    assert case["jurisdiction"] == "qh" and case["level"] == "county" and case["owner_leader"] is None
    assert case["flags"] == [] and case["repeat_of"] is None and case["warning_level"] == "normal"
    (task,) = case["tasks"]
    assert task["name"] == "decide_acceptance" and task["role"] == "petition_officer" and task["org_unit"] == "qh"
    assert task["due_at"] == end_of("2026-09-16")  # registered Tue 1 Sep: the 15th day after is a working Wednesday
    assert [(d["kind"], d["due_at"]) for d in case["deadlines"]] == [("decide_acceptance", end_of("2026-09-16"))]
    assert case["data"]["stage"] == "acceptance"
    form = office.get(f"/tasks/{task['id']}").get_json()["form"]
    assert form["properties"]["decision"]["enum"] == ["accept", "transfer", "not_accept", "mediate"]


def test_a_grid_worker_registers_at_the_village_and_the_petitioners_town_office_holds_it(people):
    registered = people["intake"].register(respondent_unit="dz-sq", summary="石桥村占用柳村集体道路")

    case = people["town_officer"].case(registered["id"])
    assert case["jurisdiction"] == "dz" and case["level"] == "town"
    assert [t["name"] for t in people["town_officer"].tasks(case=case["id"])] == ["decide_acceptance"]
    assert people["officer"].tasks(case=case["id"]) == []
    # The grid worker keeps what they registered, masked, with a receipt to hand the petitioner.
    assert registered["number"] == case["number"] and registered["data"]["petitioners"][0]["phone"] == "138****8000"
    assert registered["receipt"]["jurisdiction_name"] == "东镇" and registered["receipt"]["due_at"] == end_of("2026-09-16")
    assert people["intake"].case(case["id"])["number"] == case["number"]


def test_a_petition_against_the_petitioners_own_town_goes_to_the_county_not_to_that_town(people):
    registered = people["intake"].register()  # 王五 of 柳村 complains about 东镇 itself

    case = people["officer"].case(registered["id"])
    assert case["jurisdiction"] == "qh" and case["level"] == "county"
    assert [t["name"] for t in people["officer"].tasks(case=case["id"])] == ["decide_acceptance"]
    assert people["town_officer"].tasks(case=case["id"]) == []
    # 东镇 reads the matter, never who petitioned (Art. 30).
    seen = people["town_officer"].get(f"/cases/{case['id']}")
    assert seen.status_code == 404 or "petitioners" not in seen.get_json()["data"]


def test_a_petition_is_placed_by_the_petitioners_residence_not_by_who_registered_it(people):
    case = people["officer"].register(residence_org="xz-hx", petitioners=[{"name": "孙七", "id_number":
                                                                            "51010719900606789X"}],
                                      respondent_unit="xz-hx", summary="河西村村委会灌溉用水分配不公")
    assert case["jurisdiction"] == "xz" and case["level"] == "town"


def test_a_unit_complained_about_must_be_one_of_the_countys(office):
    refused = office.post("/cases", {"type": "petition", "data": petition(respondent_unit="mars")})
    assert refused.status_code == 400
    assert "respondent_unit" in refused.get_json()["error"]["fields"]
    assert office.get("/petitions").get_json()["items"] == []


def test_an_accepted_petition_goes_to_handling_due_60_days_after_acceptance(office, system):
    case = office.register()
    system.clock.advance(__import__("datetime").timedelta(days=1))  # accepted Wed 2 Sep

    accepted = office.do(case["id"], "decide_acceptance", decision="accept")

    (task,) = accepted["tasks"]
    assert task["name"] == "handle" and task["org_unit"] == "qh"
    assert task["due_at"] == end_of("2026-11-02")  # 2 Sep + 60 = Sun 1 Nov, a rest day: Monday
    assert accepted["data"]["stage"] == "handling" and accepted["owner_leader"] is None
    assert [d["kind"] for d in accepted["deadlines"]] == ["handle"]
    assert "supervise" not in [t["name"] for t in accepted["tasks"]]


def test_a_transferred_petition_moves_to_the_responsible_town_which_handles_it(people):
    office = people["officer"]
    case = office.register(respondent_unit="dz", summary="东镇未按规定公开集体土地补偿款")  # held by the county

    moved = office.do(case["id"], "decide_acceptance", decision="transfer", transfer_to="xz",
                      reason="属西镇职权范围，交办西镇办理")

    assert moved["jurisdiction"] == "xz" and moved["level"] == "town"
    assert office.tasks(case=case["id"]) == []
    town = people["xz_officer"]
    assert town.task(case["id"], "handle")["org_unit"] == "xz"
    (event,) = office.history(case["id"], "transferred")
    assert event["data"] == {"from": "qh", "to": "xz", "reason": "属西镇职权范围，交办西镇办理"}
    assert event["actor"] == "officer1"
    done = town.do(case["id"], "handle", opinion="support", opinion_text="责成柳村公开补偿款明细")
    assert done["data"]["handling_opinion"]["opinion"] == "support"


def test_a_petition_is_never_transferred_to_the_unit_it_complains_about_nor_to_a_unit_without_an_office(office):
    case = office.register(respondent_unit="dz")

    to_respondent = office.try_step(case["id"], "decide_acceptance", decision="transfer", transfer_to="dz",
                                    reason="交办")
    to_village = office.try_step(case["id"], "decide_acceptance", decision="transfer", transfer_to="dz-lc",
                                 reason="交办")
    unknown = office.try_step(case["id"], "decide_acceptance", decision="transfer", transfer_to="nowhere",
                              reason="交办")
    no_unit = office.try_step(case["id"], "decide_acceptance", decision="transfer", reason="交办")

    assert to_respondent.status_code == 400 and "第三十条" in to_respondent.get_json()["error"]["fields"]["transfer_to"]
    assert to_village.status_code == 400 and "信访工作人员" in to_village.get_json()["error"]["fields"]["transfer_to"]
    assert unknown.status_code == 400 and "transfer_to" in unknown.get_json()["error"]["fields"]
    assert no_unit.status_code == 400 and no_unit.get_json()["error"]["fields"] == {"transfer_to": "必填 / required"}
    after = office.case(case["id"])
    assert after["version"] == case["version"] and after["jurisdiction"] == "qh"
    assert [t["name"] for t in after["tasks"]] == ["decide_acceptance"]


def test_a_petition_with_a_legal_channel_is_not_accepted_and_closes_with_the_reason(office):
    case = office.register(summary="要求撤销法院已生效的判决")

    closed = office.do(case["id"], "decide_acceptance", decision="not_accept",
                       reason="属于诉讼程序解决的事项，告知依法申请再审（第三十一条）")

    assert closed["status"] == "closed" and closed["outcome"] == "not_accepted"
    assert closed["tasks"] == [] and closed["deadlines"] == []
    assert closed["data"]["reason"].startswith("属于诉讼程序")
    kinds = [e["kind"] for e in office.events(case["id"])]
    assert kinds[-1] == "case_closed" and office.history(case["id"], "case_closed")[0]["data"] == {
        "outcome": "not_accepted"}


def test_not_accepting_needs_a_reason_and_bad_registrations_are_refused_in_chinese(office):
    case = office.register()
    no_reason = office.try_step(case["id"], "decide_acceptance", decision="not_accept")
    assert no_reason.status_code == 400 and no_reason.get_json()["error"]["fields"] == {"reason": "必填 / required"}

    bad = office.post("/cases", {"type": "petition", "data": {
        "petitioners": [{"name": "王五", "id_number": "110105194912310021", "phone": "12345"}],
        "residence_org": "dz", "channel": "fax", "kind": "complaint_request", "category": "land_forest",
        "summary": "…", "people_count": 1}})
    fields = bad.get_json()["error"]["fields"]
    assert bad.status_code == 400
    assert set(fields) == {"petitioners.0.id_number", "petitioners.0.phone", "channel"}
    assert fields["petitioners.0.id_number"].startswith("身份证号码无效")

    not_a_village = office.post("/cases", {"type": "petition", "data": {
        "petitioners": [{"name": "王五", "id_number": "11010519491231002X"}], "residence_org": "dz",
        "channel": "visit", "kind": "suggestion", "category": "other", "summary": "建议", "people_count": 1}})
    assert not_a_village.status_code == 400 and "residence_org" in not_a_village.get_json()["error"]["fields"]

    six = office.post("/cases", {"type": "petition", "data": {
        "petitioners": [{"name": f"代表{i}", "id_number": "11010519491231002X"} for i in range(6)],
        "residence_org": "dz-lc", "channel": "visit", "kind": "complaint_request", "category": "expropriation",
        "summary": "征地补偿", "people_count": 40}})
    assert six.status_code == 400 and "5" in six.get_json()["error"]["fields"]["petitioners"]
    assert office.petitions() == [case["id"]]  # nothing else was registered


def test_only_the_petition_office_decides_and_messages_come_only_from_the_office(people):
    office, mediator, auditor = people["officer"], people["county_mediator"], people["auditor"]
    case = office.register()
    task = office.task(case["id"], "decide_acceptance")

    assert mediator.complete(task["id"], case["version"], decision="accept").status_code == 403
    assert auditor.post("/cases", {"type": "petition", "data": {}}).status_code == 403
    assert mediator.message(case["id"], "review_request").status_code == 403
    # The engine's own messages cannot be forged through the API.
    assert office.message(case["id"], "owner_assigned", leader="leader_wang").status_code == 403
    assert office.message(case["id"], "mediation_closed", outcome="resolved_village").status_code == 403
    assert office.case(case["id"])["version"] == case["version"]
