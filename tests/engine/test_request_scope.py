"""What one request reads once (usecases/request_scope.py): the org tree and a user's relations to a
case are kept for the rest of the request from read sessions, forgotten as soon as anything commits,
and never kept outside a request's scope or from one request to the next. On both stores."""
from __future__ import annotations

import pytest
from sqlalchemy import event

from engine.accounts import add_org_unit
from tests.conftest import (
    BPMN_DIR,
    definition_files,
    deploy_files,
    make_system,
    seed_people,
)
from usecases import request_scope
from usecases.relations import OrgTree


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN_DIR)
    deploy_files(system, definition_files(BPMN_DIR))
    system.people = seed_people(system)
    yield system
    system.close()


@pytest.fixture
def statements(system):
    seen: list[str] = []

    def note(_conn, _cursor, sql, *_args):
        seen.append(sql)
    engine = system.db.read_engine
    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def units_read(seen: list[str]) -> int:
    return sum(1 for sql in seen if "FROM org_unit" in sql)


def register(system) -> int:
    s, p = system.services, system.people
    view = s.cases.register(p["intake"], "mediation", {
        "parties": [{"side": "applicant", "name": "张三", "residence_org": "qh-dz-lc"},
                    {"side": "respondent", "name": "李四", "residence_org": "qh-dz-lc"}],
        "category": "neighbour", "summary": "排水沟堵塞", "source": "party_application", "risk_level": "green"})
    return view["id"]


def test_inside_a_request_the_units_are_read_once_and_again_after_a_commit(system, statements):
    token = request_scope.begin()
    try:
        with system.db.read() as s:
            first = OrgTree.load(s)
        with system.db.read() as s:
            assert OrgTree.load(s) is first
        assert units_read(statements) == 1
        with system.db.write() as s:  # a unit added in the same request: kept reads are forgotten
            add_org_unit(s, "qh-dz-sq", "石桥村", "village", "qh-dz")
            assert "qh-dz-sq" in OrgTree.load(s).units  # a write session reads for itself
        with system.db.read() as s:
            assert "qh-dz-sq" in OrgTree.load(s).units
        assert "qh-dz-sq" not in first.units
    finally:
        request_scope.end(token)
    with system.db.read() as s:  # outside a request nothing is kept
        assert OrgTree.load(s) is not OrgTree.load(s)


def test_a_case_read_by_several_use_cases_in_one_request_is_checked_once_and_afresh_after_a_change(
        system, statements):
    s, p = system.services, system.people
    case_id = register(system)
    mediator = p["village_mediator"]
    token = request_scope.begin()
    try:
        statements.clear()
        view = s.cases.get(mediator, case_id)
        s.cases.history(mediator, case_id)
        s.cases.diagram(mediator, case_id)
        assert units_read(statements) == 1
        handler_checks = [sql for sql in statements if sql.startswith("SELECT human_task.id \nFROM human_task")
                          and "human_task.completed_by = " in sql]
        assert len(handler_checks) == 1, handler_checks
        # Another user in the same request is asked about afresh, and is refused where the table says.
        from engine.errors import NotFound
        with pytest.raises(NotFound):
            s.cases.get(_outsider(system), case_id)
        task = next(t for t in view["tasks"] if t["name"] == "mediate")
        tree = request_scope._KEPT.get()["org_tree"]  # what this request has read so far is kept
        s.tasks.complete(mediator, task["id"], {"result": "refused"}, view["version"])
        # the command's commit (of its own connection, no ORM session) forgot it: read again since
        assert request_scope._KEPT.get().get("org_tree") is not tree
        after = s.cases.get(mediator, case_id)  # read after the command: the case as it is now
        assert after["version"] > view["version"] and all(t["name"] != "mediate" for t in after["tasks"])
    finally:
        request_scope.end(token)


def _outsider(system):
    from engine.accounts import actor_of, add_user
    from tests.conftest import START
    with system.db.write() as session:
        add_org_unit(session, "qh-xz", "西镇", "town", "qh")
        add_org_unit(session, "qh-xz-hc", "河村", "village", "qh-xz")
        return actor_of(add_user(session, "vmed9", ["mediator"], "qh-xz-hc", "password1", now=START))
