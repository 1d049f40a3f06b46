"""Migration 0028: PostgreSQL's search index expression costed as the work it is, so that the planner asks
the GIN index for a search's candidates instead of computing every row's terms along the primary key."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

import engine.db as engine_db


def _search_terms_cost(system) -> float:
    with system.db.write_engine.connect() as conn:
        return conn.scalar(text("SELECT procost FROM pg_proc WHERE oid = 'fq_search_terms(text, text)'::regprocedure"))


def test_the_search_terms_function_is_costed_as_its_work_and_the_migration_can_be_undone(engine_system):
    """Migration 0028: at its default cost the planner could walk the primary key computing it on every row."""
    from alembic import command
    from alembic.config import Config
    if not engine_system.db.is_postgres:
        # SQLite's index is a table of terms: the migration leaves it as it is, down and up again.
        cfg = Config()
        cfg.set_main_option("script_location", str(Path(engine_db.__file__).parent / "migrations"))
        with engine_system.db.write_engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0027_tally")
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == "0027_tally"
        engine_system.upgrade()
        with engine_system.db.read() as s:
            assert s.scalar(text("SELECT version_num FROM alembic_version")) == "0028_loadtest"
            assert s.scalar(text("SELECT count(*) FROM sqlite_master WHERE name = 'case_search_term'")) == 1
        return
    assert _search_terms_cost(engine_system) == 1000
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine_db.__file__).parent / "migrations"))
    with engine_system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0027_tally")
    assert _search_terms_cost(engine_system) == 100
    engine_system.upgrade()
    assert _search_terms_cost(engine_system) == 1000
