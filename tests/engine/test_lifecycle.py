"""Cases moving through the engine, as a mediator and an auditor would see them."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from engine import runtime
from engine.audit import verify_cases
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.store import Case, CaseEvent, Deadline, HumanTask

CHAIN = ["register_check", "assess", "visit", "session", "draft", "sign", "review", "close"]
ROLE_OF = {"register_check": "intake", "review": "justice"}


def view(system, case_id, who="auditor"):
    return system.services.cases.get(system.people[who], case_id)


def events(system, case_id):
    return system.services.cases.history(system.people["auditor"], case_id)


def ready_task(system, case_id):
    (task,) = view(system, case_id)["tasks"]
    return task


def test_an_eight_step_case_runs_to_closure_with_a_complete_verified_history(system):
    med = system.people["mediator"]
    started = system.engine.start_case("chain8", {"summary": "邻里排水纠纷", "jurisdiction": "qh"}, med)
    assert view(system, started.case_id)["number"] == "CHAIN8-2026-000001"
    for step in CHAIN:
        task = ready_task(system, started.case_id)
        assert task["name"] == step
        if step == "register_check":
            # the intake worker of the village may not check a case of the county unit, nor may a mediator
            for outsider in (system.people["intake"], system.people["mediator"]):
                with pytest.raises((Forbidden, NotFound)):
                    system.services.tasks.complete(outsider, task["id"], {}, view(system, started.case_id)["version"])
            actor = _county_intake_worker(system)
        else:
            actor = system.people[ROLE_OF.get(step, "mediator")]
        system.engine.complete_task(task["id"], {f"{step}_note": f"{step} 完成"}, actor,
                                    expected_version=view(system, started.case_id)["version"])
    case = view(system, started.case_id)
    assert case["status"] == "closed" and case["tasks"] == []
    assert case["data"]["close_note"] == "close 完成"
    kinds = [e["kind"] for e in events(system, started.case_id)]
    assert kinds[0] == "case_created" and kinds[-1] == "case_closed"
    assert kinds.count("task_completed") == 8 and kinds.count("task_opened") == 8
    with system.db.read() as s:
        assert verify_cases(s) == (1, None)


def _county_intake_worker(system):
    from engine.accounts import actor_of, add_user
    with system.db.write() as s:
        return actor_of(add_user(s, "intake_county", ["intake"], "qh", "password1", now=system.clock.now()))


def test_completing_with_a_stale_version_is_a_conflict_that_changes_nothing(system):
    med = system.people["mediator"]
    case_id = system.engine.start_case("loop", {"attempts": 0, "settled": False}, med).case_id
    before = view(system, case_id)
    task = before["tasks"][0]
    with pytest.raises(Conflict):
        system.engine.complete_task(task["id"], {"settled": True}, med, expected_version=before["version"] - 1)
    after = view(system, case_id)
    assert after == before
    system.engine.complete_task(task["id"], {"settled": True}, med, expected_version=before["version"])
    assert view(system, case_id)["status"] == "closed"
    with pytest.raises(Conflict):  # the same task again: no longer ready
        system.engine.complete_task(task["id"], {"settled": True}, med)


def test_claims_and_assignment_are_recorded_and_respected(system):
    med, med2 = system.people["mediator"], system.people["mediator2"]
    case_id = system.engine.start_case("loop", {"attempts": 0, "settled": False}, med).case_id
    task = ready_task(system, case_id)
    system.engine.claim_task(task["id"], med)
    with pytest.raises(Conflict):
        system.engine.claim_task(task["id"], med2)
    with pytest.raises(Forbidden):
        system.services.tasks.complete(med2, task["id"], {"settled": True}, view(system, case_id)["version"])
    with pytest.raises(Forbidden):  # only whoever claimed it releases it
        system.services.tasks.unclaim(med2, task["id"])
    system.engine.unclaim_task(task["id"], med)
    system.services.tasks.assign(med, task["id"], "med2")
    assert [t["id"] for t in system.services.tasks.worklist(med2)] == [task["id"]]
    assert system.services.tasks.worklist(med) == []
    with pytest.raises(InvalidInput):
        system.engine.assign_task(task["id"], "officer1", med)  # wrong role
    system.engine.complete_task(task["id"], {"settled": True}, med2)
    kinds = [e["kind"] for e in events(system, case_id)]
    assert kinds.count("task_claimed") == 1 and kinds.count("task_unclaimed") == 1
    assert kinds.count("task_assigned") == 1
    assigned = next(e for e in events(system, case_id) if e["kind"] == "task_assigned")
    assert assigned["actor"] == "med1" and assigned["data"]["to"] == "med2"


def test_form_fields_changed_by_a_step_are_recorded_before_and_after(system):
    med = system.people["mediator"]
    case_id = system.engine.start_case("loop", {"attempts": 0, "settled": False}, med).case_id
    system.engine.complete_task(ready_task(system, case_id)["id"], {"settled": True}, med)
    completed = next(e for e in events(system, case_id) if e["kind"] == "task_completed")
    assert completed["data"]["changes"] == {"settled": False}  # the value before; after: its data
    assert completed["data"]["data"]["settled"] is True
    assert completed["actor"] == "med1"


def test_a_case_that_loops_600_times_does_not_stall(engine_system):
    """SpiffWorkflow's own engine steps stop silently past a task-tree depth of ~1000."""
    system = engine_system
    med = system.people["mediator"]
    case_id = system.engine.start_case("loop", {"attempts": 0, "settled": False}, med).case_id
    result = None
    for i in range(600):
        task = ready_task(system, case_id) if result is None else {"id": result.opened_tasks[0]}
        result = system.engine.complete_task(task["id"], {"settled": i == 599}, med)
        # SpiffWorkflow's own is_completed() calls a case finished once its tree is deep enough
        assert result.status == ("closed" if i == 599 else "open"), f"closed after {i + 1} attempts"
        assert len(result.opened_tasks) == (0 if i == 599 else 1)
        if i == 598:  # the saved state of the case, one attempt before the last, restores
            system.engine.cache.clear()
            with system.db.read() as s:
                workflow, _ = system.engine._workflow_for(
                    s, s.execute(select(Case.__table__).where(Case.id == case_id)).mappings().one(),
                    system.engine.application("loop"))
            assert not runtime.is_completed(workflow) and len(runtime.ready_human_tasks(workflow)) == 1
            # 600 iterations would have made a tree deeper than SpiffWorkflow's iterators reach (1000);
            # finished iterations leave it (runtime.compact), so it stays as shallow as after the first.
            assert max(t.depth for t in workflow.tasks.values()) < 20
            result = None
    case = view(system, case_id)
    assert case["status"] == "closed"
    assert case["data"]["attempts"] == 600
    with system.db.read() as s:  # closed: the store keeps the steps it passed, for its diagram
        done, current = system.engine.progress(s, case_id)
    assert current == set() and {"attempt"} <= done


def test_a_timer_fires_on_the_sweep_after_the_clock_passes_its_due_time(system):
    med = system.people["mediator"]
    case_id = system.engine.start_case("timed", {"days": 10}, med).case_id
    (deadline,) = view(system, case_id)["deadlines"]
    # Registered Tue 2026-09-01: the 10th day is Fri 09-11, a working day.
    assert deadline["due_at"] == "2026-09-11T23:59:59+08:00" and deadline["estimated"] is False
    assert ready_task(system, case_id)["due_at"] == deadline["due_at"]
    system.clock.set(system.clock.now() + timedelta(days=7))  # 2/3 of the period is at 09-08 11:40
    assert view(system, case_id)["deadlines"][0]["warning_level"] == "normal"
    system.clock.set(system.clock.now() + timedelta(days=1))
    assert view(system, case_id)["deadlines"][0]["warning_level"] == "warning"
    assert system.engine.sweep() == 0
    system.clock.set(system.clock.now() + timedelta(days=3))
    assert system.engine.sweep() == 1
    assert system.engine.sweep() == 0  # once
    case = view(system, case_id)
    assert [t["name"] for t in case["tasks"]] == ["supervise"]
    breached = [e for e in events(system, case_id) if e["kind"] == "deadline_breached"]
    assert len(breached) == 1 and breached[0]["data"]["kind"] == "respond"


def test_a_deadline_in_a_year_without_holiday_data_is_marked_estimated(system):
    system.clock.set(system.clock.now().replace(year=2027))
    case_id = system.engine.start_case("timed", {"days": 15}, system.people["mediator"]).case_id
    assert view(system, case_id)["deadlines"][0]["estimated"] is True


def test_a_withdrawal_message_ends_the_case_and_an_unexpected_one_is_refused(system):
    med = system.people["mediator"]
    case_id = system.engine.start_case("timed", {"days": 10}, med).case_id
    with pytest.raises(Conflict):
        system.engine.send_message(case_id, "court_result", {}, med)
    system.engine.send_message(case_id, "withdraw", {"reason": "双方已和解"}, med)
    case = view(system, case_id)
    assert case["status"] == "closed" and case["deadlines"] == [] and case["tasks"] == []
    assert case["data"]["withdrawal"] == {"reason": "双方已和解"}
    with pytest.raises(Conflict):
        system.engine.send_message(case_id, "withdraw", {}, med)
    with system.db.read() as s:
        statuses = s.scalars(select(Deadline.status).where(Deadline.case_id == case_id)).all()
    assert statuses == ["cancelled"]


def test_unknown_cases_tasks_and_types_are_reported_plainly(system):
    med = system.people["mediator"]
    with pytest.raises(NotFound):
        system.engine.complete_task(99999, {}, med)
    with pytest.raises(NotFound):
        system.engine.send_message(99999, "withdraw", {}, med)
    with pytest.raises(InvalidInput) as err:
        system.engine.start_case("no_such_process", {}, med)
    assert "尚未部署" in err.value.message


def test_case_numbers_are_sequential_per_type_and_year(system):
    med = system.people["mediator"]
    numbers = [view(system, system.engine.start_case(t, {"attempts": 0, "settled": False, "days": 3}, med).case_id)["number"]
               for t in ("loop", "loop", "timed")]
    assert numbers == ["LOOP-2026-000001", "LOOP-2026-000002", "TIMED-2026-000001"]
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_an_auditor_reads_everything_but_can_register_or_change_nothing(system):
    auditor, med = system.people["auditor"], system.people["mediator"]
    with pytest.raises(Forbidden):
        system.services.cases.register(auditor, "timed", {"days": 3})
    case_id = system.engine.start_case("timed", {"days": 3}, med).case_id
    with pytest.raises(Forbidden):
        system.services.cases.send_message(auditor, case_id, "withdraw", {"reason": "x"})
    with pytest.raises(Forbidden):
        system.services.tasks.complete(auditor, ready_task(system, case_id)["id"], {}, view(system, case_id)["version"])
    assert view(system, case_id)["status"] == "open"
    assert "no_such_type" not in system.engine.applications
    with pytest.raises(InvalidInput):
        system.engine.start_case("no_such_type", {}, med)
    assert "no_such_type" not in system.engine.applications
