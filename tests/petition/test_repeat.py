"""Repeat petitions (重复信访): earlier petitions of the same person are found by ID number and linked; the
same matter (same category and unit complained about, or linked by the officer) makes it a repeat."""
from tests.petition.conftest import SUN_QI, WANG_WU, ZHAO_LIU


def test_a_second_petition_of_the_same_person_on_the_same_matter_is_linked_and_marked_repeat(people):
    office = people["officer"]
    first = office.register()
    other_matter = office.register(category="environment", summary="养殖场污水直排")

    second = office.register(summary="再次反映承包面积问题", channel="letter")

    assert second["flags"] == ["repeat"] and second["repeat_of"] == first["id"]
    assert second["data"]["earlier_petitions"] == [
        {"case_id": first["id"], "number": first["number"], "status": "open", "outcome": None, "same_matter": True},
        {"case_id": other_matter["id"], "number": other_matter["number"], "status": "open", "outcome": None,
         "same_matter": False}]
    assert other_matter["flags"] == [] and other_matter["repeat_of"] is None
    assert other_matter["data"]["earlier_petitions"][0]["same_matter"] is False
    (linked,) = office.history(second["id"], "earlier_petitions_linked")
    assert linked["actor"] == "system" and linked["data"]["repeat_of"] == first["id"]

    # A repeat petition needs an owner leader: accepting it opens assign_leader.
    decided = office.do(second["id"], "decide_acceptance", decision="accept")
    assert [t["name"] for t in decided["tasks"]] == ["assign_leader"]
    owned = office.do(second["id"], "assign_leader", leader="leader_zhao")
    assert owned["owner_leader"] == "leader_zhao"
    assert office.petitions(flag="repeat") == [second["id"]]


def test_a_joint_petition_is_a_repeat_when_any_of_its_petitioners_petitioned_on_the_matter_before(office):
    first = office.register(petitioners=[dict(ZHAO_LIU)], residence_org="dz-sq")
    joint = office.register(petitioners=[dict(SUN_QI), dict(ZHAO_LIU)], residence_org="dz-sq", people_count=2)
    assert joint["flags"] == ["repeat"] and joint["repeat_of"] == first["id"]

    # The same ID number written with a lowercase check letter is the same person.
    wang = office.register()
    lower = office.register(petitioners=[dict(WANG_WU, id_number=WANG_WU["id_number"].lower())])
    assert lower["flags"] == ["repeat"] and lower["repeat_of"] == wang["id"]


def test_the_officer_links_a_petition_to_an_earlier_one_on_the_same_matter(people):
    office = people["officer"]
    neighbour = office.register()  # 王五 about 东镇's land decision
    # 周八, his neighbour, writes about the same decision: a different person, so nothing is found ...
    letter = office.register(petitioners=[{"name": "周八", "id_number": "440306197011119874"}], channel="letter",
                             summary="同一承包调整决定损害本组利益")
    assert letter["flags"] == [] and letter["data"]["earlier_petitions"] == []

    later = office.register(petitioners=[dict(SUN_QI)], residence_org="xz-hx", category="other", summary="其他")
    wrong = office.try_step(letter["id"], "decide_acceptance", decision="accept", repeat_of=later["id"])
    missing = office.try_step(letter["id"], "decide_acceptance", decision="accept", repeat_of=999)
    assert wrong.status_code == 400 and "repeat_of" in wrong.get_json()["error"]["fields"]
    assert missing.status_code == 400

    # ... so the officer links it by hand when deciding.
    decided = office.do(letter["id"], "decide_acceptance", decision="accept", repeat_of=neighbour["id"])

    assert decided["flags"] == ["repeat"] and decided["repeat_of"] == neighbour["id"]
    assert [t["name"] for t in decided["tasks"]] == ["assign_leader"]
    (event,) = office.history(letter["id"], "repeat_linked")
    assert event["actor"] == "officer1" and event["data"]["repeat_of"] == neighbour["id"]
    assert event["data"]["number"] == neighbour["number"]


def test_group_and_repeat_filters_list_exactly_the_flagged_petitions(office):
    plain = office.register(petitioners=[dict(WANG_WU)], category="contract", summary="合同纠纷")
    group = office.register(petitioners=[dict(ZHAO_LIU)], residence_org="dz-sq", people_count=5,
                            category="expropriation", summary="征地补偿")
    small = office.register(petitioners=[dict(SUN_QI)], residence_org="xz-hx", people_count=4,
                            category="expropriation", summary="征地补偿", respondent_unit="xz")
    repeat = office.register(petitioners=[dict(WANG_WU)], category="contract", summary="合同纠纷再访")

    assert office.petitions(flag="group") == [group["id"]]
    assert office.petitions(flag="repeat") == [repeat["id"]]
    assert office.petitions(flag="final_matter") == []
    assert office.petitions() == [repeat["id"], small["id"], group["id"], plain["id"]]
    assert [c["flags"] for c in office.get("/petitions").get_json()["items"]] == [["repeat"], [], ["group"], []]
