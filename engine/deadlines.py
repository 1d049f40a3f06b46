"""Stored warning levels and the next instant the scheduler must wake for (DOMAIN.md §5).

A deadline row carries its level: `normal`, then `warning` once 2/3 of its period has passed and
the warning reminder was queued, then `overdue` when it fires. Lists filter and sort on the column;
the sweep moves it. Both transitions are found through indexes on (status, due_at) and
(status, warning_level, warning_at), so a sweep with nothing to do costs a few index probes
however many cases are open.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from sqlalchemy import and_, bindparam, exists, or_, select, update
from sqlalchemy.engine import Connection

from .store import Deadline

deadline_t = Deadline.__table__

NORMAL, WARNING, OVERDUE = "normal", "warning", "overdue"

# The three conditions a sweep at b_now acts on, written once: the statements below, the sweep's
# claim (engine/sweep.py) and the scheduler's single probe (WORK_COLUMNS) all use them.
B_NOW = bindparam("b_now", type_=deadline_t.c.due_at.type)
DUE = and_(deadline_t.c.status == "pending", deadline_t.c.due_at < B_NOW)
REACHING_WARNING = and_(deadline_t.c.status == "pending", deadline_t.c.warning_level == NORMAL,
                        deadline_t.c.warning_at <= B_NOW, deadline_t.c.due_at > B_NOW)
POSTPONED_WARNING = and_(deadline_t.c.status == "pending", deadline_t.c.warning_level == WARNING,
                         deadline_t.c.warning_at > B_NOW)

_MARK_FIRED = update(deadline_t).where(deadline_t.c.id.in_(bindparam("b_ids", expanding=True))).values(
    status="fired", fired_at=bindparam("b_at"), warning_level=OVERDUE)
_MARK_WARNING = update(deadline_t).where(deadline_t.c.id.in_(bindparam("b_ids", expanding=True)),
                                         deadline_t.c.status == "pending",
                                         deadline_t.c.warning_level == NORMAL).values(warning_level=WARNING)
_RESET_POSTPONED = update(deadline_t).where(POSTPONED_WARNING).values(warning_level=NORMAL)
_REACHING_WARNING = select(deadline_t).where(REACHING_WARNING).order_by(deadline_t.c.warning_at) \
    .limit(bindparam("b_limit"))
# ORDER BY … LIMIT 1 rather than min(): the first entry of an index whatever the planner's statistics say.
_NEXT_DUE = (select(deadline_t.c.due_at).where(deadline_t.c.status == "pending")
             .order_by(deadline_t.c.due_at).limit(1))
_NEXT_WARNING = (select(deadline_t.c.warning_at).where(deadline_t.c.status == "pending",
                                                       deadline_t.c.warning_level == NORMAL)
                 .order_by(deadline_t.c.warning_at).limit(1))

# What a sweep at b_now has to do, as columns of the scheduler's single probe statement: fire due
# rows; move rows to `warning` (or back to `normal`, when an extension moved their warning time later).
WORK_COLUMNS = (exists().where(DUE).label("due"),
                or_(exists().where(REACHING_WARNING), exists().where(POSTPONED_WARNING)).label("warning"))


def mark_fired(conn: Connection, ids: Iterable[int], at: datetime) -> None:
    conn.execute(_MARK_FIRED, {"b_ids": list(ids), "b_at": at})


def reaching_warning(conn: Connection, now: datetime, limit: int, *, skip_locked: bool) -> list[dict[str, Any]]:
    """Pending rows whose warning time has come and whose due time has not (those fire instead:
    when both thresholds passed while nothing ran, only the overdue reminder goes out)."""
    query = _REACHING_WARNING.with_for_update(skip_locked=True) if skip_locked else _REACHING_WARNING
    return [dict(r) for r in conn.execute(query, {"b_now": now, "b_limit": limit}).mappings()]


def mark_warning(conn: Connection, ids: Iterable[int]) -> None:
    """Move rows selected by `reaching_warning` (locked by it on PostgreSQL) from normal to warning."""
    conn.execute(_MARK_WARNING, {"b_ids": list(ids)})


def reset_postponed(conn: Connection, now: datetime) -> int:
    """A deadline moved later (an extension) is `normal` again until its new warning time."""
    return conn.execute(_RESET_POSTPONED, {"b_now": now}).rowcount


def next_transition(conn: Connection) -> datetime | None:
    """The earliest instant a pending deadline reaches its warning or due time."""
    times = [conn.execute(_NEXT_DUE).scalar(), conn.execute(_NEXT_WARNING).scalar()]
    times = [t for t in times if t is not None]
    return min(times) if times else None
