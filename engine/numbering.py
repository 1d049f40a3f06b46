"""Case numbers: unique and sequential per case type and year, e.g. MED-2026-000017."""
from __future__ import annotations

from sqlalchemy.orm import Session

from . import rows


def next_case_number(session: Session, case_type: str, prefix: str, year: int) -> str:
    number = rows.next_number(session.connection(), case_type, year)
    return f"{prefix}-{year}-{number:06d}"
