"""A dispute the court keeps sending back: 100 rounds of mediation → agreement → judicial confirmation →
rejected (驳回，重新调解), one of them with the court answering late. It keeps the size of a new case's
workflow state, still escalates when its village deadline passes, closes with the right outcome and
subsidy, and its history and hash chain are whole (runtime.compact, issue 16)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine import state_codec
from engine.store import Case, HumanTask
from tests.mediation.conftest import settle

ROUNDS = 100
COURT_LATE = 30  # in this round the court answers after its 18 days (a warning, the case waits on)


def open_task(system, case_id: int, step: str):
    with system.db.read() as s:
        return s.execute(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.name == step,
                                                    HumanTask.status == "ready")).first()


def version(system, case_id: int) -> int:
    with system.db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def stored(system, case_id: int) -> tuple[int, dict]:
    with system.db.read() as s:
        state = s.scalar(select(Case.state).where(Case.id == case_id))
    raw = state_codec.decode_json(state)  # the state's JSON, as it grows or not (stored compressed)
    return len(raw), state_codec.decode(state)


def test_a_dispute_after_100_rejected_confirmations_still_escalates_and_closes_right(people, system):
    services = system.services
    mediator, court = (services.actor_for_token(people[k].token) for k in ("village", "court"))
    case_id = people["intake"].register()["id"]
    sizes = []
    for n in range(1, ROUNDS + 1):
        system.clock.advance(timedelta(days=1))
        assert system.sweep() == 0
        notes = {"notes": f"第{n}轮调解"} if n % 25 == 0 else {}
        services.tasks.complete(mediator, open_task(system, case_id, "mediate").id, {
            "result": "agreement", "agreement_form": "written", "difficulty": "general",
            "agreement_text": f"第{n}次协议：疏通排水沟，费用各半", **notes}, version(system, case_id))
        services.tasks.complete(mediator, open_task(system, case_id, "judicial_confirmation").id,
                                {"applied": True, "court": "清河县人民法院"}, version(system, case_id))
        if n == COURT_LATE:
            system.clock.advance(timedelta(days=20))
            assert system.sweep() == 1  # the court's 18 days passed: a warning, the case still waits
        services.cases.send_message(court, case_id, "court_confirmation", {"result": "rejected"})
        sizes.append(stored(system, case_id))

    # The state does not grow with age: the size of the first round's (the late court's round stays in the
    # tree while its end waits for the process's end, a round's worth), not a task more after round 40.
    (first_size, first), (size, state) = sizes[0], sizes[-1]
    assert max(s for s, _ in sizes) < 2 * first_size, (first_size, size)
    assert len(state["tasks"]) == len(sizes[39][1]["tasks"]) < 3 * len(first["tasks"])

    # Back at the village for round 101; its 10 days pass and the sweep escalates the case to the town.
    auditor = people["auditor"]
    (task,) = auditor.case(case_id)["tasks"]
    assert (task["name"], task["level"], task["org_unit"]) == ("mediate", "village", "dz-lc")
    system.clock.advance(timedelta(days=20))
    assert system.sweep() == 1
    assert system.sweep() == 0
    moved = auditor.case(case_id)
    assert (moved["level"], moved["jurisdiction"], moved["data"]["mediation_round"]) == ("town", "dz", ROUNDS + 2)
    (task,) = moved["tasks"]
    assert (task["name"], task["level"], task["org_unit"]) == ("mediate", "town", "dz")
    (escalated,) = auditor.history(case_id, "escalated")
    assert (escalated["data"]["from"], escalated["data"]["to"], escalated["data"]["reason"]) == \
        ("village", "town", "deadline")

    # The town settles it: the outcome, the subsidy and the data are those of the last round.
    closed = settle(people, case_id, "town", difficulty="general")
    assert (closed["status"], closed["outcome"], closed["level"]) == ("closed", "resolved_town", "town")
    assert [(e["mediator"], e["amount_fen"], e["level"]) for e in closed["subsidy"]] == [("tmed1", 10000, "town")]
    assert closed["tasks"] == [] and closed["deadlines"] == []
    assert closed["data"]["agreement"]["level"] == "town" and closed["data"]["agreement"]["round"] == ROUNDS + 2
    assert closed["data"]["court_confirmation"] == {"result": "rejected"}
    assert [n["round"] for n in closed["data"]["session_notes"]] == [25, 50, 75, 100]
    assert closed["data"]["escalations"] == [{"from": "village", "to": "town", "reason": "deadline"}]

    history = auditor.history(case_id)
    assert len([e for e in history if e["kind"] == "agreement_reached"]) == ROUNDS + 1
    received = [e for e in history if e["kind"] == "message_received" and e["data"]["name"] == "court_confirmation"]
    assert len(received) == ROUNDS
    assert [e["data"]["kind"] for e in history if e["kind"] == "deadline_breached"] == ["court_confirmation", "mediate"]
    assert history[-1]["kind"] == "case_closed"
    verified = auditor.get("/audit/verify", case=case_id).get_json()
    assert verified["ok"] is True and verified["cases_checked"] == 1

    diagram = services.cases.diagram(services.actor_for_token(auditor.token), case_id)
    assert {"open_round", "mediate_village", "judicial_confirmation", "await_confirmation", "confirmed_gw",
            "confirmation_overdue", "escalate", "mediate_town", "followup", "archive", "closed"} <= diagram["done"]
    assert "refer_to_court" not in diagram["done"] and diagram["current"] == set()
