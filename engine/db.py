"""Connections and units of work: one transaction per command, on SQLite or PostgreSQL."""
from __future__ import annotations

import contextlib
import select
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine import Engine as SAEngine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from .config import Settings
from .state_codec import json_text


def _sqlite_engine(url: str, busy_timeout_ms: int, synchronous: str, *, immediate: bool,
                   wal_autocheckpoint: int = 1000) -> SAEngine:
    # No bound on the connections beyond the five the pool keeps: a thread keeps its command connection
    # between commands (Database.command), so a bound would make the thread one past it wait for one
    # that is never given back. A SQLite connection is a file handle and its page cache.
    engine = create_engine(url, connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
                           json_serializer=json_text, pool_size=5, max_overflow=-1)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Let SQLAlchemy, not the driver, open transactions, so BEGIN IMMEDIATE is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={synchronous}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        # Log pages a commit may leave before it copies them into the database file (a checkpoint, with
        # its fsyncs): more pages, fewer checkpoints, and a page that many commands change (an index's
        # newest leaf, a table's last page) copied once for all of them. A checkpoint is not a commit:
        # what a commit promises (synchronous above) is the same at any interval.
        cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # A writer takes the lock at BEGIN: it then reads the newest committed state, and two
        # writers queue instead of failing later on a stale snapshot.
        # Straight to the driver: the statement needs none of SQLAlchemy's execution machinery, and
        # every command begins with it.
        sql = "BEGIN IMMEDIATE" if immediate else "BEGIN"
        try:
            conn.connection.dbapi_connection.execute(sql)
        except sqlite3.Error as exc:  # as SQLAlchemy would raise it ("database is locked": OperationalError)
            raise DBAPIError.instance(sql, None, exc, sqlite3.Error, dialect=conn.dialect) from exc

    return engine


# A pooled PostgreSQL connection idle this long is asked whether it still answers before it is used.
PING_AFTER_IDLE_SECONDS = 30.0
_RETURNED = "fengqiao_returned_at"  # in a pooled connection's record: when it was last checked in


def _check_on_checkout(engine: SAEngine) -> None:
    """A connection taken from the pool is alive, without a round trip for every checkout.

    SQLAlchemy's pre-ping asks the server (`SELECT 1`) at every checkout: under the load test a request
    made 4.2 checkouts (a task or case page 8), each a round trip beside its 13 statements. Here a connection is asked only
    when it may be dead: when its socket has something to read while it sat idle in the pool (a server
    that ends a session, by a restart, `pg_terminate_backend` or an idle timeout, tells the client so
    and closes the socket: a healthy idle connection has nothing to read), or when it sat idle longer
    than PING_AFTER_IDLE_SECONDS (a connection a firewall dropped without a word). One that does not
    answer is replaced by a new one before the caller sees it (the pool's DisconnectionError);
    a freshly opened connection is not asked."""

    driver_error = engine.dialect.loaded_dbapi.Error

    @event.listens_for(engine, "checkin")
    def _returned(dbapi_conn, record) -> None:
        if dbapi_conn is not None:
            record.info[_RETURNED] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _alive(dbapi_conn, record, _proxy) -> None:
        returned = record.info.get(_RETURNED)
        if returned is None:  # opened for this checkout
            return
        if time.monotonic() - returned < PING_AFTER_IDLE_SECONDS and not _has_input(dbapi_conn, driver_error):
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # whatever broke it, the pool opens another connection in its place
            raise DisconnectionError(f"a pooled connection did not answer: {exc}") from exc


def _has_input(dbapi_conn, driver_error: type[Exception]) -> bool:
    """Whether an idle connection's socket has anything to read (or is closed) — without reading it."""
    try:
        fd = dbapi_conn.fileno()
    except (driver_error, OSError, ValueError):  # closed or broken already
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)  # hang-ups and errors are always reported
    return bool(poller.poll(0))


class _JoinedSession(Session):
    """An ORM session joined to a command's connection and transaction, which the command commits."""

    def __init__(self, conn: Connection):
        super().__init__(bind=conn, join_transaction_mode="rollback_only", autoflush=False,
                         expire_on_commit=False)


class CommandSession:
    """The session a command's code and its hooks see, on the command's own connection and transaction.

    The engine's statements run on that connection (`connection()` hands it over as it is: what an
    ORM session bound to it would use). The ORM session is made only when something asks for more
    than the connection (a case type's hook that reads or adds ORM objects): it then behaves as a
    session does, joined to the same transaction, and what it added is flushed before the command
    commits. Most commands never need it, and so never pay for a session's begin and close."""

    __slots__ = ("_conn", "_orm")

    def __init__(self, conn: Connection):
        self._conn = conn
        self._orm: _JoinedSession | None = None

    def connection(self, bind_arguments=None, execution_options=None) -> Connection:
        if bind_arguments is None and execution_options is None:
            return self._conn
        return self.orm.connection(bind_arguments, execution_options)

    def get_bind(self, *args, **kwargs):
        return self._conn if not args and not kwargs else self.orm.get_bind(*args, **kwargs)

    @property
    def orm(self) -> Session:
        if self._orm is None:
            self._orm = _JoinedSession(self._conn)
        return self._orm

    def __getattr__(self, name: str):  # execute, scalar, add, flush, get …: the ORM session's own
        return getattr(self.orm, name)

    def _finish(self) -> None:
        """Before the commit: write what the ORM session added or changed."""
        orm = self._orm
        if orm is not None and (orm.in_transaction() or orm.new or orm.deleted):
            orm.flush()

    def _close(self) -> None:
        if self._orm is not None:
            self._orm.close()


class _Kept:
    """A thread's command connection between its commands (SQLite): checked in to the pool again when the
    thread ends (its thread-local value is dropped) or the database is disposed."""

    __slots__ = ("__weakref__", "conn")

    def __init__(self, conn: Connection):
        self.conn = conn

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection already gone: nothing to give back
            self.conn.close()

    __del__ = close


READ_ONLY_SESSION = "fengqiao_read_only"  # in the `info` of every session `Database.read` opens


class Database:
    """Owns the engines; `write()` is a unit of work that commits all or nothing."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.url = settings.database_url
        self.dialect = make_url(self.url).get_backend_name()
        if self.dialect == "sqlite":
            database = make_url(self.url).database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            self.write_engine = _sqlite_engine(self.url, settings.sqlite_busy_timeout_ms, settings.sqlite_synchronous,
                                               immediate=True, wal_autocheckpoint=settings.sqlite_wal_autocheckpoint)
            self.read_engine = _sqlite_engine(self.url, settings.sqlite_busy_timeout_ms, settings.sqlite_synchronous,
                                              immediate=False, wal_autocheckpoint=settings.sqlite_wal_autocheckpoint)
        else:
            url = make_url(self.url)
            if url.drivername == "postgresql":
                url = url.set(drivername="postgresql+psycopg")
            # No JIT compilation: it starts on a plan's estimated cost, and a page's search of 100,000
            # cases (a backward index scan under a LIMIT, estimated at millions) spent a second compiling
            # a query that then ran in 0.3 s. Our statements are short; JIT suits long reports.
            # No parallel workers either: starting one costs more than our statements take (an
            # auditor's search of a common name among 1,000,000 cases, 417 matches: 3.8 ms with a
            # worker, 0.4 ms without), and under a day's load the cores are the other requests'.
            options = " ".join(filter(None, (url.query.get("options"), "-c jit=off",
                                             "-c max_parallel_workers_per_gather=0")))
            self.write_engine = create_engine(url, pool_size=settings.db_pool_size,
                                              connect_args={"options": options},
                                              max_overflow=settings.db_max_overflow,
                                              pool_timeout=settings.db_pool_timeout,
                                              json_serializer=json_text)
            _check_on_checkout(self.write_engine)
            self.read_engine = self.write_engine
        # One statement needs no transaction: on PostgreSQL that saves the BEGIN and the ROLLBACK
        # round trips (the scheduler's every-second probe, the simulated clock).
        self._probe_engine = (self.read_engine.execution_options(isolation_level="AUTOCOMMIT")
                              if self.dialect == "postgresql" else self.read_engine)
        # SQLite: a thread keeps its command connection from one command to the next (a pool checkout and
        # check-in, with the rollback that resets it, cost a command more than its BEGIN and COMMIT). Not on
        # PostgreSQL, whose pool is shared by every thread's reads and writes and sized by settings.
        self._keep = self.dialect == "sqlite"
        self._kept_here = threading.local()
        self._kept_all: weakref.WeakSet[_Kept] = weakref.WeakSet()
        self._orphans: list[_Kept] = []
        self._write_sessions = sessionmaker(self.write_engine, expire_on_commit=False, autoflush=False)
        # Marked, so that what a request reads once may be kept for its other reads (usecases/request_scope.py).
        # On PostgreSQL a read runs outside a transaction, each statement on its own snapshot, which is
        # what a READ COMMITTED transaction gives each of its statements too: a read then costs no BEGIN
        # and no ROLLBACK, two round trips of its few (the load test's requests made 4.2 reads each).
        # A read that needs one state for all its statements asks for it (engine/check.py `snapshot`).
        self._read_sessions = sessionmaker(self._probe_engine, expire_on_commit=False, autoflush=False,
                                           info={READ_ONLY_SESSION: True})

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @contextmanager
    def write(self) -> Iterator[Session]:
        session = self._write_sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def command(self) -> Iterator[CommandSession]:
        """A command's unit of work, like `write()` but on a connection of its own that the command
        commits (no ORM transaction unless a hook uses the ORM): all or nothing, the same durability.

        On SQLite the thread keeps that connection for its next command (outside any transaction: the
        command committed); a command that fails closes it, which rolls back what it began."""
        kept = self._kept_here.__dict__.get("kept") if self._keep else None
        if kept is not None and (kept.conn.closed or kept.conn.invalidated):
            kept = self._kept_here.kept = None
        nested = kept is not None and kept.conn.in_transaction()  # a command within one: a connection of its own
        conn = kept.conn if kept is not None and not nested else self.write_engine.connect()
        if nested:
            kept = None
        session = None
        done = False
        try:
            trans = conn.begin()  # SQLite: BEGIN IMMEDIATE (_on_begin)
            session = CommandSession(conn)
            yield session
            session._finish()
            trans.commit()
            done = True
        finally:
            if session is not None:
                session._close()
            if not done:  # a command that failed leaves its connection (closing it rolls back what it began)
                if kept is not None:
                    self._kept_here.kept = None
                conn.close()
            elif self._keep and kept is None and not nested:
                kept = self._kept_here.kept = _Kept(conn)
                self._kept_all.add(kept)
            elif not self._keep or nested:
                conn.close()

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read_sessions()
        try:
            yield session
        finally:
            session.rollback()
            session.close()

    @contextmanager
    def probe(self) -> Iterator[Connection]:
        """A connection for a single read statement, outside any transaction where the database allows."""
        with self._probe_engine.connect() as conn:  # closing it rolls back whatever SQLite began
            yield conn

    def _drop_kept(self, *, close: bool) -> None:
        kept = list(self._kept_all)
        self._kept_all = weakref.WeakSet()
        self._kept_here = threading.local()
        if close:
            for k in kept:
                k.close()
        else:  # a forked child: the parent's connections are the parent's (never closed nor reused here)
            self._orphans.extend(kept)

    def dispose(self) -> None:
        self._drop_kept(close=True)
        self.write_engine.dispose()
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose()

    def after_fork(self) -> None:
        """In a forked child: new, empty pools, leaving the parent's connections to the parent (closing
        them here would end them for the parent too: a socket is shared by a fork)."""
        self._drop_kept(close=False)
        self.write_engine.dispose(close=False)
        if self.read_engine is not self.write_engine:
            self.read_engine.dispose(close=False)


def upgrade_schema(db: Database) -> None:
    """Create or upgrade the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


__all__ = ["Database", "OperationalError", "upgrade_schema"]
