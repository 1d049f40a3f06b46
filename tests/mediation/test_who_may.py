"""What a mediation case keeps and who may close it, as people probing the system found it."""
from tests.mediation.conftest import COMPLETE_FILE, dispute


def test_a_town_or_county_mediator_cannot_withdraw_a_village_case_they_do_not_work(people):
    case = people["intake"].register()

    for outsider in ("town", "county"):
        refused = people[outsider].message(case["id"], "withdraw", reason="当事人撤回")
        assert refused.status_code == 403, outsider
    assert people["village"].case(case["id"])["status"] == "open"
    withdrawn = people["village"].send(case["id"], "withdraw", reason="当事人自行和解，申请撤回")
    assert withdrawn["data"]["withdrawal"]["reason"] == "当事人自行和解，申请撤回"


def test_a_message_the_case_type_does_not_know_is_not_found_not_forbidden(people):
    case = people["intake"].register()
    unknown = people["village"].message(case["id"], "no_such_message")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"


def test_the_follow_up_notes_never_overwrite_the_mediators_session_notes_and_the_agreement_names_its_mediator(people):
    village = people["village"]
    case = people["intake"].register()
    village.do(case["id"], "mediate", result="agreement", agreement_form="written", agreement_text="张三清理排水沟",
               difficulty="general", notes="第一次调解：双方到场，现场查看排水沟")
    village.do(case["id"], "judicial_confirmation", applied=False)
    followed = village.do(case["id"], "followup", performance="performed", satisfaction=5, notes="回访：已履行")

    data = followed["data"]
    assert data["notes"] == "第一次调解：双方到场，现场查看排水沟"
    assert data["session_notes"] == [{"round": 1, "level": "village", "result": "agreement",
                                      "notes": "第一次调解：双方到场，现场查看排水沟"}]
    assert data["followup_record"] == {"performance": "performed", "satisfaction": 5, "notes": "回访：已履行"}
    assert data["agreement"]["mediators"] == ["vmed1"]  # the default: whoever completed the step
    closed = village.do(case["id"], "archive", checklist=COMPLETE_FILE)
    assert [e["mediator"] for e in closed["subsidy"]] == ["vmed1"]


def test_an_amount_in_dispute_past_any_real_dispute_is_refused(people):
    refused = people["intake"].post("/cases", {"type": "mediation", "data": dispute(amount_fen=10 ** 26)})
    assert refused.status_code == 400 and "amount_fen" in refused.get_json()["error"]["fields"]
    assert people["village"].tasks() == []


def test_a_breached_deadline_is_recorded_in_shanghai_time_like_everything_else(people, system):
    from datetime import timedelta
    case = people["intake"].register()
    system.clock.advance(timedelta(days=12))
    system.sweep()
    (breached,) = people["auditor"].history(case["id"], "deadline_breached")
    assert breached["data"]["due_at"].endswith("+08:00") and breached["at"].endswith("+08:00")
