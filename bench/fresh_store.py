"""A store of its own for one benchmark run, removed afterwards.

SQLite: a file in the run's temporary directory. PostgreSQL: a new schema in the given database
(the URL's search_path points at it), so a run neither sees an earlier run's cases nor leaves its
own behind.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def fresh_store(database_url: str | None, tmp: Path, name: str) -> Iterator[str]:
    """The URL of an empty store: `database_url`'s database in a new schema, or a SQLite file."""
    if not database_url:
        yield f"sqlite:///{tmp / f'{name}.db'}"
        return
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        yield database_url  # measured as given
        return
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    schema = f"fq_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
