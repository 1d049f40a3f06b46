"""A PostgreSQL store nobody else uses: a new schema, dropped afterwards. Shared by the tests'
fixtures and the benchmarks (bench/fresh_store.py), so it imports nothing of pytest."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session


@contextmanager
def postgres_schema(database_url: str, prefix: str = "fq_") -> Iterator[str]:
    """The URL of a new, empty schema in `database_url`'s database (its search_path points there)."""
    url = make_url(database_url)
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    schema = f"{prefix}{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def planning_read(system) -> Iterator[Session]:
    """A read for showing a plan: on PostgreSQL a session in a transaction rolled back at its end, so
    that a `SET LOCAL` of the planner's settings holds for the EXPLAIN after it (`db.read()` runs
    outside a transaction there, engine/db.py, where SET LOCAL does nothing); on SQLite `db.read()`."""
    if not system.db.is_postgres:
        with system.db.read() as session:
            yield session
        return
    with system.db.write_engine.connect() as conn:
        transaction = conn.begin()
        try:
            with Session(bind=conn) as session:
                yield session
        finally:
            transaction.rollback()


def sqlite_statistics(system, stats: dict[str, dict[str, str]]) -> None:
    """SQLite: the planner statistics ANALYZE would leave in a big store, `stats[table][index]` as
    sqlite_stat1 writes them, in place of the small test store's own (nothing on PostgreSQL)."""
    if system.db.is_postgres:
        return
    with system.db.write() as s:
        s.execute(text("ANALYZE"))
        for table, of_table in stats.items():
            s.execute(text("DELETE FROM sqlite_stat1 WHERE tbl = :t"), {"t": table})
            for index, stat in of_table.items():
                s.execute(text("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (:t, :i, :s)"),
                          {"t": table, "i": index, "s": stat})
    system.db.read_engine.dispose()  # new connections, which read the statistics
