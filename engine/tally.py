"""Counts kept as cases change (the `case_tally` table): adding to them in a command's transaction,
and the listeners that say what a saved case adds.

The engine knows no figure: a case type's module registers a listener with
`System.add_case_listener`; the engine calls every listener after it writes a case, in the same
transaction, with the case as it was before the command (None for a case just registered) and as
written; `System.add_task_listener` likewise for every step completed (the task's row and the
instant). A listener answers nothing; it calls `add` with what changed.

A row holds two counts: `count`, and `part`, how many of those also have the figure's second
property (the steps done by their due time, of the steps done), so a figure and its subset are one
row, not two (migration 0027); a figure without one leaves it 0."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from .rows import Prepared
from .store import CaseTally

# (figure, period, unit, key) → how much the count (or the part) changes
Deltas = Mapping[tuple[str, str, str, str], int]
CaseListener = Callable[[Session, Any, dict[str, Any]], None]
TaskListener = Callable[[Session, Mapping[str, Any], Any], None]


def _upsert(dialect) -> Prepared:
    stmt = dialect.insert(CaseTally.__table__)
    return Prepared(stmt.on_conflict_do_update(index_elements=["figure", "period", "unit", "key"],
                                               set_={"count": CaseTally.count + stmt.excluded.count,
                                                     "part": CaseTally.part + stmt.excluded.part}))


# Built and compiled once: a command that registers or completes a step runs it.
_UPSERT = {"postgresql": _upsert(postgresql), "sqlite": _upsert(sqlite)}


def _rows(counts: Deltas, parts: Deltas) -> list[dict[str, Any]]:
    """A row per key with a count or a part, in key order (a rebuild's B-tree filled left to right)."""
    keys = sorted({k for k, n in counts.items() if n} | {k for k, n in parts.items() if n})
    return [{"figure": f, "period": p, "unit": u, "key": k, "count": counts.get((f, p, u, k), 0),
             "part": parts.get((f, p, u, k), 0)} for f, p, u, k in keys]


def add(session: Session, deltas: Deltas, parts: Deltas | None = None) -> None:
    """Add each delta to its count and each of `parts` to its part (creating the row), one upsert per
    changed row: two commands counting the same new key at once both land (no lost update, no
    duplicate-key failure)."""
    changed = _rows(deltas, parts or {})
    if not changed:
        return
    conn = session.connection()
    _UPSERT[conn.dialect.name].insert_many(conn, changed)


def replace(session: Session, figures: tuple[str, ...], counts: Deltas, parts: Deltas | None = None) -> None:
    """Every count (and part) of `figures` afresh (what a rebuild writes)."""
    session.execute(delete(CaseTally).where(CaseTally.figure.in_(figures)))
    rows = _rows(counts, parts or {})
    if rows:
        session.execute(CaseTally.__table__.insert(), rows)
