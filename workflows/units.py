"""The county's org units as the case types and the application layer read them, in the reading
command's own transaction (units are few and rarely change)."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.store import OrgUnit


@dataclass(frozen=True)
class Unit:
    code: str
    name: str
    level: str
    parent: str | None


def load_units(session) -> dict[str, Unit]:
    return {u.code: Unit(u.code, u.name, u.level, u.parent)
            for u in session.execute(select(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent))}
