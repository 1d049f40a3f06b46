"""A backlog petition in its ninth year: 200 progress reports (领导包案, every 15 days), some late, one change
of owner. It keeps the size of a new case's workflow state, fires its next report deadline once, closes as
any petition does, and its history and hash chain are whole (runtime.compact, issue 16)."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.calendar import ZONE
from engine import state_codec
from engine.store import Case, HumanTask
from tests.petition.conftest import end_of

CYCLES = 200
LATE = {50, 120}  # reports filed a day late: the office is told to supervise (督办)


def open_task(system, case_id: int, step: str):
    with system.db.read() as s:
        return s.execute(select(HumanTask.id, HumanTask.due_at).where(
            HumanTask.case_id == case_id, HumanTask.name == step, HumanTask.status == "ready")
            .order_by(HumanTask.id)).first()


def stored(system, case_id: int) -> tuple[int, dict]:
    with system.db.read() as s:
        state = s.scalar(select(Case.state).where(Case.id == case_id))
    raw = state_codec.decode_json(state)  # the state's JSON, as it grows or not (stored compressed)
    return len(raw), state_codec.decode(state)


def version(system, case_id: int) -> int:
    with system.db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))


def late_reports(office, case_id: int) -> list[dict]:
    return [e for e in office.history(case_id, "deadline_breached") if e["data"]["kind"] == "progress_report"]


def supervising_reports(office, case_id: int) -> list[dict]:
    return [t for t in office.tasks(case=case_id) if t["title_zh"] == "督办：进展报告超期"]


def actor(system, person):
    return system.services.actor_for_token(person.token)


def test_a_petition_after_200_report_cycles_fires_its_next_deadline_once_closes_and_verifies(people, clock, system):
    office, auditor = people["officer"], people["auditor"]
    case_id = office.register()["id"]
    office.do(case_id, "decide_acceptance", decision="accept")
    assert office.set_owner(case_id, "leader_zhao").status_code == 200
    services, owner = system.services, actor(system, people["zhao"])
    sizes = []
    for cycle in range(1, CYCLES + 1):
        if cycle == 100:  # the office hands the case to another leader: a new cycle from now
            assert office.set_owner(case_id, "leader_li", reason="分工调整").status_code == 200
            owner = actor(system, people["li"])
        report = open_task(system, case_id, "progress_report")
        day = report.due_at.astimezone(ZONE).date()
        clock.to(f"{day + timedelta(days=1)} 09:00" if cycle in LATE else f"{day} 10:00")
        report = open_task(system, case_id, "progress_report")
        services.tasks.complete(owner, report.id, {"notes": f"第{cycle}期进展"}, version(system, case_id))
        if cycle == 55:  # the office supervises the late report of cycle 50; cycle 120's stays open
            (supervise,) = supervising_reports(office, case_id)
            done = office.complete(supervise["id"], version(system, case_id), action="interview", notes="已约谈")
            assert done.status_code == 200, done.get_json()
        sizes.append(stored(system, case_id))

    # The state does not grow with age: the size of the first cycle's, give or take the open 督办 tasks
    # (cycle 120's keeps its cycle in the tree), and not a task more in the last 70 cycles than before.
    (first_size, first), (size, state) = sizes[0], sizes[-1]
    assert max(s for s, _ in sizes) < 2 * first_size, (first_size, size)
    assert len(state["tasks"]) == len(sizes[129][1]["tasks"]) < 2 * len(first["tasks"])

    # The next report deadline fires once, and tells the office once.
    due = people["li"].task(case_id, "progress_report")["due_at"]
    day = open_task(system, case_id, "progress_report").due_at.astimezone(ZONE).date()
    late_before = len(late_reports(office, case_id))
    assert clock.to(f"{day} 23:00") == 0
    assert clock.to(f"{day + timedelta(days=1)} 09:00") == 1
    assert clock.to(f"{day + timedelta(days=1)} 10:00") == 0
    breached = late_reports(office, case_id)
    assert len(breached) == late_before + 1 == len(LATE) + 1 and breached[-1]["data"]["due_at"] == due
    assert people["li"].task(case_id, "progress_report")["warning_level"] == "overdue"
    assert len(supervising_reports(office, case_id)) == 2  # cycle 120's and this one
    people["li"].do(case_id, "progress_report", notes="第201期进展（逾期）")
    assert people["li"].task(case_id, "progress_report")["due_at"] > end_of(str(day))

    # It closes as any petition does: the opinion, 30 days without a review request.
    office.do(case_id, "handle", opinion="support", opinion_text="已落实补偿")
    served = system.clock.now().astimezone(ZONE).date()
    clock.to(f"{served + timedelta(days=45)} 09:00")
    closed = auditor.case(case_id)
    assert (closed["status"], closed["outcome"]) == ("closed", "resolved")
    assert closed["tasks"] == [] and closed["deadlines"] == []
    assert people["li"].tasks() == [] and people["zhao"].tasks() == []

    # The history is whole and its chain verifies.
    history = auditor.history(case_id)
    reports = [e for e in history if e["kind"] == "task_completed" and e["data"]["step"] == "progress_report"]
    assert len(reports) == CYCLES + 1 and reports[0]["data"]["data"]["notes"] == "第1期进展"
    assert [e["data"]["to"] for e in history if e["kind"] == "owner_changed"] == ["leader_zhao", "leader_li"]
    assert history[-1]["kind"] == "case_closed"
    verified = auditor.get("/audit/verify", case=case_id).get_json()
    assert verified["ok"] is True and verified["cases_checked"] == 1

    # The diagram still marks what the case passed, in cycles long gone from the workflow state.
    diagram = system.services.cases.diagram(actor(system, auditor), case_id)
    assert {"progress_report", "next_report", "merge_report", "start_reporting", "owner_changed",
            "supervise_progress_report", "progress_report_late", "handle", "end_resolved"} <= diagram["done"]
    assert diagram["current"] == set()
