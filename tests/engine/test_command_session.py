"""A command's unit of work (engine/db.py `Database.command`): its own connection and transaction, an ORM
session only for the hooks that ask for one, and the serializer's memo of the steps ahead."""
from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.default.workflow import TaskConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from sqlalchemy import func, select

from engine import runtime as rt
from engine.errors import Conflict
from engine.store import Case, CaseEvent, CaseTally, Setting

ROLES = ["intake"] + ["mediator"] * 5 + ["justice_officer", "mediator"]  # chain8's lanes, in order

_plain = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(
    {**SPIFF_CONFIG, BpmnWorkflow: rt._StateOnlyConverter, Task: TaskConverter}))


def _unmemoized(workflow) -> dict:
    """The state as SpiffWorkflow's own task converter gives it (no memo)."""
    dct = _plain.to_dict(workflow)
    dct[_plain.VERSION_KEY] = _plain.VERSION
    return dct


def _actors(system):
    return {"intake": system.people["intake"], "mediator": system.people["mediator"],
            "justice_officer": system.people["justice"]}


def _counts(system, case_id):
    with system.db.read() as s:
        return (s.scalar(select(Case.version).where(Case.id == case_id)),
                s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id)))


def test_the_memoized_state_is_what_spiffworkflow_writes_at_every_step(engine_system):
    system, actors = engine_system, _actors(engine_system)
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    for step in range(8):
        workflow, known = system.engine.cache.take(result.case_id, result.version)
        assert rt.state_dict(workflow) == _unmemoized(workflow)
        ready = rt.find_task(workflow, rt.ready_human_tasks(workflow)[0].spiff_id)
        saved = dict(ready.data)
        ready.set_data(extra=step)  # in place: the deltas of the steps ahead list the new key
        assert rt.state_dict(workflow) == _unmemoized(workflow)
        ready.data.clear()
        ready.data.update(saved)
        assert rt.state_dict(workflow) == _unmemoized(workflow)
        system.engine.cache.put(result.case_id, result.version, workflow, known)
        (task_id,) = result.opened_tasks
        result = system.engine.complete_task(task_id, {"note": f"第{step}步"}, actors[ROLES[step]])
    assert result.status == "closed"


def test_a_hook_writing_through_the_orm_commits_with_the_command(engine_system):
    system, actors = engine_system, _actors(engine_system)

    def listener(session, before, case):
        session.add(Setting(key=f"seen:{case['id']}:{case['version']}", value=case["status"]))

    system.add_case_listener(listener)
    try:
        result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    finally:
        system.engine.case_listeners.remove(listener)
    with system.db.read() as s:
        assert s.scalar(select(Setting.value).where(Setting.key == f"seen:{result.case_id}:{result.version}")) == "open"
        # the engine's own listener (the dashboard's count) wrote in the same transaction
        assert s.scalar(select(func.sum(CaseTally.count)).where(CaseTally.figure == "registered")) >= 1


def test_a_failing_hook_leaves_nothing_of_the_command(engine_system):
    system, actors = engine_system, _actors(engine_system)
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    before = _counts(system, result.case_id)

    def listener(session, before_case, case):
        session.add(Setting(key="half-done", value="x"))
        session.flush()
        raise RuntimeError("a hook fails after writing")

    system.add_case_listener(listener)
    try:
        with pytest.raises(RuntimeError):
            system.engine.complete_task(result.opened_tasks[0], {"note": "x"}, actors["intake"])
    finally:
        system.engine.case_listeners.remove(listener)
    assert _counts(system, result.case_id) == before
    with system.db.read() as s:
        assert s.scalar(select(Setting.value).where(Setting.key == "half-done")) is None
    # the command goes through afterwards (its live workflow was dropped, restored from the store)
    after = system.engine.complete_task(result.opened_tasks[0], {"note": "x"}, actors["intake"])
    assert after.version == result.version + 1


def test_a_stale_write_is_a_conflict_and_the_store_stays(engine_system):
    system, actors = engine_system, _actors(engine_system)
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    with system.db.write() as s:  # someone else moved the case meanwhile
        s.execute(Case.__table__.update().where(Case.id == result.case_id).values(version=Case.version + 1))
    before = _counts(system, result.case_id)
    with pytest.raises(Conflict):  # the cached workflow is for the old version: restored, then the version check
        system.engine.complete_task(result.opened_tasks[0], {"note": "x"}, actors["intake"],
                                    expected_version=result.version)
    assert _counts(system, result.case_id) == before
