"""The smaller store (migration 0010): compressed workflow states that old rows still read as, a closed
case's state reduced to the steps it passed, events without the previous event's hash."""
from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import select, text

from engine import runtime as rt
from engine import state_codec
from engine.audit import GENESIS, verify_cases
from engine.store import Case, CaseEvent, HumanTask
from tests.operations.test_upgrade import alembic_config
from usecases import CLI

STEPS = ["register_check","assess","visit","session","draft","sign","review","close"]  # chain8's user tasks
ROLES = ["intake"] + ["mediator"] * 5 + ["justice_officer", "mediator"]  # chain8's lanes, in order


def test_the_codec_round_trips_and_reads_the_old_layout():
    state = {"tasks": {"a": {"state": 64, "task_spec": "登记"}}, "big": 2 ** 70, "data": {"备注": "调解"}}
    stored = state_codec.encode(state)
    assert stored[0] == state_codec.FORMAT_ZLIB_JSON and state_codec.decode(stored) == state
    assert state_codec.is_current(stored) and state_codec.is_current(b"") and state_codec.is_current(None)
    old = json.dumps(state, ensure_ascii=False)  # what the TEXT column held before 0010
    assert state_codec.decode(old) == state and state_codec.decode(old.encode()) == state
    assert not state_codec.is_current(old) and not state_codec.is_current(old.encode())
    assert state_codec.decode("") == {} and state_codec.decode(None) == {} and state_codec.decode(b"") == {}
    assert json.loads(state_codec.decode_json(stored)) == state
    assert state_codec.decode(state_codec.encode_json(old)) == state
    with pytest.raises(ValueError):
        state_codec.decode(b"\x07junk")


def _people(system):
    actors = {"intake": system.people["intake"], "mediator": system.people["mediator"],
              "justice_officer": system.people["justice"]}
    return actors


def _run(system, steps: int) -> tuple[int, int | None]:
    """A chain8 case worked `steps` steps (8 closes it): its id and the id of its ready task."""
    actors = _people(system)
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    for step in range(steps):
        (task_id,) = result.opened_tasks
        result = system.engine.complete_task(task_id, {"note": f"第{step}步"}, actors[ROLES[step]])
    return result.case_id, (result.opened_tasks[0] if result.opened_tasks else None)


def _state(system, case_id: int):
    with system.db.read() as s:
        return s.scalar(select(Case.state).where(Case.id == case_id))


def test_a_closed_case_keeps_only_the_steps_it_passed_and_still_shows_and_checks(engine_system):
    system = engine_system
    open_id, _ = _run(system, 3)
    closed_id, _ = _run(system, 8)
    open_state, closed_state = state_codec.decode(_state(system, open_id)), state_codec.decode(_state(system, closed_id))
    assert "tasks" in open_state and not rt.is_closed_state(open_state)
    assert set(closed_state) == {rt.CLOSED_KEY, rt.PASSED_KEY}
    with system.db.read() as s:
        done, current = system.engine.progress(s, closed_id)
    # the diagram's marks of the closed case: the start, every user task, the end
    assert current == set() and set(STEPS) <= done, done
    with system.db.read() as s:
        assert system.engine.progress(s, open_id)[1]  # an open case still shows where it is
    assert len(closed_state[rt.PASSED_KEY]) < 40 and len(_state(system, closed_id)) < 200
    assert system.services.operations.check(CLI).ok
    assert verify_cases_ok(system)
    history = system.services.audit.case_file(system.people["auditor"], closed_id)
    assert history["verification"]["ok"] and history["events"][0]["prev_hash"] == GENESIS
    assert all(b["prev_hash"] == a["hash"] for a, b in zip(history["events"], history["events"][1:]))


def test_the_reduced_state_marks_what_the_full_state_marked(engine_system):
    system = engine_system
    actors = _people(system)
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    for step in range(8):
        (task_id,) = result.opened_tasks
        result = system.engine.complete_task(task_id, {"note": "x"}, actors[ROLES[step]])
    workflow, _known = system.engine.cache.take(result.case_id, result.version)
    assert rt.is_completed(workflow)
    assert rt.progress(rt.closed_state(workflow)) == rt.progress(rt.dump_state(workflow))


def verify_cases_ok(system) -> bool:
    with system.db.read() as s:
        return verify_cases(s)[1] is None


def test_migration_0010_down_and_up_keeps_every_case_going(engine_system):
    system = engine_system
    open_id, ready_id = _run(system, 3)
    closed_id, _ = _run(system, 8)
    with system.db.read() as s:
        hashes = list(s.scalars(select(CaseEvent.hash).where(CaseEvent.case_id == open_id).order_by(CaseEvent.seq)))
    system.engine.cache.clear()

    with system.db.write_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0007")
    with system.db.write_engine.connect() as conn:
        prevs = list(conn.execute(text("SELECT prev_hash FROM case_event WHERE case_id = :c ORDER BY seq"),
                                  {"c": open_id}).scalars())
        states = dict(conn.execute(text("SELECT id, state FROM case_record")).all())
    assert prevs == [GENESIS] + hashes[:-1]  # the layout before 0010: each event names its predecessor
    as_text = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in states.items()}
    assert "tasks" in json.loads(as_text[open_id]) and rt.PASSED_KEY in json.loads(as_text[closed_id])

    with system.db.write_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    assert state_codec.is_current(_state(system, open_id)) and state_codec.is_current(_state(system, closed_id))
    # the open case goes on from its converted state
    actors = _people(system)
    with system.db.read() as s:
        version = s.scalar(select(Case.version).where(Case.id == open_id))
    result = system.engine.complete_task(ready_id, {"note": "迁移之后"}, actors[ROLES[3]], expected_version=version)
    assert result.status == "open" and len(result.opened_tasks) == 1
    assert verify_cases_ok(system)
    assert system.services.operations.check(CLI).ok


def test_migration_0010_reduces_a_closed_case_in_the_old_layout(engine_system):
    """A store of the layout before 0010 (JSON text, full states of closed cases) comes out reduced."""
    system = engine_system
    closed_id, _ = _run(system, 8)
    open_id, _ = _run(system, 2)
    workflow, _known = system.engine.cache.take(closed_id, _version(system, closed_id))
    full = json.dumps(rt.state_dict(workflow), ensure_ascii=False)
    with system.db.read() as s:
        before = system.engine.progress(s, closed_id)
    with system.db.write_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0007")
        conn.execute(text("UPDATE case_record SET state = :s WHERE id = :c"), {"s": full, "c": closed_id})
    with system.db.write_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    reduced = state_codec.decode(_state(system, closed_id))
    assert rt.is_closed_state(reduced)
    with system.db.read() as s:
        assert system.engine.progress(s, closed_id) == before
        ready = s.scalar(select(HumanTask.id).where(HumanTask.case_id == open_id, HumanTask.status == "ready"))
    assert not rt.is_closed_state(state_codec.decode(_state(system, open_id)))
    system.engine.cache.clear()
    actors = _people(system)
    assert system.engine.complete_task(ready, {"note": "继续"}, actors[ROLES[2]]).status == "open"


def _version(system, case_id: int) -> int:
    with system.db.read() as s:
        return s.scalar(select(Case.version).where(Case.id == case_id))
