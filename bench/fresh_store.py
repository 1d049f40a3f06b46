"""A store of its own for one benchmark run, removed afterwards.

SQLite: a file in the run's temporary directory. PostgreSQL: a new schema in the given database
(tests/stores.py), so a run neither sees an earlier run's cases nor leaves its own behind.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy.engine import make_url

from tests.stores import postgres_schema


@contextmanager
def fresh_store(database_url: str | None, tmp: Path, name: str) -> Iterator[str]:
    """The URL of an empty store: `database_url`'s database in a new schema, or a SQLite file."""
    if not database_url:
        yield f"sqlite:///{tmp / f'{name}.db'}"
    elif make_url(database_url).get_backend_name() != "postgresql":
        yield database_url  # measured as given
    else:
        with postgres_schema(database_url, prefix="fq_bench_") as url:
            yield url
