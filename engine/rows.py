"""The statements a command runs, built once and executed on the connection.

Commands are the hot path (ARCHITECTURE.md: a handful of statements, one commit). Going
through the ORM for these costs more than the statements themselves, so the engine's writes
use these prebuilt Core statements with bound parameters; the ORM stays for queries and admin.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.engine import Connection

from .store import Case, CaseEvent, Deadline, HumanTask

case_t, task_t = Case.__table__, HumanTask.__table__
deadline_t, event_t = Deadline.__table__, CaseEvent.__table__

_CASE_COLUMNS = [c for c in case_t.c if c.name != "state"]
_SELECT_CASE = select(*_CASE_COLUMNS).where(case_t.c.id == bindparam("b_case"))
_SELECT_STATE = select(case_t.c.state).where(case_t.c.id == bindparam("b_case"))
_SELECT_CASES = select(*_CASE_COLUMNS).where(case_t.c.id.in_(bindparam("b_ids", expanding=True)))
_SELECT_CASES_AND_STATES = select(*_CASE_COLUMNS, case_t.c.state).where(
    case_t.c.id.in_(bindparam("b_ids", expanding=True)))
_SELECT_STATES = select(case_t.c.id, case_t.c.state).where(case_t.c.id.in_(bindparam("b_ids", expanding=True)))
_PENDING_DEADLINES_OF = select(deadline_t).where(deadline_t.c.case_id.in_(bindparam("b_ids", expanding=True)),
                                                 deadline_t.c.status == "pending")
_READY_TASKS_OF = select(task_t.c.id, task_t.c.case_id, task_t.c.spiff_id, task_t.c.name, task_t.c.title,
                         task_t.c.role, task_t.c.org_unit, task_t.c.assignee, task_t.c.due_at).where(
    task_t.c.case_id.in_(bindparam("b_ids", expanding=True)), task_t.c.status == "ready")
_TASK_NAMES = [c.name for c in task_t.c]
_CASE_NAMES = [c.name for c in _CASE_COLUMNS]
_SELECT_TASK_AND_CASE = select(*task_t.c, *_CASE_COLUMNS) \
    .join(case_t, case_t.c.id == task_t.c.case_id).where(task_t.c.id == bindparam("b_task"))
_READY_TASKS = select(task_t.c.id, task_t.c.spiff_id, task_t.c.name, task_t.c.due_at).where(
    task_t.c.case_id == bindparam("b_case"), task_t.c.status == "ready")
_PENDING_TIMERS = select(deadline_t).where(deadline_t.c.case_id == bindparam("b_case"),
                                           deadline_t.c.status == "pending", deadline_t.c.spiff_id.is_not(None))
_COMPLETE_TASK = update(task_t).where(task_t.c.id == bindparam("b_task")).values(
    status="completed", completed_at=bindparam("b_at"), completed_by=bindparam("b_by"))
_SET_ASSIGNEE = update(task_t).where(task_t.c.id == bindparam("b_task")).values(assignee=bindparam("b_user"))
_SET_TASK_DUE = update(task_t).where(task_t.c.id == bindparam("b_task")).values(due_at=bindparam("b_due"))
_CANCEL_TASKS = update(task_t).where(task_t.c.id.in_(bindparam("b_ids", expanding=True))).values(status="cancelled")
_SET_DEADLINES = update(deadline_t).where(deadline_t.c.id.in_(bindparam("b_ids", expanding=True))).values(
    status=bindparam("b_status"), fired_at=bindparam("b_at"))
_INSERT_TASKS = insert(task_t).returning(task_t.c.id, task_t.c.name, task_t.c.role, task_t.c.org_unit,
                                         sort_by_parameter_order=True)
_INSERT_DEADLINES = insert(deadline_t).returning(deadline_t.c.id, sort_by_parameter_order=True)
_INSERT_EVENTS = insert(event_t)
_INSERT_CASE = insert(case_t).returning(case_t.c.id)
_MUTABLE = ("state", "status", "outcome", "level", "jurisdiction", "owner", "flags", "data", "closed_at",
            "version", "updated_at", "last_event_seq", "last_event_hash", "repeat_of", "withheld_from", "search_text")
_SAVE_CASE = update(case_t).where(case_t.c.id == bindparam("b_case"), case_t.c.version == bindparam("b_version")) \
    .values({name: bindparam(f"v_{name}") for name in _MUTABLE})
_SAVE_CASE_KEEP_STATE = update(case_t).where(case_t.c.id == bindparam("b_case"),
                                             case_t.c.version == bindparam("b_version")) \
    .values({name: bindparam(f"v_{name}") for name in _MUTABLE if name != "state"})


def load_case(conn: Connection, case_id: int) -> dict[str, Any] | None:
    row = conn.execute(_SELECT_CASE, {"b_case": case_id}).mappings().first()
    return dict(row) if row is not None else None


def load_state(conn: Connection, case_id: int) -> str | None:
    return conn.execute(_SELECT_STATE, {"b_case": case_id}).scalar()


def load_cases(conn: Connection, case_ids: list[int], *, with_state: bool) -> dict[int, dict[str, Any]]:
    """Several cases by id, each with its workflow state under "state" if `with_state`."""
    stmt = _SELECT_CASES_AND_STATES if with_state else _SELECT_CASES
    return {r["id"]: dict(r) for r in conn.execute(stmt, {"b_ids": case_ids}).mappings()}


def load_states(conn: Connection, case_ids: list[int]) -> dict[int, str]:
    return dict(conn.execute(_SELECT_STATES, {"b_ids": case_ids}).all())


def _by_case(conn: Connection, stmt, case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = {}
    for r in conn.execute(stmt, {"b_ids": case_ids}).mappings():
        found.setdefault(r["case_id"], []).append(dict(r))
    return found


def pending_deadlines_of(conn: Connection, case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The pending deadline rows of several cases, by case."""
    return _by_case(conn, _PENDING_DEADLINES_OF, case_ids)


def ready_tasks_of(conn: Connection, case_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The ready task rows of several cases, by case (the columns of TaskRow and of a reminder)."""
    return _by_case(conn, _READY_TASKS_OF, case_ids)


def load_task_and_case(conn: Connection, task_id: int) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A task and its case in one read: the first thing every task command needs."""
    row = conn.execute(_SELECT_TASK_AND_CASE, {"b_task": task_id}).first()
    if row is None:
        return None
    split = len(_TASK_NAMES)
    return dict(zip(_TASK_NAMES, row[:split])), dict(zip(_CASE_NAMES, row[split:]))


class TaskRow(NamedTuple):
    id: int
    spiff_id: str
    name: str
    due_at: datetime | None


def ready_tasks(conn: Connection, case_id: int) -> list[TaskRow]:
    return [TaskRow(*r) for r in conn.execute(_READY_TASKS, {"b_case": case_id})]


def pending_timers(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(_PENDING_TIMERS, {"b_case": case_id}).mappings()]


def complete_task(conn: Connection, task_id: int, at: datetime, by: str) -> None:
    conn.execute(_COMPLETE_TASK, {"b_task": task_id, "b_at": at, "b_by": by})


def set_assignee(conn: Connection, task_id: int, username: str | None) -> None:
    conn.execute(_SET_ASSIGNEE, {"b_task": task_id, "b_user": username})


def set_task_due(conn: Connection, task_id: int, due: datetime | None) -> None:
    conn.execute(_SET_TASK_DUE, {"b_task": task_id, "b_due": due})


def cancel_tasks(conn: Connection, ids: Iterable[int]) -> None:
    conn.execute(_CANCEL_TASKS, {"b_ids": list(ids)})


def set_deadlines(conn: Connection, ids: Iterable[int], status: str, at: datetime | None = None) -> None:
    conn.execute(_SET_DEADLINES, {"b_ids": list(ids), "b_status": status, "b_at": at})


def insert_tasks(conn: Connection, rows: list[dict[str, Any]]):
    return conn.execute(_INSERT_TASKS, rows).all()


def insert_deadlines(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    return list(conn.execute(_INSERT_DEADLINES, rows).scalars())


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_EVENTS, rows)


def insert_case(conn: Connection, row: dict[str, Any]) -> int:
    return conn.execute(_INSERT_CASE, [row]).scalar_one()


def save_case(conn: Connection, case: dict[str, Any], expected_version: int) -> bool:
    """Write the case's mutable columns (workflow state included) if it is still at `expected_version`."""
    with_state = "state" in case  # commands that did not move the workflow leave it as it is
    params = {f"v_{name}": case[name] for name in _MUTABLE if with_state or name != "state"}
    params.update(b_case=case["id"], b_version=expected_version)
    return conn.execute(_SAVE_CASE if with_state else _SAVE_CASE_KEEP_STATE, params).rowcount == 1
