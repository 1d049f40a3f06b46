"""The petition office's board (DOMAIN.md §3, 领导包案): open petitions per owner leader, with how
many have a step due within a week, overdue, or are backlog (积案)."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, cast, exists, select
from sqlalchemy.orm import Session

from engine.store import Case, HumanTask, User

NO_OWNER = "（无包案领导）/ no owner yet"


def owner_board(session: Session, visible, now: datetime, *, owner_role: str, due_days: int = 7,
                backlog_days: int = 90) -> list[dict[str, Any]]:
    """One row per user with the owner role (those without cases too) and a last row, leader None, for
    the petitions nobody owns yet; `visible` is the reader's SQL condition on Case (None: all). A case
    may count as both due soon and overdue."""
    soon = now + timedelta(days=due_days)
    open_step = (HumanTask.case_id == Case.id, HumanTask.status == "ready", HumanTask.due_at.is_not(None))
    overdue = exists().where(*open_step, HumanTask.due_at <= now)
    due_soon = exists().where(*open_step, HumanTask.due_at > now, HumanTask.due_at <= soon)
    backlog = cast(Case.flags, String).like('%"backlog"%') | (Case.created_at < now - timedelta(days=backlog_days))
    query = select(Case.owner, overdue.label("overdue"), due_soon.label("due_soon"), backlog.label("backlog")) \
        .where(Case.type == "petition", Case.status == "open")
    if visible is not None:
        query = query.where(visible)
    users = session.execute(select(User.username, User.display_name, User.roles).where(User.active.is_(True))
                            .order_by(User.username)).all()
    board = {u.username: _row(u.username, u.display_name) for u in users if owner_role in (u.roles or [])}
    unowned = _row(None, NO_OWNER)
    for owner, is_overdue, is_due_soon, is_backlog in session.execute(query):
        row = board.setdefault(owner, _row(owner, owner)) if owner else unowned
        row["open"] += 1
        row["overdue"] += bool(is_overdue)
        row["due_within_7_days"] += bool(is_due_soon)
        row["backlog"] += bool(is_backlog)
    return [*board.values(), unowned]


def _row(leader: str | None, name: str | None) -> dict[str, Any]:
    return {"leader": leader, "display_name": name, "open": 0, "due_within_7_days": 0, "overdue": 0, "backlog": 0}
