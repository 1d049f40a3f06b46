"""The in-app channel as its reader sees it: a per-user inbox with unread counts and mark-read."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from engine.errors import NotFound
from engine.reminders import iso_local
from engine.store import InboxItem


def item_view(item: InboxItem) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "case_id": item.case_id, "title": item.title, "body": item.body,
            "link": item.link, "created_at": iso_local(item.created_at), "read": item.read_at is not None,
            "read_at": iso_local(item.read_at)}


def unread_count(session: Session, username: str) -> int:
    return session.scalar(select(func.count()).select_from(InboxItem).where(
        InboxItem.username == username, InboxItem.read_at.is_(None))) or 0


def list_items(session: Session, username: str, *, unread_only: bool = False, after: int | None = None,
               limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    """A page of the user's inbox, newest first, and the cursor of the next page."""
    query = select(InboxItem).where(InboxItem.username == username).order_by(InboxItem.id.desc()).limit(limit + 1)
    if unread_only:
        query = query.where(InboxItem.read_at.is_(None))
    if after:
        query = query.where(InboxItem.id < after)
    items = session.scalars(query).all()
    more = len(items) > limit
    items = items[:limit]
    return [item_view(i) for i in items], (items[-1].id if more and items else None)


def mark_read(session: Session, username: str, item_id: int, now: datetime) -> dict[str, Any]:
    item = session.scalar(select(InboxItem).where(InboxItem.id == item_id, InboxItem.username == username))
    if item is None:
        raise NotFound(f"通知 {item_id} 不存在 / no notification {item_id} in your inbox")
    if item.read_at is None:
        item.read_at = now
        session.flush()
    return item_view(item)


def mark_all_read(session: Session, username: str, now: datetime) -> int:
    return session.execute(update(InboxItem).where(InboxItem.username == username, InboxItem.read_at.is_(None))
                           .values(read_at=now)).rowcount
