"""`fengqiao backup PATH` while the service works, `fengqiao restore PATH` into an empty store: the
restored store passes `fengqiao check` and `audit verify` and shows the same cases."""
from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from engine.store import Case
from tests.conftest import PG_URL
from usecases import CLI


@contextmanager
def empty_store(database_url: str, tmp_path):
    """The URL of an empty store beside the test's: a new SQLite file, or on PostgreSQL a new database
    whose search_path names the test's schema (a dump restores into the schema it was taken from)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    name = f"fq_restore_{uuid.uuid4().hex[:10]}"
    admin = create_engine(make_url(PG_URL).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def cases_of(database_url: str) -> list[tuple]:
    engine = create_engine(make_url(database_url).set(drivername="postgresql+psycopg")
                           if database_url.startswith("postgresql") else database_url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(select(Case.id, Case.number, Case.type, Case.status, Case.version,
                                                          Case.last_event_hash).order_by(Case.id))]
    finally:
        engine.dispose()


def keep_working(store, stop: threading.Event, done: list[int]) -> None:
    """A user looking at cases while the backup runs: each look is a command with an event."""
    with store.db.read() as session:
        case_ids = list(session.scalars(select(Case.id).order_by(Case.id)))
    while not stop.is_set():
        for case_id in case_ids:
            store.engine.record_event(case_id, "pii_viewed", {"by": "soak"}, CLI)
            done.append(case_id)


def test_backup_while_the_service_works_restores_whole(store, fengqiao, tmp_path, monkeypatch):
    stop, done = threading.Event(), []
    worker = threading.Thread(target=keep_working, args=(store, stop, done))
    worker.start()
    try:
        backup = fengqiao("backup", str(tmp_path / "county.backup"))
    finally:
        stop.set()
        worker.join()
    assert backup.code == 0, backup.err
    assert "已备份 / backed up" in backup.out and done, backup.out

    with empty_store(store.settings.database_url, tmp_path) as target:
        monkeypatch.setenv("FENGQIAO_DATABASE_URL", target)
        restored = fengqiao("restore", str(tmp_path / "county.backup"))
        assert restored.code == 0, restored.err
        check = fengqiao("check")
        assert check.code == 0, check.out
        verify = fengqiao("audit", "verify")
        assert verify.code == 0 and "正常 / ok" in verify.out, verify.out
        copied = cases_of(target)
        # The same cases, each as one committed state of the source left it (no later than now).
        now = {row[0]: row for row in cases_of(store.settings.database_url)}
        assert [row[:4] for row in copied] == [row[:4] for row in now.values()]
        assert all(row[4] <= now[row[0]][4] for row in copied)

        again = fengqiao("restore", str(tmp_path / "county.backup"))
        assert again.code == 1 and "不是空的" in again.err and "not empty" in again.err, again.err


def test_a_backup_never_overwrites_and_a_restore_wants_a_backup(store, fengqiao, tmp_path, monkeypatch):
    path = tmp_path / "county.backup"
    assert fengqiao("backup", str(path)).code == 0
    size = path.stat().st_size
    again = fengqiao("backup", str(path))
    assert again.code == 1 and "exists" in again.err and path.stat().st_size == size

    (tmp_path / "notes.txt").write_text("not a backup")
    with empty_store(store.settings.database_url, tmp_path) as target:
        monkeypatch.setenv("FENGQIAO_DATABASE_URL", target)
        wrong = fengqiao("restore", str(tmp_path / "notes.txt"))
        assert wrong.code == 1 and "not a" in wrong.err, wrong.err
        missing = fengqiao("restore", str(tmp_path / "nothing.backup"))
        assert missing.code == 1 and "no such backup file" in missing.err


def test_restore_refuses_the_store_it_would_overwrite(store, fengqiao, tmp_path):
    path = tmp_path / "county.backup"
    assert fengqiao("backup", str(path)).code == 0
    before = cases_of(store.settings.database_url)
    refused = fengqiao("restore", str(path))
    assert refused.code == 1 and "restore only into an empty store" in refused.err
    assert cases_of(store.settings.database_url) == before


def test_only_admins_back_up(store, tmp_path):
    from engine.application import Actor
    from engine.errors import Forbidden
    with pytest.raises(Forbidden):
        store.services.operations.backup(Actor("auditor1", frozenset({"auditor"})), tmp_path / "x.backup")
    assert not (tmp_path / "x.backup").exists()
