"""What an admin sees of the outbox: messages by status with their attempts, and a retry."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import Conflict, InvalidInput, NotFound
from engine.reminders import iso_local
from engine.store import OutboxAttempt, OutboxMessage

STATUSES = ("pending", "sent", "failed")


def message_view(m: OutboxMessage, attempts: list[OutboxAttempt] | None = None) -> dict[str, Any]:
    view = {"id": m.id, "kind": m.kind, "channel": m.channel, "recipient": m.recipient, "case_id": m.case_id,
            "status": m.status, "attempts": m.attempts, "last_error": m.last_error,
            "created_at": iso_local(m.created_at), "next_attempt_at": iso_local(m.next_attempt_at),
            "retry_at": iso_local(m.retry_at), "sent_at": iso_local(m.sent_at), "key": m.idempotency_key}
    if attempts is not None:
        view["attempt_log"] = [{"attempt": a.attempt, "at": iso_local(a.at), "ok": a.ok, "error": a.error,
                                "duration_ms": a.duration_ms} for a in attempts]
    return view


def list_messages(session: Session, *, status: str | None = None, after: int | None = None,
                  limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status 应为 {'、'.join(STATUSES)} 之一 / status must be one of {', '.join(STATUSES)}",
                           fields={"status": " | ".join(STATUSES)})
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit + 1)
    if status:
        query = query.where(OutboxMessage.status == status)
    if after:
        query = query.where(OutboxMessage.id < after)
    messages = session.scalars(query).all()
    more = len(messages) > limit
    messages = messages[:limit]
    attempts: dict[int, list[OutboxAttempt]] = {}
    if messages:
        for a in session.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id.in_([m.id for m in messages]))
                                 .order_by(OutboxAttempt.id)):
            attempts.setdefault(a.message_id, []).append(a)
    return [message_view(m, attempts.get(m.id, [])) for m in messages], (messages[-1].id if more and messages else None)


def retry(session: Session, message_id: int, now: datetime) -> dict[str, Any]:
    """Send a failed message again, with a fresh count of attempts (the old ones stay in its log)."""
    m = session.get(OutboxMessage, message_id)
    if m is None:
        raise NotFound(f"通知 {message_id} 不存在 / no outbox message {message_id}")
    if m.status != "failed":
        raise Conflict(f"只能重发失败的通知（当前：{m.status}）/ only a failed message can be retried (it is {m.status})")
    m.status, m.attempts, m.retry_at, m.next_attempt_at = "pending", 0, None, now
    session.flush()
    return message_view(m)
