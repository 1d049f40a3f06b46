"""PostgreSQL's pooled connections (engine/db.py): a read costs no transaction, a checkout no round trip,
and a connection the server ended is still replaced before anyone uses it."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

import engine.db as engine_db
from engine.config import Settings
from engine.db import Database
from engine.store import Setting
from tests.conftest import PG_URL, fresh_postgres_schema


@pytest.fixture
def postgres_url():
    """PostgreSQL only (SQLite has no server to lose a connection to): a fresh schema."""
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        yield url


@pytest.fixture
def db(postgres_url):
    found = Database(Settings(database_url=postgres_url))
    with found.write_engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS setting (key VARCHAR PRIMARY KEY, value VARCHAR)"))
    yield found
    found.dispose()


@pytest.fixture
def opened(db):
    """How many connections the pool opens from here on (a list, to read after the fact); it holds one."""
    count = [0]
    event.listen(db.write_engine, "connect", lambda *_a: count.__setitem__(0, count[0] + 1))
    return count


@pytest.fixture
def pings(db, monkeypatch):
    count = [0]
    real = db.write_engine.dialect.do_ping

    def counted(dbapi_conn):
        count[0] += 1
        return real(dbapi_conn)
    monkeypatch.setattr(db.write_engine.dialect, "do_ping", counted)
    return count


def _backend(db) -> int:
    with db.read() as s:
        return s.scalar(text("SELECT pg_backend_pid()"))


def _end_backend(db, pid: int) -> None:
    """End the server's side of a pooled connection, as a restart or an idle timeout would, and wait
    until it has gone (its goodbye is on the client's socket by then)."""
    admin = create_engine(make_url(db.url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            assert conn.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            deadline = time.monotonic() + 60  # a condition waited for, not a delay
            while conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}):
                assert time.monotonic() < deadline, "the backend did not end"
                time.sleep(0.05)
    finally:
        admin.dispose()


def test_a_read_runs_outside_a_transaction_and_a_write_inside_one(db):
    with db.read() as s:
        s.execute(select(Setting.key)).all()
        raw = s.connection().connection.dbapi_connection
        assert raw.info.transaction_status.name == "IDLE"  # no BEGIN was sent, no ROLLBACK will be
    with db.write() as s:
        s.execute(select(Setting.key)).all()
        assert s.connection().connection.dbapi_connection.info.transaction_status.name == "INTRANS"
        s.add(Setting(key="k", value="v"))
    with db.command() as s:
        s.connection().execute(select(Setting.key)).all()
        assert s.connection().connection.dbapi_connection.info.transaction_status.name == "INTRANS"
    with db.read() as s:
        assert s.scalar(select(Setting.value).where(Setting.key == "k")) == "v"


def test_a_connection_just_returned_is_used_again_without_a_ping(db, opened, pings):
    first = _backend(db)
    for _ in range(5):
        assert _backend(db) == first
        with db.write() as s:
            s.execute(select(Setting.key)).all()
        with db.command() as s:
            s.connection().execute(select(Setting.key)).all()
    assert opened[0] == 0 and pings[0] == 0


def test_a_connection_the_server_ended_is_replaced_before_a_read_uses_it(db, opened, pings):
    dead = _backend(db)
    _end_backend(db, dead)
    assert _backend(db) != dead  # no error: the pool saw the goodbye on the socket and reconnected
    assert opened[0] == 1 and pings[0] == 1


def test_a_connection_the_server_ended_is_replaced_before_a_command_uses_it(db, opened):
    dead = _backend(db)
    _end_backend(db, dead)
    with db.command() as s:
        s.connection().execute(text("INSERT INTO setting (key, value) VALUES ('after', 'restart')"))
    with db.write() as s:
        s.add(Setting(key="and", value="again"))
    with db.read() as s:
        assert s.scalar(select(Setting.value).where(Setting.key == "after")) == "restart"
        assert s.scalar(select(Setting.value).where(Setting.key == "and")) == "again"
    assert opened[0] == 1


def test_a_connection_idle_for_long_is_asked_and_replaced_when_it_does_not_answer(db, opened, pings, monkeypatch):
    dead = _backend(db)
    _end_backend(db, dead)
    # A connection dropped without a word (a firewall's timeout): nothing on its socket, only its idle time
    # tells; every connection counts as long idle here.
    monkeypatch.setattr(engine_db, "_has_input", lambda *_a: False)
    monkeypatch.setattr(engine_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    alive = _backend(db)
    assert alive != dead and opened[0] == 1 and pings[0] == 1
    assert _backend(db) == alive and pings[0] == 2  # a live one answers and is used

