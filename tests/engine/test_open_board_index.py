"""Migration 0019: the petition board's aggregate and the dashboard's overdue petitions per owner read
ix_case_open_board (the open cases with every column they name) and, on SQLite, never the case rows;
the index holds only open cases. Migration 0020: a unit's, owner's or registrar's cases newest first
are one range of an index on both stores."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, literal_column, select, text

from engine.store import Case, HumanTask
from tests.stores import planning_read, sqlite_statistics
from workflows import petition_board
from workflows.petition_board import OPEN, overdue_sql

NOW = datetime(2026, 9, 18, 1, 0, tzinfo=UTC)


def _plan(system, statement) -> str:
    with planning_read(system) as s:
        sql = str(statement.compile(dialect=s.bind.dialect, compile_kwargs={"literal_binds": True}))
        if system.db.is_postgres:
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a handful of rows: show the index is usable
            return "\n".join(s.scalars(text("EXPLAIN " + sql)))
        return "\n".join(str(row[-1]) for row in s.execute(text("EXPLAIN QUERY PLAN " + sql)))


def _statistics_of_a_store(system) -> None:
    """SQLite's statistics of a store of 1,000,000 cases of which 45,000 are open (as ANALYZE leaves them)."""
    stats = {"ix_case_open_board": "45000 22500 9000 112 8 4 3 3 3", "ix_case_owner_due": "45000 11250 1286 1",
             "ix_case_open_due": "45000 22500 30 3 2 2 2", "ix_case_open_age": "45000 22500 10 3 2 2 2",
             "ix_case_overdue_by": "41000 1370 3 3 2 1", "ix_case_record_owner": "1000000 250000 1",
             "ix_case_record_jurisdiction": "1000000 3116 1", "ix_case_record_registered_by": "1000000 3125 1",
             "ix_case_created": "1000000 3817 29", "ix_case_closed": "1000000 500000 250000 7247 7247 47",
             "sqlite_autoindex_case_record_1": "1000000 1"}
    sqlite_statistics(system, {"case_record": stats})


def test_the_board_and_the_overdue_petitions_per_owner_read_the_open_cases_index(engine_system):
    _statistics_of_a_store(engine_system)
    # A town office's visibility: its units, what it registered, its own tasks' cases (read once).
    tasks = select(HumanTask.case_id).where(HumanTask.completed_by == "officer")
    visible = (Case.jurisdiction.in_(["t1", "v1"]) | (Case.registered_by == "officer") | Case.id.in_(tasks))
    board = petition_board.board_query(visible, NOW, flags=("repeat",), units=["t1", "v1"])
    late = (select(Case.owner, func.count()).where(Case.type == "petition", Case.status == literal_column(f"'{OPEN}'"),
                                                    overdue_sql(NOW)).group_by(Case.owner))
    for statement in (board, late):
        plan = _plan(engine_system, statement)
        assert "ix_case_open_board" in plan, plan
        if not engine_system.db.is_postgres:
            assert "COVERING INDEX ix_case_open_board" in plan, plan


def test_the_index_holds_only_open_cases(engine_system):
    with engine_system.db.read() as s:
        if engine_system.db.is_postgres:
            found = s.scalar(text("SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                                  "AND indexname = 'ix_case_open_board'"))
            assert "INCLUDE (flags, id)" in found, found
        else:
            found = s.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'ix_case_open_board'"))
    assert "'open'" in found, found


def test_a_columns_cases_newest_first_are_one_range_of_its_index(engine_system):
    """The cases list's branches on the case's own columns: `column = x ORDER BY id DESC LIMIT n` reads
    its index backwards (no sort, no walk of the primary key filtering every case)."""
    _statistics_of_a_store(engine_system)
    for column, index in ((Case.jurisdiction, "ix_case_record_jurisdiction"), (Case.owner, "ix_case_record_owner"),
                          (Case.registered_by, "ix_case_record_registered_by")):
        plan = _plan(engine_system, select(Case.id).where(column == "v1").order_by(Case.id.desc()).limit(51))
        assert index in plan, plan
        assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan


def test_the_board_s_figures_that_change_with_time_are_ranges_of_their_indexes(engine_system):
    """Migration 0022: the kept board reads the petitions due within a week or past due as a range of
    their soonest due time, and those older than the backlog period as a range of their registration
    time (ix_case_open_due, ix_case_open_age), for all units and a town's with a flag (for a few units
    SQLite may read each unit's entries of ix_case_open_board instead); on SQLite never the case rows."""
    _statistics_of_a_store(engine_system)
    for units, flags in ((None, ()), (["t1", "v1"], ("repeat",))):
        due, aged = petition_board.timed_queries(petition_board.open_petitions(None, flags=flags, units=units), NOW)
        for statement, column, index in ((due, "next_due_at", "ix_case_open_due"),
                                         (aged, "created_at", "ix_case_open_age")):
            plan = _plan(engine_system, statement)
            if engine_system.db.is_postgres:
                assert "ix_case_open_" in plan and f"{column} <" in plan, plan
            else:
                assert "COVERING INDEX ix_case_open_" in plan, plan
                if units is None:
                    assert f"COVERING INDEX {index}" in plan and f"{column}<?" in plan, plan
                else:
                    assert f"{column}<?" in plan or "jurisdiction=?" in plan, plan
