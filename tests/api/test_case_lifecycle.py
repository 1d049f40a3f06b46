"""A `timed` case worked through the REST API: answer within N days, or the petition office supervises.

The case belongs to the county unit (where the mediators med1 and med2 and the petition officer
sit); `respond` is a mediator's step, `supervise` the petition officer's.
"""
from datetime import timedelta


def the_task(user, case_id):
    (task,) = user.tasks(case=case_id)
    return task


def test_a_mediator_registers_claims_and_answers_a_case_which_then_closes(mediator, people):
    case = mediator.register(days=3)
    assert case["type"] == "timed" and case["status"] == "open" and case["outcome"] is None
    assert case["number"] and case["jurisdiction"] == "qh"
    assert [t["name"] for t in case["tasks"]] == ["respond"]
    assert case["deadlines"][0]["kind"] == "respond"
    assert case["deadlines"][0]["due_at"] == "2026-09-04T23:59:59+08:00"  # 3 days, end of day, Shanghai

    task = the_task(mediator, case["id"])
    assert task["role"] == "mediator" and task["assignee"] is None and task["warning_level"] == "normal"
    assert task["id"] in [t["id"] for t in people["mediator2"].tasks()]  # unclaimed: the whole unit sees it

    claimed = mediator.claim(task["id"])
    assert claimed.status_code == 200
    claimed = claimed.get_json()
    assert claimed["tasks"][0]["assignee"] == "med1" and claimed["version"] == case["version"] + 1
    assert people["mediator2"].tasks(case=case["id"]) == []  # claimed: only med1 works it now

    detail = mediator.get(f"/tasks/{task['id']}").get_json()
    assert detail["name"] == "respond" and detail["form"]["properties"]["answer"]["type"] == "string"

    done = mediator.complete(task["id"], claimed["version"], answer="已电话答复当事人")
    assert done.status_code == 200, done.get_json()
    closed = done.get_json()
    assert closed["status"] == "closed" and closed["tasks"] == [] and closed["deadlines"] == []
    assert closed["data"]["answer"] == "已电话答复当事人"
    assert mediator.tasks(case=case["id"]) == []
    kinds = [e["kind"] for e in mediator.events(case["id"])]
    assert kinds == ["case_created", "task_opened", "task_claimed", "task_completed", "case_closed"]
    completed = next(e for e in mediator.events(case["id"]) if e["kind"] == "task_completed")
    assert completed["actor"] == "med1" and completed["data"]["data"] == {"answer": "已电话答复当事人"}


def test_an_answer_sent_on_a_stale_version_is_refused_and_changes_nothing(mediator, people):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    people["mediator2"].claim(task["id"])  # someone else moved the case on
    people["mediator2"].post(f"/tasks/{task['id']}/unclaim")
    before = mediator.case(case["id"])
    history = mediator.events(case["id"])

    stale = mediator.complete(task["id"], case["version"], answer="迟到的答复")

    assert stale.status_code == 409
    error = stale.get_json()["error"]
    assert error["code"] == "conflict" and "刷新" in error["message"] and "stale version" in error["message"]
    assert mediator.case(case["id"]) == before
    assert len(mediator.events(case["id"])) == len(history)


def test_a_task_already_completed_cannot_be_completed_again(mediator):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    first = mediator.complete(task["id"], case["version"], answer="已答复").get_json()
    history = mediator.events(case["id"])

    again = mediator.complete(task["id"], first["version"], answer="再答复一次")

    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    assert again.get_json()["error"]["message"].startswith("该任务已办结")
    assert mediator.events(case["id"]) == history
    assert mediator.case(case["id"]) == first


def test_a_justice_officer_may_not_answer_a_mediators_task(mediator, people):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    justice = people["justice"]

    refused = justice.complete(task["id"], case["version"], answer="越权答复")
    claim = justice.claim(task["id"])

    assert refused.status_code == 403 and claim.status_code == 403
    error = refused.get_json()["error"]
    assert error["code"] == "forbidden" and error["message"].startswith("此任务不属于您的角色或单位")
    assert justice.tasks() == []
    assert mediator.case(case["id"])["version"] == case["version"]


def test_a_task_claimed_by_a_colleague_cannot_be_claimed_or_completed(mediator, people):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    version = mediator.claim(task["id"]).get_json()["version"]
    colleague = people["mediator2"]

    assert colleague.claim(task["id"]).status_code == 409
    assert colleague.complete(task["id"], version, answer="抢答").status_code == 403
    assert colleague.post(f"/tasks/{task['id']}/unclaim").status_code == 403


def test_a_mediator_hands_the_task_to_a_colleague_who_answers_it(mediator, people):
    case = mediator.register()
    task = the_task(mediator, case["id"])

    assigned = mediator.post(f"/tasks/{task['id']}/assign", {"user": "med2"})

    assert assigned.status_code == 200
    assert assigned.get_json()["tasks"][0]["assignee"] == "med2"
    assert mediator.tasks(case=case["id"]) == []
    colleague = people["mediator2"]
    assert [t["id"] for t in colleague.tasks(case=case["id"])] == [task["id"]]
    done = colleague.complete(task["id"], assigned.get_json()["version"], answer="已答复")
    assert done.get_json()["status"] == "closed"
    assigned_event = next(e for e in mediator.events(case["id"]) if e["kind"] == "task_assigned")
    assert assigned_event["actor"] == "med1" and assigned_event["data"]["to"] == "med2"


def test_a_task_cannot_be_assigned_to_someone_without_the_role(mediator):
    case = mediator.register()
    task = the_task(mediator, case["id"])

    wrong = mediator.post(f"/tasks/{task['id']}/assign", {"user": "officer1"})
    nobody = mediator.post(f"/tasks/{task['id']}/assign", {"user": "nobody"})
    missing = mediator.post(f"/tasks/{task['id']}/assign", {})

    assert wrong.status_code == 400 and "user" in wrong.get_json()["error"]["fields"]
    assert nobody.status_code == 400 and nobody.get_json()["error"]["fields"]["user"].startswith("用户不存在")
    assert missing.status_code == 400 and missing.get_json()["error"]["fields"] == {"user": "必填 / required"}
    assert mediator.case(case["id"])["version"] == case["version"]


def test_a_claimed_task_released_goes_back_to_the_unit(mediator, people):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    mediator.claim(task["id"])

    released = mediator.post(f"/tasks/{task['id']}/unclaim")

    assert released.status_code == 200 and released.get_json()["tasks"][0]["assignee"] is None
    assert [t["id"] for t in people["mediator2"].tasks(case=case["id"])] == [task["id"]]
    assert "task_unclaimed" in [e["kind"] for e in mediator.events(case["id"])]


def test_an_answer_with_bad_fields_is_refused_in_chinese_and_changes_nothing(mediator):
    case = mediator.register()
    task = the_task(mediator, case["id"])
    history = mediator.events(case["id"])

    bad = mediator.complete(task["id"], case["version"], answer="", satisfaction="很满意")

    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert error["code"] == "invalid_input" and error["message"].startswith("表单“答复”填写有误")
    assert error["fields"] == {"answer": "不能为空 / must not be empty",
                               "satisfaction": "应为整数 / must be a whole number"}
    assert mediator.case(case["id"]) == case
    assert mediator.events(case["id"]) == history


def test_completing_without_the_version_read_is_refused(mediator):
    case = mediator.register()
    task = the_task(mediator, case["id"])

    for body in ({"data": {"answer": "已答复"}}, {"data": {"answer": "已答复"}, "version": "1"},
                 {"data": {"answer": "已答复"}, "version": True}):
        response = mediator.post(f"/tasks/{task['id']}/complete", body)
        assert response.status_code == 400
        assert list(response.get_json()["error"]["fields"]) == ["version"]
    assert mediator.case(case["id"]) == case


def test_a_party_withdraws_and_the_case_closes(mediator):
    case = mediator.register()

    withdrawn = mediator.message(case["id"], "withdraw", reason="双方已自行和解")

    assert withdrawn.status_code == 200, withdrawn.get_json()
    closed = withdrawn.get_json()
    assert closed["status"] == "closed" and closed["tasks"] == []
    assert closed["data"]["withdrawal"] == {"reason": "双方已自行和解"}
    kinds = [e["kind"] for e in mediator.events(case["id"])]
    assert kinds[2:] == ["message_received", "task_cancelled", "case_closed"]
    received = mediator.events(case["id"])[2]
    assert received["actor"] == "med1" and received["data"] == {"name": "withdraw", "data": {"reason": "双方已自行和解"}}
    again = mediator.message(case["id"], "withdraw", reason="重复撤回")
    assert again.status_code == 409 and again.get_json()["error"]["message"].startswith("案件已结案")


def test_a_message_the_case_is_not_waiting_for_is_refused_and_changes_nothing(mediator):
    case = mediator.register()
    history = mediator.events(case["id"])

    response = mediator.message(case["id"], "court_result", outcome="mediated")

    assert response.status_code == 409
    assert response.get_json()["error"]["message"].startswith("案件当前不在等待消息")
    assert mediator.case(case["id"])["version"] == case["version"]
    assert mediator.events(case["id"]) == history


def test_a_message_body_without_data_is_an_empty_message(mediator):
    case = mediator.register()

    response = mediator.post(f"/cases/{case['id']}/messages/withdraw")

    assert response.status_code == 200 and response.get_json()["status"] == "closed"


def test_a_late_answer_goes_to_the_petition_office_for_supervision(system, mediator, people):
    case = mediator.register(days=3)
    officer = people["officer"]
    assert officer.tasks() == []

    system.clock.advance(timedelta(days=4))  # Saturday 09:00: the Friday deadline has passed
    overdue = mediator.get("/cases", overdue=1).get_json()["items"]
    assert [c["id"] for c in overdue] == [case["id"]]
    assert the_task(mediator, case["id"])["warning_level"] == "overdue"

    assert system.engine.sweep() == 1

    (supervise,) = officer.tasks()
    assert supervise["name"] == "supervise" and supervise["role"] == "petition_officer"
    assert mediator.tasks(case=case["id"]) == []
    breached = [e for e in mediator.events(case["id"]) if e["kind"] == "deadline_breached"]
    assert len(breached) == 1 and breached[0]["actor"] == "system"
    assert breached[0]["data"]["kind"] == "respond"
    assert mediator.get("/cases", overdue=1).get_json()["items"] == []
    view = officer.case(case["id"])
    done = officer.complete(supervise["id"], view["version"])
    assert done.status_code == 200 and done.get_json()["status"] == "closed"
