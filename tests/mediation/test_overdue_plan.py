"""Migration 0023: the overdue list (`cases.search(overdue=True)`) is one statement over the cases
overdue now: one range of ix_case_overdue_by, filtered on the index by the reader's visibility (its
units, what it registered, its own tasks' case ids read once), never a walk of every case with due
work checked in batches. SQLite is given the statistics ANALYZE leaves in a store of 1,000,000 cases
(41,000 with due work); PostgreSQL's plan is asked with sequential scans off (a test store is tiny)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import event, text

from tests.stores import planning_read, sqlite_statistics

CASES = {"ix_case_overdue_by": "41000 1370 3 3 2 1", "ix_case_open_board": "45000 22500 9000 112 8 4 3 3 3",
         "ix_case_owner_due": "45000 11250 1286 1", "ix_case_record_owner": "1000000 250000 1",
         "ix_case_record_jurisdiction": "1000000 3116 1", "ix_case_record_registered_by": "1000000 3125 1",
         "ix_case_created": "1000000 3817 29", "ix_case_closed": "1000000 500000 250000 7247 7247 47",
         "sqlite_autoindex_case_record_1": "1000000 1"}
TASKS = {"ix_task_done": "3700000 1200000 140000 1800 90 2", "ix_task_unit_queue": "45000 150 60 2 1",
         "ix_task_assignee_queue": "45000 4500 10 1", "ix_task_ready_due": "45000 15 2 1",
         "ix_task_open_case": "45000 1 1", "ix_task_case": "3700000 4 4",
         "ix_task_completed_case": "3700000 4000 3", "ix_task_assignee_case": "3700000 400000 4"}


def _statements(system, call) -> list[tuple[str, object]]:
    """The statements `call` sends to the read engine, with their parameters."""
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    engine = system.db.read_engine
    event.listen(engine, "before_cursor_execute", listen)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen


def _plan(system, statement: str, parameters) -> str:
    with planning_read(system) as s:
        if system.db.is_postgres:
            s.execute(text("SET LOCAL enable_seqscan = off"))
            return "\n".join(row[0] for row in s.connection().exec_driver_sql("EXPLAIN " + statement, parameters))
        return "\n".join(str(row[-1]) for row in
                         s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters))


def test_the_overdue_list_reads_the_units_overdue_cases_then_one_range_filtered_on_the_index(system, people):
    sqlite_statistics(system, {"case_record": CASES, "human_task": TASKS})
    services = system.services
    for key in ("town", "village", "county"):  # readers by unit, unit above, registrant and handler
        actor = services.actor_for_token(people[key].token)
        for limit in (50, 1):
            sent = _statements(system, lambda a=actor, n=limit: services.cases.search(a, overdue=True, limit=n))
            overdue = [(sql, p) for sql, p in sent if "overdue_at <=" in sql]
            # the units' overdue cases, then the rest of the visibility: never batches of candidates
            assert len(overdue) == 2, overdue
            units, rest = (_plan(system, *statement) for statement in overdue)
            if system.db.is_postgres:
                # (on a test store's empty statistics either partial index of the due cases serves, as
                # on a real store it may: at 1,000,000 cases a town's first statement reads
                # ix_case_overdue_unit, the county's ix_case_overdue_by; README, migration 0023)
                for plan in (units, rest):
                    assert "ix_case_overdue_unit" in plan or "ix_case_overdue_by" in plan, plan
                    assert "Seq Scan on case_record" not in plan and "pk_case_record" not in plan, plan
                assert "hashed SubPlan" in rest, rest
            else:
                assert "ix_case_overdue_by" in rest, rest
                assert "COVERING INDEX ix_case_overdue_unit (jurisdiction=? AND overdue_at<?)" in units, units
                # the range is read on the index alone; the tasks' case ids once per statement, not per case
                assert "COVERING INDEX ix_case_overdue_by (overdue_at<?)" in rest, rest
                assert "CORRELATED" not in rest and "LIST SUBQUERY" in rest, rest


def test_past_a_page_of_the_units_overdue_cases_the_rest_is_asked_of_newer_cases_only(system, people):
    """When the units' overdue cases fill the page, the other ways of reading a case are asked of the
    cases newer than the page's last only, and of the reader's tasks only those of such cases."""
    from datetime import timedelta

    intake = people["intake"]
    registered = [intake.register()["id"] for _ in range(3)]
    system.clock.advance(timedelta(days=40))  # every step of them is overdue now
    services = system.services
    town = services.actor_for_token(people["town"].token)
    sent = _statements(system, lambda: services.cases.search(town, overdue=True, limit=1))
    overdue = [(sql, p) for sql, p in sent if "overdue_at <=" in sql]
    assert len(overdue) == 2 and "human_task.case_id + " in overdue[1][0], overdue
    items, after = services.cases.search(town, overdue=True, limit=1)
    assert [c["id"] for c in items] == [max(registered)] and after == max(registered)


def test_past_a_page_the_readers_own_tasks_are_read_from_the_pages_last_case_on(system, people):
    """Past a full page of the units' overdue cases, the reader's own tasks (completed, claimed) are
    a range of their (who, case_id) index from the page's last case on, not all they ever did filtered
    (those grow with the years); the unit's unclaimed steps stay a filter on its queue. SQLite with a
    1,000,000-case store's statistics."""
    from datetime import timedelta

    sqlite_statistics(system, {"case_record": CASES, "human_task": TASKS})
    intake = people["intake"]
    registered = [intake.register()["id"] for _ in range(3)]
    system.clock.advance(timedelta(days=40))
    services = system.services
    town = services.actor_for_token(people["town"].token)
    sent = _statements(system, lambda: services.cases.search(town, overdue=True, limit=1))
    overdue = [(sql, p) for sql, p in sent if "overdue_at <=" in sql]
    assert len(overdue) == 2, overdue
    rest = overdue[1][0]
    assert "human_task.completed_by = " in rest and "human_task.assignee = " in rest, rest
    assert "human_task.case_id > " in rest and "human_task.case_id + " in rest, rest
    if not system.db.is_postgres:
        plan = _plan(system, *overdue[1])
        assert "ix_task_completed_case (completed_by=? AND case_id>?)" in plan, plan
        assert "ix_task_assignee_case (assignee=? AND case_id>?)" in plan, plan
        assert "ix_task_unit_queue" in plan and "ix_task_case" not in plan, plan
    items, after = services.cases.search(town, overdue=True, limit=1)
    assert [c["id"] for c in items] == [max(registered)] and after == max(registered)


def _indexes(system) -> set[str]:
    with system.db.read() as s:
        if system.db.is_postgres:
            return set(s.scalars(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                      "AND tablename = 'case_record'")))
        return set(s.scalars(text("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'case_record'")))


def test_migration_0023_can_be_undone(system):
    from alembic import command
    from alembic.config import Config

    import engine.db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    assert "ix_case_overdue_by" in _indexes(system) and "ix_case_overdue" not in _indexes(system)
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0022_board")
    assert "ix_case_overdue" in _indexes(system) and "ix_case_overdue_by" not in _indexes(system)
    system.upgrade()
    assert "ix_case_overdue_by" in _indexes(system) and "ix_case_overdue" not in _indexes(system)


def test_the_cases_of_a_units_unclaimed_steps_are_read_on_its_queue(system, people):
    """Migration 0024: the cases list's branch of a unit's unclaimed open steps (`assignee IS NULL`)
    reads the unit's queue of ready steps, never ix_task_assignee_case, which holds the claimed tasks
    only (over every task, SQLite read every unclaimed step ever done on it, in case order)."""
    sqlite_statistics(system, {"case_record": CASES,
                               "human_task": {**TASKS, "ix_task_assignee_case": "200000 40 4"}})
    services = system.services
    for key in ("town", "village", "county"):
        actor = services.actor_for_token(people[key].token)
        sent = _statements(system, lambda a=actor: services.cases.search(a, limit=50))
        unclaimed = [(sql, p) for sql, p in sent if "assignee IS NULL" in sql and "DISTINCT" in sql]
        assert unclaimed, [sql for sql, _ in sent]
        for statement in unclaimed:
            plan = _plan(system, *statement)
            assert "ix_task_assignee_case" not in plan, plan
            if not system.db.is_postgres:  # PostgreSQL's tiny test store: any index of the ready steps
                assert "ix_task_unit_queue" in plan, plan
