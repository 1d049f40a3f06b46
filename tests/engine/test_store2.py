"""The smaller store's second step (migration 0012): events keyed by (case_id, seq) with 32-byte
hashes, the head hash in bytes, the search index smaller; down and up with cases in the store."""
from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select, text

from engine.store import Case, CaseEvent
from tests.engine.test_compact_store import ROLES, _people, _run, verify_cases_ok
from tests.operations.test_upgrade import alembic_config
from usecases import CLI


def _raw_hashes(system, case_id: int) -> list:
    with system.db.write_engine.connect() as conn:
        return list(conn.execute(text("SELECT hash FROM case_event WHERE case_id = :c ORDER BY seq"),
                                 {"c": case_id}).scalars())


def test_migration_0012_down_and_up_keeps_every_chain_and_case_going(engine_system):
    system = engine_system
    open_id, ready_id = _run(system, 3)
    closed_id, _ = _run(system, 8)
    with system.db.read() as s:
        hashes = list(s.scalars(select(CaseEvent.hash).where(CaseEvent.case_id == open_id).order_by(CaseEvent.seq)))
        head = s.scalar(select(Case.last_event_hash).where(Case.id == open_id))
    assert head == hashes[-1] and all(len(h) == 64 for h in hashes)  # the code sees hex, as before
    assert [bytes(h) for h in _raw_hashes(system, open_id)] == [bytes.fromhex(h) for h in hashes]  # 32 bytes stored
    system.engine.cache.clear()

    with system.db.write_engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0011")
    with system.db.write_engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("case_event")}
        ids = list(conn.execute(text("SELECT id FROM case_event ORDER BY case_id, seq")).scalars())
        stored_head = conn.execute(text("SELECT last_event_hash FROM case_record WHERE id = :c"), {"c": open_id}).scalar()
        terms = conn.execute(text("SELECT COUNT(*) FROM case_search_term")).scalar()
    assert "id" in columns and ids == sorted(ids) and len(set(ids)) == len(ids)
    assert _raw_hashes(system, open_id) == hashes and stored_head == hashes[-1]  # hex again
    assert terms > 0
    assert verify_cases_ok(system)

    with system.db.write_engine.begin() as conn:
        command.upgrade(alembic_config(conn), "head")
    with system.db.write_engine.connect() as conn:
        assert "id" not in {c["name"] for c in inspect(conn).get_columns("case_event")}
        assert inspect(conn).get_pk_constraint("case_event")["constrained_columns"] == ["case_id", "seq"]
    assert [bytes(h) for h in _raw_hashes(system, open_id)] == [bytes.fromhex(h) for h in hashes]
    assert verify_cases_ok(system)
    actors = _people(system)
    with system.db.read() as s:
        version = s.scalar(select(Case.version).where(Case.id == open_id))
    result = system.engine.complete_task(ready_id, {"note": "迁移之后"}, actors[ROLES[3]], expected_version=version)
    assert result.status == "open"
    assert verify_cases_ok(system)
    assert system.services.operations.check(CLI).ok
    assert closed_id
