"""Leader ownership (领导包案, Art. 18): who owns which petition, since when, their progress reports every
15 days, backlog (积案), and the petition office's morning board of counts per owner leader."""
from engine.calendar import ZONE

from tests.petition.conftest import SUN_QI, ZHAO_LIU, at, end_of


def group_petition(office) -> dict:
    """Eight villagers of 石桥村 about land compensation: a group petition (five or more people)."""
    return office.register(petitioners=[dict(ZHAO_LIU), dict(SUN_QI)], residence_org="dz-sq", people_count=8,
                           category="expropriation", summary="征地补偿款未足额发放")


def test_a_group_petition_gets_an_owner_leader_whose_progress_reports_fall_due_every_15_days(people, clock):
    office, wang, li = people["officer"], people["wang"], people["li"]
    case = group_petition(office)
    assert case["flags"] == ["group"]

    decided = office.do(case["id"], "decide_acceptance", decision="accept")
    assert [t["name"] for t in decided["tasks"]] == ["assign_leader"]
    assert decided["data"]["stage"] == "leader_assignment"
    nobody = office.try_step(case["id"], "assign_leader", leader="officer2")
    assert nobody.status_code == 400 and "leader" in nobody.get_json()["error"]["fields"]

    owned = office.do(case["id"], "assign_leader", leader="leader_wang")

    assert owned["owner_leader"] == "leader_wang" and owned["owner_since"] == "2026-09-01T09:00:00+08:00"
    assert {t["name"]: (t["assignee"], t["due_at"]) for t in owned["tasks"]} == {
        "handle": (None, end_of("2026-11-02")),             # handling counted from the acceptance
        "progress_report": ("leader_wang", end_of("2026-09-16"))}
    (event,) = office.history(case["id"], "owner_changed")
    assert event["actor"] == "officer1" and event["at"] == "2026-09-01T09:00:00+08:00"
    assert event["data"] == {"from": None, "to": "leader_wang", "reason": None, "via": "assign_leader"}
    report = wang.task(case["id"], "progress_report")
    assert report["title"] == "报告化解进展 / Report progress" and report["role"] == "leader"
    assert li.tasks() == [] and office.tasks(case=case["id"])[0]["name"] == "handle"
    assert li.complete(report["id"], owned["version"], notes="越权").status_code == 403
    assert [c["id"] for c in wang.get("/cases", owner="leader_wang").get_json()["items"]] == [case["id"]]

    # The first report in time; the next period ends 30 days after the assignment: 1 Oct, National Day → 8 Oct.
    clock.to("2026-09-14 16:00")
    wang.do(case["id"], "progress_report", notes="已召集镇村干部核对补偿名册")
    assert wang.task(case["id"], "progress_report")["due_at"] == end_of("2026-10-08")

    # The second report is late: the petition office is told to supervise, and the report shows red.
    assert clock.to("2026-10-08 22:00") == 0
    assert clock.to("2026-10-09 09:00") == 1
    assert wang.task(case["id"], "progress_report")["warning_level"] == "overdue"
    supervise = office.task(case["id"], "supervise")
    assert supervise["title_zh"] == "督办：进展报告超期" and supervise["org_unit"] == "qh"
    assert [e["data"]["kind"] for e in office.history(case["id"], "deadline_breached")] == ["progress_report"]
    clock.to("2026-10-09 10:00")
    wang.do(case["id"], "progress_report", notes="补偿款差额已核实，正在报批")
    assert wang.task(case["id"], "progress_report")["due_at"] == end_of("2026-10-16")  # 45 days after assignment

    # The office hands the case to another leader: the cycle starts again from the change.
    clock.to("2026-10-12 10:00")
    changed = office.set_owner(case["id"], "leader_li", reason="分工调整")
    assert changed.status_code == 200, changed.get_json()
    changed = changed.get_json()
    assert changed["owner_leader"] == "leader_li" and changed["owner_since"] == "2026-10-12T10:00:00+08:00"
    assert wang.tasks() == []
    assert li.task(case["id"], "progress_report")["due_at"] == end_of("2026-10-27")
    changes = office.history(case["id"], "owner_changed")
    assert [(e["actor"], *(e["data"][k] for k in ("from", "to", "reason", "via"))) for e in changes] == [
        ("officer1", None, "leader_wang", None, "assign_leader"),
        ("officer1", "leader_wang", "leader_li", "分工调整", "owner")]
    reports = [(e["actor"], e["at"], e["data"]["data"]["notes"]) for e in office.history(case["id"], "task_completed")
               if e["data"]["step"] == "progress_report"]
    assert reports == [("leader_wang", "2026-09-14T16:00:00+08:00", "已召集镇村干部核对补偿名册"),
                       ("leader_wang", "2026-10-09T10:00:00+08:00", "补偿款差额已核实，正在报批")]
    assert li.case(case["id"])["owner_leader"] == "leader_li"  # an owner reads the case they own
    assert wang.case(case["id"])["id"] == case["id"]          # and whoever worked on it still does

    # Closing the case ends the reporting.
    office.do(case["id"], "handle", opinion="support", opinion_text="补足差额")
    assert {t["name"] for t in office.case(case["id"])["tasks"]} == {"progress_report", "supervise"}
    clock.to("2026-11-13 09:00")  # 30 days after the opinion: no review request
    closed = office.case(case["id"])
    assert closed["status"] == "closed" and closed["outcome"] == "resolved" and closed["tasks"] == []
    assert li.tasks() == []


def test_only_the_petition_office_assigns_owners_and_only_to_leaders(people):
    office, li, mediator = people["officer"], people["li"], people["county_mediator"]
    case = office.register()

    assert li.set_owner(case["id"], "leader_li").status_code == 403
    assert mediator.set_owner(case["id"], "leader_li").status_code == 403
    not_a_leader = office.set_owner(case["id"], "officer2")
    assert not_a_leader.status_code == 400 and "leader" in not_a_leader.get_json()["error"]["fields"]
    assert office.set_owner(case["id"], "ghost").status_code == 400
    assert office.post(f"/cases/{case['id']}/owner", {}).status_code == 400
    assert office.case(case["id"])["version"] == case["version"]

    # An ordinary petition may get an owner at any time, here before it is even decided.
    owned = office.set_owner(case["id"], "leader_li").get_json()
    assert owned["owner_leader"] == "leader_li"
    assert li.task(case["id"], "progress_report")["due_at"] == end_of("2026-09-16")
    same = office.set_owner(case["id"], "leader_li").get_json()
    assert same["version"] == owned["version"]  # nothing changed, nothing recorded
    closed = office.do(case["id"], "decide_acceptance", decision="not_accept", reason="已过诉讼时效，告知诉讼途径")
    assert closed["status"] == "closed"
    assert office.set_owner(case["id"], "leader_wang").status_code == 409


def test_progress_reports_keep_their_15_day_rhythm_for_years(people, clock, system):
    """Two and a half years of reports (60 periods) on one case: the loop never stalls."""
    office, zhao = people["officer"], people["zhao"]
    case = office.register()
    office.do(case["id"], "decide_acceptance", decision="accept")
    office.set_owner(case["id"], "leader_zhao")
    assigned = at("2026-09-01 09:00")
    for period in range(1, 61):
        expected = system.calendar.due_after(assigned, 15 * period).at.astimezone(ZONE).isoformat()
        task = zhao.task(case["id"], "progress_report")
        assert task["due_at"] == expected, period
        clock.to(task["due_at"][:10] + " 10:00")
        zhao.do(case["id"], "progress_report", notes=f"第{period}期进展")
    reports = [e for e in office.history(case["id"], "task_completed") if e["data"]["step"] == "progress_report"]
    assert len(reports) == 60
    assert office.history(case["id"], "deadline_breached")[0]["data"]["kind"] == "handle"
    done = office.do(case["id"], "handle", opinion="explain", opinion_text="已答复")
    assert done["data"]["stage"] == "review_window"


def test_backlog_is_a_petition_open_more_than_90_days_or_one_the_office_marks(people, clock):
    office = people["officer"]
    old = office.register()
    clock.to("2026-11-30 09:00")
    assert office.case(old["id"])["flags"] == []  # exactly 90 days: not longer than 90 yet
    clock.to("2026-11-30 09:01")
    assert office.case(old["id"])["flags"] == ["backlog"]

    young = office.register(category="labour", summary="拖欠工资")
    no_owner = office.post(f"/cases/{young['id']}/backlog", {"reason": "多次重复来访"})
    assert no_owner.status_code == 400 and no_owner.get_json()["error"]["fields"] == {"leader": "必填 / required"}
    assert office.post(f"/cases/{young['id']}/backlog", {"leader": "leader_li"}).status_code == 400
    marked = office.post(f"/cases/{young['id']}/backlog", {"reason": "多次重复来访", "leader": "leader_li"})
    assert marked.status_code == 200, marked.get_json()
    assert marked.get_json()["flags"] == ["backlog"] and marked.get_json()["owner_leader"] == "leader_li"
    (event,) = office.history(young["id"], "backlog_marked")
    assert event["data"] == {"reason": "多次重复来访"} and event["actor"] == "officer1"
    assert office.petitions(flag="backlog") == [young["id"], old["id"]]
    assert people["li"].post(f"/cases/{young['id']}/backlog", {"reason": "x"}).status_code == 403


def test_the_office_board_counts_each_leaders_open_due_overdue_and_backlog_petitions(people, clock):
    office = people["officer"]

    def registered(when, owner=None, decide=None, **data):
        clock.to(when)
        case = office.register(**data)
        if owner:
            assert office.set_owner(case["id"], owner).status_code == 200
        if decide:
            office.do(case["id"], "decide_acceptance", **decide)
        return case["id"]

    a = registered("2026-09-01 09:00", "leader_wang", {"decision": "accept"})  # handling due 2 Nov
    clock.to("2026-11-01 09:00")
    g = office.register(category="labour", summary="拖欠工资")["id"]
    office.post(f"/cases/{g}/backlog", {"reason": "多次越级上访", "leader": "leader_zhao"})
    b = registered("2026-11-20 09:00", "leader_wang", {"decision": "accept"}, category="contract")  # report due 7 Dec
    f = registered("2026-11-20 09:30", category="traffic")   # undecided, decision due Sat 5 Dec → Mon 7 Dec
    e = registered("2026-11-25 09:00", category="consumer")  # undecided, decision due 10 Dec
    c = registered("2026-11-30 09:00", "leader_li", category="medical")  # decision and report due 15 Dec
    d = registered("2026-11-30 09:10", "leader_li", {"decision": "not_accept", "reason": "属仲裁事项"},
                   category="labour")
    clock.to("2026-12-01 09:00")

    assert office.board() == {
        "leader_wang": {"open": 2, "due_within_7_days": 1, "overdue": 1, "backlog": 1},   # a (old, late), b
        "leader_li": {"open": 1, "due_within_7_days": 0, "overdue": 0, "backlog": 0},     # c (d is closed)
        "leader_zhao": {"open": 1, "due_within_7_days": 0, "overdue": 1, "backlog": 1},   # g, marked
        None: {"open": 2, "due_within_7_days": 1, "overdue": 0, "backlog": 0},            # e, f
    }
    assert office.petitions(owner="leader_wang") == [b, a]
    assert office.petitions(owner="leader_li", status="open") == [c]
    assert office.petitions(owner="leader_li", status="closed") == [d]
    assert office.petitions(overdue=1) == [g, a]
    assert office.petitions(due_within=7) == [f, b]
    assert office.petitions(flag="backlog") == [g, a]
    # A town's petition office counts only what it may read: none of these county cases.
    assert all(row == {"open": 0, "due_within_7_days": 0, "overdue": 0, "backlog": 0}
               for row in people["town_officer"].board().values())
    assert office.get("/petitions", flag="vip").status_code == 400

    # The next morning b's report is one day nearer; when b's leader reports, b drops out of "due".
    people["wang"].do(b, "progress_report", notes="已约谈双方")
    assert office.board()["leader_wang"] == {"open": 2, "due_within_7_days": 0, "overdue": 1, "backlog": 1}


def test_the_owner_is_reminded_of_a_report_coming_due_and_the_office_is_told_when_it_is_late(people, clock, system):
    from notifications.dispatcher import OutboxDispatcher

    office, wang = people["officer"], people["wang"]
    case = office.register()
    office.set_owner(case["id"], "leader_wang")  # the first report is due Wed 16 September

    def inbox(person) -> list[tuple[str, int]]:
        OutboxDispatcher.for_system(system).dispatch()
        response = person.get("/inbox")
        assert response.status_code == 200, response.get_json()
        return [(item["kind"], item["case_id"]) for item in response.get_json()["items"]]

    assert inbox(wang) == []
    clock.to("2026-09-14 10:00")  # two thirds of the period have passed
    got = inbox(wang)
    assert ("deadline_warning", case["id"]) in got  # and the morning digest of the cases the leader owns
    assert ("owner_digest", None) in got
    clock.to("2026-09-17 10:00")
    assert ("deadline_overdue", case["id"]) in inbox(wang)
    assert ("deadline_overdue_supervisor", case["id"]) in inbox(office)
    # The undecided petition was due the same day: two supervision tasks.
    assert sorted(t["title_zh"] for t in office.tasks(case=case["id"]) if t["name"] == "supervise") == [
        "督办：受理超期", "督办：进展报告超期"]
