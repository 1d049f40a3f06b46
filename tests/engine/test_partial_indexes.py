"""Migration 0016: the indexes over open work hold only the ready steps and pending deadlines, and the
history's lookups by kind have an index per kind; the queries name the status or kind as a literal
(engine/store.py: `Code`), so both planners use them."""
from __future__ import annotations

from sqlalchemy import select, text

from engine import deadlines
from engine.store import CaseEvent, Deadline, HumanTask
from tests.stores import planning_read, sqlite_statistics


def _plan(system, statement) -> str:
    with planning_read(system) as s:
        sql = str(statement.compile(dialect=s.bind.dialect, compile_kwargs={"literal_binds": True}))
        if system.db.is_postgres:
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a handful of rows: show the index is usable
            return "\n".join(s.scalars(text("EXPLAIN " + sql)))
        return "\n".join(str(row[-1]) for row in s.execute(text("EXPLAIN QUERY PLAN " + sql)))


def test_the_status_and_kind_are_written_as_literals():
    for statement, literal in ((select(HumanTask.id).where(HumanTask.status == "ready"), "'ready'"),
                               (select(Deadline.id).where(Deadline.status == "pending"), "'pending'"),
                               (select(CaseEvent.seq).where(CaseEvent.kind == "owner_changed"), "'owner_changed'")):
        assert literal in str(statement.compile(compile_kwargs={"render_postcompile": True}))


def _statistics_of_a_store(system) -> None:
    """On SQLite the planner statistics ANALYZE leaves in a store of 80,000 steps of which 1,000 are
    ready and 960,000 events (an empty store has none, and then SQLite takes a partial index for as
    big as its table)."""
    stats = {"ix_task_done": "80000 26000 3000 40 2 2", "ix_task_unit_queue": "1000 4 3 2 1",
             "ix_task_assignee_queue": "1000 100 10 1", "ix_task_ready_due": "1000 15 2 1",
             "ix_task_open_case": "1000 1 1", "ix_task_case": "80000 4 4",
             "ix_task_completed_case": "80000 100 3", "ix_task_assignee_case": "80000 9000 4"}
    events = {"sqlite_autoindex_case_event_1": "960000 12 1", "ix_case_event_owner_changed": "1500 1 1",
              "ix_case_event_backlog_marked": "800 1 1", "ix_case_event_message_at": "10000 1 1"}
    sqlite_statistics(system, {"human_task": stats, "case_event": events})


def test_the_read_paths_of_open_work_use_the_partial_indexes(engine_system):
    _statistics_of_a_store(engine_system)
    worklist = (select(HumanTask.id).where(HumanTask.status == "ready", HumanTask.org_unit == "u1",
                                           HumanTask.role == "mediator", HumanTask.assignee.is_(None))
                .order_by(HumanTask.due_at, HumanTask.id).limit(50))
    claimed = (select(HumanTask.id).where(HumanTask.assignee == "someone", HumanTask.status == "ready")
               .order_by(HumanTask.due_at, HumanTask.id).limit(50))
    overdue = select(HumanTask.case_id).where(HumanTask.status == "ready", HumanTask.due_at.is_not(None),
                                              HumanTask.due_at < text("'2026-01-01'"))
    newest_owner = (select(CaseEvent.seq).where(CaseEvent.case_id == 1, CaseEvent.kind == "owner_changed")
                    .order_by(CaseEvent.seq.desc()).limit(1))
    backlog = select(CaseEvent.case_id).where(CaseEvent.kind == "backlog_marked")
    # The overdue steps' case ids: either partial index over ready steps holds them.
    for statement, indexes in ((worklist, {"ix_task_unit_queue"}), (claimed, {"ix_task_assignee_queue"}),
                               (overdue, {"ix_task_ready_due", "ix_task_open_case"}),
                               (deadlines._NEXT_DUE, {"ix_deadline_due"}),
                               (newest_owner, {"ix_case_event_owner_changed"}),
                               (backlog, {"ix_case_event_backlog_marked"})):
        plan = _plan(engine_system, statement)
        assert any(index in plan for index in indexes), (indexes, plan)


def test_the_partial_indexes_hold_only_open_rows(engine_system):
    with engine_system.db.read() as s:
        if engine_system.db.is_postgres:
            rows = dict(s.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                                       "current_schema() AND tablename IN ('human_task', 'deadline', 'case_event')")).all())
        else:
            rows = dict(s.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                                       "tbl_name IN ('human_task', 'deadline', 'case_event') AND sql IS NOT NULL")).all())
    for name in ("ix_task_unit_queue", "ix_task_assignee_queue", "ix_task_ready_due", "ix_task_open_case"):
        assert "'ready'" in rows[name], rows[name]
    for name in ("ix_deadline_due", "ix_deadline_warning"):
        assert "'pending'" in rows[name], rows[name]
    assert "ix_case_event_kind" not in rows and "'owner_changed'" in rows["ix_case_event_owner_changed"]
