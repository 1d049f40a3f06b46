"""The indexes that find a case's newest event of a kind without reading a long history (issue 16):
since migration 0016 one small partial index per kind looked up so, in place of one over every event."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, select

import engine.db
from engine.store import INDEXED_EVENT_KINDS, CaseEvent

PARTIAL = {f"ix_case_event_{kind}" for kind in INDEXED_EVENT_KINDS}


def _indexes(system) -> set[str]:
    with system.db.write_engine.connect() as conn:
        return {i["name"] for i in inspect(conn).get_indexes("case_event")}


def _downgrade(system, revision: str) -> None:
    from alembic import command
    from alembic.config import Config
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_the_event_kind_indexes_are_migrated_and_can_be_undone(engine_system):
    assert PARTIAL <= _indexes(engine_system) and "ix_case_event_kind" not in _indexes(engine_system)
    _downgrade(engine_system, "0015")
    assert "ix_case_event_kind" in _indexes(engine_system) and not PARTIAL & _indexes(engine_system)
    _downgrade(engine_system, "0003")
    assert "ix_case_event_kind" not in _indexes(engine_system)
    engine_system.upgrade()
    assert PARTIAL <= _indexes(engine_system) and "ix_case_event_kind" not in _indexes(engine_system)


def test_a_lookup_by_kind_names_the_kind_as_a_literal():
    """So that either planner may use the kind's partial index (a parameter would not match it)."""
    sql = str(select(CaseEvent.seq).where(CaseEvent.case_id == 1, CaseEvent.kind == "owner_changed")
              .compile(compile_kwargs={}))
    assert "kind = 'owner_changed'" in sql
