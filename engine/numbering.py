"""Case numbers: unique and sequential per case type and year, e.g. MED-2026-000017."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from .store import CaseCounter


def next_case_number(session: Session, case_type: str, prefix: str, year: int) -> str:
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CaseCounter).values(type=case_type, year=year, last=1)
    stmt = stmt.on_conflict_do_update(index_elements=["type", "year"], set_={"last": CaseCounter.last + 1})
    number = session.execute(stmt.returning(CaseCounter.last)).scalar_one()
    return f"{prefix}-{year}-{number:06d}"
