"""Handling a petition (办理), its statutory deadlines, supervision when they pass (督办), and the review
windows that follow (复查、复核、终结). Due dates are counted as DOMAIN.md §5 says, on the official 2026
calendar (Mid-Autumn 25–27 Sep, National Day 1–7 Oct, make-up working days Sun 20 Sep and Sat 10 Oct)."""
import pytest

from tests.petition.conftest import end_of


def accepted(office, **overrides) -> dict:
    case = office.register(**overrides)
    return office.do(case["id"], "decide_acceptance", decision="accept")


def test_an_opinion_in_time_and_no_review_request_within_30_days_closes_the_petition_as_resolved(office, clock):
    case = accepted(office)
    clock.to("2026-09-10 15:00")

    handled = office.do(case["id"], "handle", opinion="explain", opinion_text="承包面积核定符合规定，已当面解释")

    assert handled["status"] == "open" and handled["tasks"] == [] and handled["warning_level"] == "normal"
    assert handled["data"]["stage"] == "review_window"
    assert handled["data"]["handling_opinion"] == {"opinion": "explain", "opinion_text": "承包面积核定符合规定，已当面解释",
                                                   "served_at": "2026-09-10T15:00:00+08:00"}
    # 10 Sep + 30 days = Saturday 10 October, a make-up working day: the window ends that day.
    assert [(d["kind"], d["due_at"]) for d in handled["deadlines"]] == [
        ("review_request_window", end_of("2026-10-10"))]

    assert clock.to("2026-10-10 23:00") == 0
    assert office.case(case["id"])["status"] == "open"
    assert clock.to("2026-10-11 08:00") == 1

    closed = office.case(case["id"])
    assert closed["status"] == "closed" and closed["outcome"] == "resolved" and closed["deadlines"] == []
    assert office.history(case["id"], "case_closed")[0]["data"] == {"outcome": "resolved"}
    assert office.message(case["id"], "review_request").status_code == 409  # too late now


def test_a_late_opinion_opens_supervision_and_the_case_stays_red_until_the_opinion_is_given(office, clock, people):
    case = accepted(office)  # accepted Tue 1 Sep: handling due Sat 31 Oct, a rest day, so Monday 2 November
    handle = office.task(case["id"], "handle")
    assert handle["due_at"] == end_of("2026-11-02")

    assert clock.to("2026-11-02 17:00") == 0
    assert office.task(case["id"], "handle")["warning_level"] == "warning"
    assert clock.to("2026-11-03 09:00") == 1

    late = office.case(case["id"])
    assert late["status"] == "open" and late["warning_level"] == "overdue"
    assert {t["name"]: t["warning_level"] for t in late["tasks"]} == {"handle": "overdue", "supervise": "normal"}
    supervise = office.task(case["id"], "supervise")
    assert supervise["title_zh"] == "督办：办理超期" and supervise["org_unit"] == "qh"
    breached = office.history(case["id"], "deadline_breached")
    assert [(e["data"]["kind"], e["actor"]) for e in breached] == [("handle", "system")]
    assert office.petitions(overdue=1) == [case["id"]]
    assert [c["id"] for c in office.get("/cases", overdue=1).get_json()["items"]] == [case["id"]]

    # The handler gives the opinion first, the office then records its supervision: the case keeps the opinion.
    handled = office.do(case["id"], "handle", opinion="support", opinion_text="重新核定承包面积")
    assert handled["warning_level"] == "normal" and [t["name"] for t in handled["tasks"]] == ["supervise"]
    supervised = office.do(case["id"], "supervise", action="listed", notes="挂牌督办，限期报结")
    assert supervised["tasks"] == [] and supervised["warning_level"] == "normal"
    assert supervised["data"]["stage"] == "review_window"
    assert supervised["data"]["handling_opinion"]["opinion"] == "support"
    assert "action" not in supervised["data"]  # supervision is recorded in the history, not the case data
    (done,) = [e for e in office.history(case["id"], "task_completed") if e["data"]["step"] == "supervise"]
    assert done["data"]["data"] == {"action": "listed", "notes": "挂牌督办，限期报结"} and done["actor"] == "officer1"
    assert office.petitions(overdue=1) == []


def test_supervision_of_a_late_town_goes_to_the_county_bureau(people, clock):
    office, town = people["officer"], people["town_officer"]
    case = office.register(respondent_unit="dz-lc")  # 柳村's town office holds it (the petitioner lives there)
    town.do(case["id"], "decide_acceptance", decision="accept")

    clock.to("2026-11-03 09:00")

    assert office.task(case["id"], "supervise")["org_unit"] == "qh"
    assert [t["name"] for t in town.tasks(case=case["id"])] == ["handle"]
    assert town.task(case["id"], "handle")["warning_level"] == "overdue"


def test_handling_is_extended_once_by_up_to_30_days_with_the_heads_approval(office, clock, people):
    case = accepted(office)
    handle = office.task(case["id"], "handle")
    version = office.case(case["id"])["version"]

    def extend(**body):
        return office.post(f"/tasks/{handle['id']}/extend", body)

    no_approval = extend(days=30, reason="涉及多部门，需补充调查")
    too_long = extend(days=31, reason="涉及多部门，需补充调查", approved_by="leader_wang")
    not_a_head = extend(days=30, reason="涉及多部门，需补充调查", approved_by="officer2")
    assert no_approval.status_code == 400 and "approved_by" in no_approval.get_json()["error"]["fields"]
    assert too_long.status_code == 400 and "days" in too_long.get_json()["error"]["fields"]
    assert not_a_head.status_code == 400
    assert office.case(case["id"])["version"] == version

    extended = extend(days=30, reason="涉及多部门，需补充调查", approved_by="leader_wang")
    assert extended.status_code == 200, extended.get_json()
    assert office.task(case["id"], "handle")["due_at"] == end_of("2026-12-02")  # Mon 2 Nov + 30
    (event,) = office.history(case["id"], "deadline_extended")
    assert event["data"]["approved_by"] == "leader_wang" and event["data"]["days"] == 30
    assert event["data"]["to"] == end_of("2026-12-02")
    again = extend(days=5, reason="再延", approved_by="leader_wang")
    assert again.status_code == 409

    assert clock.to("2026-11-03 09:00") == 0
    assert [t["name"] for t in office.case(case["id"])["tasks"]] == ["handle"]
    assert clock.to("2026-12-03 09:00") == 1
    assert "supervise" in [t["name"] for t in office.case(case["id"])["tasks"]]

    decide = office.register()
    task = office.task(decide["id"], "decide_acceptance")
    assert office.post(f"/tasks/{task['id']}/extend", {"days": 5, "reason": "x", "approved_by": "leader_wang"}
                       ).status_code == 400


def test_review_then_re_review_makes_the_matter_final_and_a_new_petition_on_it_is_declined(people, clock):
    office, town = people["officer"], people["town_officer"]
    case = office.register(respondent_unit="dz-lc", category="housing_homestead",
                           summary="宅基地审批被柳村村委会拖延")  # 柳村's town office holds it
    town.do(case["id"], "decide_acceptance", decision="accept")
    clock.to("2026-09-10 10:00")
    town.do(case["id"], "handle", opinion="not_support", opinion_text="不符合宅基地申请条件")

    clock.to("2026-09-20 10:00")  # a Sunday, but a working day: the petitioner asks for review
    asked = office.send(case["id"], "review_request", note="对处理意见不服")
    # Review is decided by the unit above the one that handled it: the county.
    assert asked["jurisdiction"] == "qh" and asked["data"]["stage"] == "review"
    review = office.task(case["id"], "review")
    assert review["org_unit"] == "qh" and review["due_at"] == end_of("2026-10-20")
    moved = office.history(case["id"], "jurisdiction_changed")
    assert [e["data"] for e in moved] == [{"from": "dz", "to": "qh", "reason": "review"}]
    assert town.tasks(case=case["id"]) == []

    clock.to("2026-10-12 10:00")
    reviewed = office.do(case["id"], "review", opinion="not_support", opinion_text="维持原处理意见")
    assert [(d["kind"], d["due_at"]) for d in reviewed["deadlines"]] == [
        ("rereview_request_window", end_of("2026-11-11"))]

    clock.to("2026-10-20 10:00")
    office.send(case["id"], "rereview_request")
    rereview = office.task(case["id"], "rereview")
    assert rereview["due_at"] == end_of("2026-11-19") and rereview["org_unit"] == "qh"  # the county is the top
    clock.to("2026-11-05 10:00")
    final = people["officer2"].do(case["id"], "rereview", opinion="not_support", opinion_text="复核维持，终结")

    assert final["status"] == "closed" and final["outcome"] == "final"
    assert [final["data"][k]["opinion"] for k in ("handling_opinion", "review_opinion", "rereview_opinion")] == [
        "not_support"] * 3

    # 王五 petitions again on the same matter: found, linked, flagged, and it can only be declined (Art. 36).
    again = office.register(respondent_unit="dz-lc", category="housing_homestead", summary="再次反映宅基地审批")
    assert again["flags"] == ["repeat", "final_matter"] and again["repeat_of"] == case["id"]
    assert again["data"]["earlier_petitions"] == [{"case_id": case["id"], "number": case["number"],
                                                   "status": "closed", "outcome": "final", "same_matter": True}]
    refused = town.try_step(again["id"], "decide_acceptance", decision="accept")  # 柳村's town office holds it
    assert refused.status_code == 400 and "第三十六条" in refused.get_json()["error"]["message"]
    assert office.petitions(flag="final_matter") == [again["id"]]
    declined = town.do(again["id"], "decide_acceptance", decision="not_accept",
                         reason="该事项已经复核终结，不再受理（第三十六条）")
    assert declined["outcome"] == "not_accepted"


def test_no_re_review_request_within_30_days_of_the_review_opinion_closes_the_case_as_resolved(office, clock):
    case = accepted(office)
    office.do(case["id"], "handle", opinion="explain", opinion_text="已解释")
    office.send(case["id"], "review_request")
    clock.to("2026-09-15 10:00")
    office.do(case["id"], "review", opinion="support", opinion_text="复查支持")

    assert clock.to("2026-10-15 23:00") == 0
    assert clock.to("2026-10-16 00:30") == 1

    closed = office.case(case["id"])
    assert closed["outcome"] == "resolved" and closed["data"]["review_opinion"]["opinion"] == "support"


def test_late_review_and_re_review_are_supervised_too(office, clock):
    case = accepted(office)
    office.do(case["id"], "handle", opinion="explain", opinion_text="已解释")
    office.send(case["id"], "review_request")  # Tue 1 Sep: review due Thu 1 Oct, National Day, so Thu 8 Oct
    assert office.task(case["id"], "review")["due_at"] == end_of("2026-10-08")

    assert clock.to("2026-10-09 09:00") == 1
    assert office.task(case["id"], "supervise")["title_zh"] == "督办：复查超期"
    office.do(case["id"], "review", opinion="explain", opinion_text="复查维持")
    office.send(case["id"], "rereview_request")
    assert office.task(case["id"], "rereview")["due_at"] == end_of("2026-11-09")  # Sun 8 Nov → Monday

    assert clock.to("2026-11-10 09:00") == 1
    titles = sorted(t["title_zh"] for t in office.case(case["id"])["tasks"] if t["name"] == "supervise")
    assert titles == ["督办：复查超期", "督办：复核超期"]


@pytest.mark.parametrize("registered, due", [
    ("2026-09-16 09:00", "2026-10-08"),  # the 15th day is 1 Oct, National Day: the period ends Thu 8 Oct
    ("2026-09-25 10:00", "2026-10-10"),  # the 15th day is Sat 10 Oct, a make-up working day: no roll
    ("2026-09-10 09:00", "2026-09-28"),  # the 15th day is 25 Sep, Mid-Autumn (25–27): Monday 28 Sep
    ("2026-09-05 09:00", "2026-09-20"),  # the 15th day is Sun 20 Sep, a make-up working day
    ("2026-09-30 16:00", "2026-10-15"),  # the starting day is not counted, holidays inside do not matter
])
def test_the_acceptance_deadline_is_counted_by_the_official_calendar(office, clock, registered, due):
    clock.to(registered)
    case = office.register()
    assert case["tasks"][0]["due_at"] == end_of(due)
    assert case["deadlines"][0]["estimated"] is False


def test_an_acceptance_decision_left_over_national_day_is_supervised_on_the_first_day_after_it(office, clock):
    clock.to("2026-09-16 09:00")
    case = office.register()

    assert clock.to("2026-10-01 10:00") == 0
    assert office.task(case["id"], "decide_acceptance")["warning_level"] == "normal"
    assert clock.to("2026-10-01 12:00") == 0  # two thirds of the period have passed
    assert office.task(case["id"], "decide_acceptance")["warning_level"] == "warning"
    assert clock.to("2026-10-08 23:59") == 0
    assert clock.to("2026-10-09 00:01") == 1

    late = office.case(case["id"])
    assert late["warning_level"] == "overdue"
    assert office.task(case["id"], "supervise")["title_zh"] == "督办：受理超期"
    decided = office.do(case["id"], "decide_acceptance", decision="accept")
    # Handling is counted from the (late) acceptance: 9 Oct + 60 = Tue 8 Dec.
    assert office.task(case["id"], "handle")["due_at"] == end_of("2026-12-08")
    assert {t["name"] for t in decided["tasks"]} == {"handle", "supervise"}
