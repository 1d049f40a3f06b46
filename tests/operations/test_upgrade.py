"""Upgrading a county's store made by the previous release: the store of release 0003 (schema
revision 0003, `tests/fixtures/upgrade/store_0003.json.gz`, built by `make_store_0003.py` beside it)
with cases in flight is migrated to the newest revision, whatever it is, and its cases go on: a
step is completed, deadlines fire, the chains verify and `fengqiao check` finds nothing."""
from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import DateTime, MetaData, func, insert, select, text

from engine.store import Case, HumanTask
from tests.conftest import BPMN_DIR
from usecases import CLI

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "store_0003.json.gz"
MIGRATIONS = Path(__file__).resolve().parents[2] / "engine" / "migrations"


def alembic_config(conn) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def load_release_store(system, revision: str) -> None:
    """The schema at `revision`, filled with the rows the release wrote (ids and all)."""
    dump = json.loads(gzip.decompress(FIXTURE.read_bytes()))
    assert dump["revision"] == revision
    with system.db.write_engine.begin() as conn:
        command.upgrade(alembic_config(conn), revision)
    with system.db.write_engine.begin() as conn:
        metadata = MetaData()
        metadata.reflect(conn)
        for name, table_rows in dump["tables"].items():
            table = metadata.tables[name]
            dates = {c.name for c in table.columns if isinstance(c.type, DateTime)}
            rows = [{col: (datetime.fromisoformat(v) if col in dates and v is not None else v)
                     for col, v in zip(table_rows["columns"], row, strict=True)} for row in table_rows["rows"]]
            if rows:
                conn.execute(insert(table), rows)
            if system.db.is_postgres and "id" in table.columns:
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                  f"(SELECT coalesce(max(id), 1) FROM {name}))"))


def test_a_release_0003_store_upgrades_and_its_cases_go_on(database_url):
    system = _bare_system(database_url)
    try:
        load_release_store(system, "0003")
        with system.db.read() as session:
            open_before = session.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
        assert open_before >= 5

        system.upgrade()  # what `fengqiao init` / `serve` does on start: to the newest revision
        with system.db.write_engine.connect() as conn:
            at = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert at == ScriptDirectory.from_config(alembic_config(None)).get_current_head()

        services = system.services
        assert services.operations.check(CLI).ok
        # The village mediator settles the open dispute in their village, as they would have before.
        with system.db.read() as session:
            task = session.execute(select(HumanTask.id, HumanTask.case_id).where(
                HumanTask.status == "ready", HumanTask.name == "mediate", HumanTask.org_unit == "shangzhuang")
                .order_by(HumanTask.id)).first()
            version = session.scalar(select(Case.version).where(Case.id == task.case_id))
        from engine.accounts import actor_of
        from engine.store import User
        with system.db.read() as session:
            mediator = actor_of(session.scalar(select(User).where(User.username == "mediator_village")))
        services.tasks.complete(mediator, task.id, {"result": "agreement", "agreement_form": "oral",
                                                    "agreement_text": "当场履行", "difficulty": "simple"}, version)
        with system.db.read() as session:
            steps = set(session.scalars(select(HumanTask.name).where(HumanTask.case_id == task.case_id,
                                                                     HumanTask.status == "ready")))
        assert steps == {"judicial_confirmation"}

        # Time passes: the other cases' deadlines, set by the old release, fire under the new one.
        system.clock.advance(timedelta(days=40))
        assert system.sweep() >= 1
        verified = services.audit.verify(CLI)
        assert verified["ok"] and verified["cases_checked"] >= open_before
        report = services.operations.check(CLI)
        assert report.ok, [str(f) for f in report.findings]
    finally:
        system.close()


def _bare_system(database_url: str):
    """A System on an empty store, not migrated (make_system would migrate it to the newest revision)."""
    from engine.config import Settings
    from usecases import Services
    from workflows import build_system
    system = build_system(Settings(database_url=database_url, simulated_clock=True, bpmn_dir=BPMN_DIR))
    system.services = Services(system)
    return system
