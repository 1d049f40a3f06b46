"""The statements a command runs, built once and executed on the connection.

Commands are the hot path (ARCHITECTURE.md: a handful of statements, one commit). Going
through the ORM for these costs more than the statements themselves, so the engine's writes
use these prebuilt Core statements with bound parameters; the ORM stays for queries and admin.
The statements every command runs (reading the task and case, completing the task, inserting tasks
and events, saving the case) go further: `Prepared` compiles them once per dialect and hands their
parameters to the driver itself.
"""
from __future__ import annotations

import json
from datetime import datetime
from operator import itemgetter
from typing import Any, Iterable, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from .audit import StoredJSON
from .store import Case, CaseCounter, CaseEvent, CaseLink, Deadline, Definition, HumanTask

class Prepared:
    """A Core statement compiled once per dialect and run on the connection's DBAPI cursor.

    SQLAlchemy's compiled cache is hit for these statements, but each execution still builds an
    execution context, its parameters and its result object (about a quarter of a cached command's
    time). The hot path's statements are fixed, so this keeps, per dialect, the SQL text, the order of
    its parameters and the type processors of its parameters and result columns — exactly the ones
    SQLAlchemy's own execution would apply — and hands the parameters to the driver itself, in the
    connection's transaction. Errors come back wrapped as SQLAlchemy's (sqlalchemy.exc.DBAPIError …).

    An INSERT is compiled for the columns of the rows it is given; a column left out that has a
    Python-side default is not supported here (the callers pass every such column)."""

    __slots__ = ("stmt", "_compiled", "_raw")

    def __init__(self, stmt, raw: tuple[str, ...] = ()):
        """`raw`: parameters handed to the driver as given, without their type's processing (JSON
        columns given their text already)."""
        self.stmt = stmt
        self._raw = raw
        self._compiled: dict[tuple, tuple] = {}

    def _prepare(self, dialect, keys: tuple[str, ...] | None):
        key = (dialect.name, dialect.paramstyle, keys)
        found = self._compiled.get(key)
        if found is not None:
            return found
        compiled = self.stmt.compile(dialect=dialect, column_keys=list(keys) if keys is not None else None)
        if keys is not None:
            table = self.stmt.table
            missing = [c.name for c in table.columns if c.name not in keys and c.default is not None
                       and not c.primary_key]
            if missing:
                raise ValueError(f"{table.name}: rows without {missing}, whose defaults the store sets")
        processors = {k: v for k, v in compiled._bind_processors.items() if k not in self._raw}
        statics = {name: bp.value for name, bp in compiled.binds.items()  # literal values of the statement
                   if not bp.required and bp.callable is None and bp.value is not None}
        names = list(compiled.positiontup) if compiled.positional else list(compiled.bind_names.values())
        # (name, its processor or None, its static value or a marker that the caller gives it)
        params = tuple((name, processors.get(name), statics.get(name, _GIVEN)) for name in names)
        results = tuple(entry[3]._cached_result_processor(dialect, None) for entry in compiled._result_columns)
        result_names = tuple(entry[0] for entry in compiled._result_columns)
        found = self._compiled[key] = (compiled.string, _binder(params, compiled.positional), _converter(results),
                                       bool(results), result_names)
        return found

    def _run(self, conn: Connection, keys, fn):
        dialect = conn.dialect
        sql, bind, convert, returns, _names = self._prepare(dialect, keys)
        cursor = conn.connection.dbapi_connection.cursor()
        try:
            return fn(cursor, sql, bind, convert, returns)
        except dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error,
                                      dialect=dialect) from exc
        finally:
            cursor.close()

    def execute(self, conn: Connection, given: dict[str, Any]) -> int:
        """Run with one set of parameters; the count of rows it changed."""
        def run(cursor, sql, bind, _convert, _returns):
            cursor.execute(sql, bind(given))
            return cursor.rowcount
        return self._run(conn, None, run)

    def rows(self, conn: Connection, given: dict[str, Any]) -> list[tuple]:
        """Run a query; its rows as tuples, each value as SQLAlchemy would give it."""
        def run(cursor, sql, bind, convert, _returns):
            cursor.execute(sql, bind(given))
            return [convert(row) for row in cursor.fetchall()]
        return self._run(conn, None, run)

    def columns(self, conn: Connection) -> tuple[str, ...]:
        return self._prepare(conn.dialect, None)[4]

    def insert(self, conn: Connection, rows: list[dict[str, Any]]) -> list[tuple]:
        """Insert the rows one by one (each in its own order, RETURNING what the statement returns);
        every row must have the same keys."""
        keys = tuple(rows[0])

        def run(cursor, sql, bind, convert, returns):
            out = []
            for row in rows:
                cursor.execute(sql, bind(row))
                if returns:
                    out.append(convert(cursor.fetchone()))
            return out
        return self._run(conn, keys, run)

    def insert_many(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        """Insert the rows with one executemany (nothing returned); every row must have the same keys."""
        keys = tuple(rows[0])

        def run(cursor, sql, bind, _convert, _returns):
            cursor.executemany(sql, [bind(row) for row in rows])
        return self._run(conn, keys, run)


def _binder(params, positional: bool):
    """A function from the caller's parameters (a dict by name) to the driver's (a list in order, or a
    dict), each value put through its type's processor (None stays None), static values filled in:
    exactly what a loop over `params` would give, with the loop done once here."""
    given = [(i, name) for i, (name, _proc, static) in enumerate(params) if static is _GIVEN]
    procs = tuple((i if positional else name, proc) for i, (name, proc, _static) in enumerate(params)
                  if proc is not None)
    if positional:
        template = [None if static is _GIVEN else static for _name, _proc, static in params]
        if len(given) == len(params):  # the common case: every value is the caller's
            if not params:
                return lambda _values: []
            getter = itemgetter(*(name for _i, name in given))
            first = (lambda values: [getter(values)]) if len(params) == 1 else (lambda values: list(getter(values)))
        else:
            def first(values):
                out = template.copy()
                for i, name in given:
                    out[i] = values[name]
                return out
    else:
        statics = {name: static for name, _proc, static in params if static is not _GIVEN}
        names = tuple(name for _i, name in given)

        def first(values):
            out = {name: values[name] for name in names}
            if statics:
                out.update(statics)
            return out
    if not procs:
        return first

    def bind(values):
        out = first(values)
        for at, proc in procs:
            value = out[at]
            if value is not None:
                out[at] = proc(value)
        return out
    return bind


def _converter(results):
    """A function from a driver's row to the tuple SQLAlchemy would give (each column's processor)."""
    procs = tuple((i, proc) for i, proc in enumerate(results) if proc is not None)
    if not procs:
        return tuple

    def convert(row):
        out = list(row)
        for i, proc in procs:
            value = out[i]
            if value is not None:
                out[i] = proc(value)
        return tuple(out)
    return convert


_GIVEN = object()


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
_INSERT_CASE = insert(case_t).returning(*_CASE_COLUMNS)  # the row as a read gives it: no read back
_MUTABLE = ("state", "status", "outcome", "level", "jurisdiction", "owner", "flags", "data", "closed_at",
            "version", "updated_at", "last_event_seq", "last_event_hash", "repeat_of", "withheld_from", "search_text",
            "next_due_at", "overdue_at")
# The mutable columns that case_record's indexes hold: SQLite rewrites an index's entry for every column an
# UPDATE sets, changed or not (an entry deleted and put back, its page written to the log at the commit),
# so a command leaves out of its UPDATE those it did not change (`save_case`).
INDEXED = ("status", "outcome", "jurisdiction", "owner", "closed_at", "next_due_at", "overdue_at")
_SAVES: dict[tuple[str, ...], Prepared] = {}  # by the columns set: a handful of variants in practice


def _save_statement(columns: tuple[str, ...]) -> Prepared:
    found = _SAVES.get(columns)
    if found is None:
        found = _SAVES[columns] = Prepared(
            update(case_t).where(case_t.c.id == bindparam("b_case"), case_t.c.version == bindparam("b_version"))
            .values({name: bindparam(f"v_{name}") for name in columns}))
    return found


_FAST_SELECT_CASE, _FAST_SELECT_STATE = Prepared(_SELECT_CASE), Prepared(_SELECT_STATE)
_FAST_TASK_AND_CASE, _FAST_READY_TASKS = Prepared(_SELECT_TASK_AND_CASE), Prepared(_READY_TASKS)
_FAST_PENDING_TIMERS, _FAST_COMPLETE_TASK = Prepared(_PENDING_TIMERS), Prepared(_COMPLETE_TASK)
_FAST_SET_ASSIGNEE, _FAST_SET_TASK_DUE = Prepared(_SET_ASSIGNEE), Prepared(_SET_TASK_DUE)
_FAST_INSERT_TASKS, _FAST_INSERT_EVENTS = Prepared(_INSERT_TASKS), Prepared(_INSERT_EVENTS)
_FAST_INSERT_EVENTS_TEXT = Prepared(_INSERT_EVENTS, raw=("data",))
_FAST_INSERT_CASE = Prepared(_INSERT_CASE)
_TASK_DEFAULTS = {"level": None, "assignee": None, "status": "ready", "title": ""}
_CASE_DEFAULTS = {"status": "open", "flags": [], "data": {}, "version": 1, "last_event_seq": 0, "last_event_hash": "",
                  "state": b""}


class OpenedTask(NamedTuple):
    id: int
    name: str
    role: str
    org_unit: str | None


def load_case(conn: Connection, case_id: int) -> dict[str, Any] | None:
    found = _FAST_SELECT_CASE.rows(conn, {"b_case": case_id})
    return dict(zip(_CASE_NAMES, found[0])) if found else None


def load_state(conn: Connection, case_id: int) -> bytes | str | None:
    """The case's stored workflow state (engine/state_codec.py decodes it)."""
    found = _FAST_SELECT_STATE.rows(conn, {"b_case": case_id})
    return found[0][0] if found else None


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
    found = _FAST_TASK_AND_CASE.rows(conn, {"b_task": task_id})
    if not found:
        return None
    row = found[0]
    split = len(_TASK_NAMES)
    return dict(zip(_TASK_NAMES, row[:split])), dict(zip(_CASE_NAMES, row[split:]))


class TaskRow(NamedTuple):
    id: int
    spiff_id: str
    name: str
    due_at: datetime | None


def due_columns(tasks, timers) -> dict[str, datetime | None]:
    """`case_record.next_due_at` and `overdue_at` of a case whose ready steps are `tasks` (TaskRows)
    and pending deadlines `timers` (rows): the soonest due of the steps, and of steps and deadlines."""
    steps = min((t.due_at for t in tasks if t.due_at is not None), default=None)
    deadlines = min((d["due_at"] for d in timers), default=None)
    return {"next_due_at": steps, "overdue_at": min((d for d in (steps, deadlines) if d is not None), default=None)}


def ready_tasks(conn: Connection, case_id: int) -> list[TaskRow]:
    return [TaskRow(*r) for r in _FAST_READY_TASKS.rows(conn, {"b_case": case_id})]


def pending_timers(conn: Connection, case_id: int) -> list[dict[str, Any]]:
    names = _FAST_PENDING_TIMERS.columns(conn)
    return [dict(zip(names, r)) for r in _FAST_PENDING_TIMERS.rows(conn, {"b_case": case_id})]


def complete_task(conn: Connection, task_id: int, at: datetime, by: str) -> None:
    _FAST_COMPLETE_TASK.execute(conn, {"b_task": task_id, "b_at": at, "b_by": by})


def set_assignee(conn: Connection, task_id: int, username: str | None) -> None:
    _FAST_SET_ASSIGNEE.execute(conn, {"b_task": task_id, "b_user": username})


def set_task_due(conn: Connection, task_id: int, due: datetime | None) -> None:
    _FAST_SET_TASK_DUE.execute(conn, {"b_task": task_id, "b_due": due})


def cancel_tasks(conn: Connection, ids: Iterable[int]) -> None:
    conn.execute(_CANCEL_TASKS, {"b_ids": list(ids)})


def set_deadlines(conn: Connection, ids: Iterable[int], status: str, at: datetime | None = None) -> None:
    conn.execute(_SET_DEADLINES, {"b_ids": list(ids), "b_status": status, "b_at": at})


def insert_tasks(conn: Connection, rows: list[dict[str, Any]]) -> list[OpenedTask]:
    """Insert task rows (in order); each one's id, name, role and org unit."""
    return [OpenedTask(*r) for r in _FAST_INSERT_TASKS.insert(conn, [{**_TASK_DEFAULTS, **r} for r in rows])]


def insert_deadlines(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    return list(conn.execute(_INSERT_DEADLINES, rows).scalars())


def insert_events(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert event rows (audit.chain_rows); data given as audit.StoredJSON text is stored as it is."""
    if not rows:
        return
    if all(isinstance(r["data"], StoredJSON) for r in rows):
        _FAST_INSERT_EVENTS_TEXT.insert_many(conn, rows)
    else:
        _FAST_INSERT_EVENTS.insert_many(conn, [{**r, "data": json.loads(r["data"])}
                                               if isinstance(r["data"], StoredJSON) else r for r in rows])


def insert_case(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """Insert a case; the row as `load_case` reads it (without its state)."""
    return dict(zip(_CASE_NAMES, _FAST_INSERT_CASE.insert(conn, [{**_CASE_DEFAULTS, **row}])[0]))


def save_case(conn: Connection, case: dict[str, Any], expected_version: int,
              found: dict[str, Any] | None = None) -> bool:
    """Write the case's mutable columns (workflow state included) if it is still at `expected_version`.

    `found`: the INDEXED columns as the command found them; those still the same are not written."""
    with_state = "state" in case  # commands that did not move the workflow leave it as it is
    columns = tuple(name for name in _MUTABLE if (with_state or name != "state")
                    and (found is None or name not in found or found[name] != case[name]))
    params = {f"v_{name}": case[name] for name in columns}
    params.update(b_case=case["id"], b_version=expected_version)
    return _save_statement(columns).execute(conn, params) == 1


# ---------------------------------------------------------------- what registering a case reads and writes
_definition_t, _counter_t, _link_t = Definition.__table__, CaseCounter.__table__, CaseLink.__table__
_FAST_LATEST = Prepared(select(_definition_t.c.id, _definition_t.c.version)
                        .where(_definition_t.c.process_key == bindparam("b_key"))
                        .order_by(_definition_t.c.version.desc()).limit(1))
_FAST_LINKING = Prepared(select(_link_t.c.case_id).where(_link_t.c.linked_case_id == bindparam("b_case"))
                         .order_by(_link_t.c.id))


def _counter_upsert(insert_of):
    stmt = insert_of(_counter_t).values(type=bindparam("b_type"), year=bindparam("b_year"), last=1)
    return Prepared(stmt.on_conflict_do_update(index_elements=["type", "year"], set_={"last": _counter_t.c.last + 1})
                    .returning(_counter_t.c.last))


_FAST_NEXT_NUMBER = {"sqlite": _counter_upsert(sqlite_insert), "postgresql": _counter_upsert(pg_insert)}


def latest_definition(conn: Connection, process_key: str) -> tuple[int, int] | None:
    """(id, version) of a process's newest deployed definition, without reading its spec."""
    found = _FAST_LATEST.rows(conn, {"b_key": process_key})
    return found[0] if found else None


def next_number(conn: Connection, case_type: str, year: int) -> int:
    """The next sequence number of a case type in a year (engine/numbering.py formats it)."""
    return _FAST_NEXT_NUMBER[conn.dialect.name].rows(conn, {"b_type": case_type, "b_year": year})[0][0]


def linking_cases(conn: Connection, case_id: int) -> list[int]:
    """The cases that opened this one (a petition that opened a mediation), oldest link first."""
    return [r[0] for r in _FAST_LINKING.rows(conn, {"b_case": case_id})]
