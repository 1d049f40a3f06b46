"""The index that finds a case's newest event of a kind without reading a long history (issue 16)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect

import engine.db


def _indexes(system) -> set[str]:
    with system.db.write_engine.connect() as conn:
        return {i["name"] for i in inspect(conn).get_indexes("case_event")}


def test_the_event_kind_index_is_migrated_and_can_be_undone(engine_system):
    from alembic import command
    from alembic.config import Config

    assert "ix_case_event_kind" in _indexes(engine_system)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    with engine_system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0003")
    assert "ix_case_event_kind" not in _indexes(engine_system)
    engine_system.upgrade()
    assert "ix_case_event_kind" in _indexes(engine_system)
