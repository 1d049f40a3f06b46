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


def _command_connection(system):
    with system.db.command() as session:
        return session.connection()


def test_a_thread_keeps_its_command_connection_on_sqlite_only(engine_system):
    import threading

    system, actors = engine_system, _actors(engine_system)
    first, second = _command_connection(system), _command_connection(system)
    if not system.db.is_postgres:
        assert first is second and not first.closed  # kept between the thread's commands, out of a transaction
        assert not first.in_transaction()
    else:  # PostgreSQL: each command checks one out of the shared pool and gives it back
        assert first is not second and first.closed
    others = []
    worker = threading.Thread(target=lambda: others.append(_command_connection(system)))
    worker.start()
    worker.join()
    assert others[0] is not first  # another thread, another connection
    # a command that failed leaves its connection: the next one of the thread takes a fresh one and works
    result = system.engine.start_case("chain8", {"summary": "测试"}, actors["mediator"])
    with pytest.raises(Conflict):
        system.engine.complete_task(result.opened_tasks[0], {"note": "x"}, actors["intake"],
                                    expected_version=result.version + 5)
    after = _command_connection(system)
    if not system.db.is_postgres:
        assert after is not first and first.closed
    done = system.engine.complete_task(result.opened_tasks[0], {"note": "x"}, actors["intake"])
    assert done.version == result.version + 1
    assert _counts(system, result.case_id) == (done.version, 4)  # created, opened, completed, opened
    system.db.dispose()  # gives every kept connection back; the next command opens one again
    assert after.closed
    assert _command_connection(system) is not after


def test_more_threads_than_the_pool_keeps_each_run_commands(engine_system):
    """Each thread keeps its command connection on SQLite: threads past the pool's five (and past any
    bound) still get one at once, rather than waiting for a connection nobody gives back."""
    import threading

    system = engine_system
    barrier, done, failed = threading.Barrier(20), [], []

    def work():
        try:
            _command_connection(system)
            barrier.wait(timeout=30)  # every thread holds its kept connection now
            result = system.engine.start_case("chain8", {"summary": "线程"}, _actors(system)["mediator"])
            done.append(result.case_id)
        except Exception as exc:  # noqa: BLE001 -- reported below
            failed.append(exc)

    threads = [threading.Thread(target=work) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not failed and len(set(done)) == 20


def test_a_command_within_a_command_does_not_take_the_kept_connection(tmp_path):
    """SQLite has one writer: a command begun within another waits for it (here: fails fast), on a
    connection of its own; the outer command and the connection it keeps are untouched."""
    from sqlalchemy.exc import OperationalError

    from tests.conftest import FIXTURES, make_system

    system = make_system(f"sqlite:///{tmp_path}/nested.db", FIXTURES / "engine", sqlite_busy_timeout_ms=50)
    try:
        kept = _command_connection(system)
        with system.db.command() as outer:
            assert outer.connection() is kept
            outer.connection().execute(Setting.__table__.insert().values(key="outer", value="1"))
            # BEGIN IMMEDIATE on another connection: the database is locked by the outer command
            with pytest.raises(OperationalError), system.db.command():
                pass
        assert _command_connection(system) is kept
        with system.db.read() as s:
            assert s.scalar(select(Setting.value).where(Setting.key == "outer")) == "1"
    finally:
        system.close()


def test_sqlite_checkpoints_the_log_at_the_pages_the_settings_say(tmp_path):
    from tests.conftest import FIXTURES, make_system

    system = make_system(f"sqlite:///{tmp_path}/ck.db", FIXTURES / "engine", sqlite_wal_autocheckpoint=4321)
    try:
        for engine in (system.db.write_engine, system.db.read_engine):
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 4321
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL: what a commit promises
        assert _command_connection(system).exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 4321
    finally:
        system.close()


def test_sqlite_binds_a_datetime_as_sqlalchemy_would_in_one_step():
    from datetime import datetime, timedelta, timezone

    from sqlalchemy import TypeDecorator
    from sqlalchemy.dialects import postgresql, sqlite

    from engine.store import HumanTask

    column_type = HumanTask.__table__.c.completed_at.type
    dialect = sqlite.dialect()
    fast = column_type._cached_bind_processor(dialect)
    plain = TypeDecorator.bind_processor(column_type.dialect_impl(dialect), dialect)  # process_bind_param, then DATETIME's
    assert fast is not plain
    zones = [timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
    values = [datetime(2026, 12, 1, 21, 5, 9, micro, tzinfo=zone) for micro in (0, 7, 999999) for zone in zones]
    values += [datetime(999, 1, 2, 3, 4, 5, tzinfo=timezone.utc), datetime(9999, 12, 31, 15, 59, 59, 1, tzinfo=zones[1])]
    for value in values:
        assert fast(value) == plain(value)
    assert fast(values[1]) == "2026-12-01 13:05:09.000000"
    assert fast(None) is None
    with pytest.raises(ValueError):
        fast(datetime(2026, 1, 1))  # naive: refused, as before
    pg = postgresql.psycopg.dialect()
    assert column_type._cached_bind_processor(pg) is None or column_type._cached_bind_processor(pg)(values[1]) == \
        values[1].astimezone(timezone.utc).replace(tzinfo=None)
