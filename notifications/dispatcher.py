"""The outbox dispatcher: delivers pending outbox rows, records every attempt, retries with
exponential back-off and gives up after FENGQIAO_OUTBOX_MAX_ATTEMPTS, telling the admins.

A row is due when its release time (engine clock: working hours) has come and its back-off
(real time) has passed. The in-app channel writes the inbox row in the same transaction that marks
the message sent, so it is delivered exactly once. E-mail and SMS leave the system: on PostgreSQL
the row stays locked (FOR UPDATE SKIP LOCKED) from before sending until it is marked sent, so any
number of dispatchers share the outbox without sending a row twice; on SQLite only the scheduler
holding the lease dispatches, and it never holds the write lock while talking to a mail server.
A crash before the "sent" commit leaves the row pending, and it is delivered after the restart;
the one window left, between the server's acceptance and that commit, is closed on the receiving
side by the stable Message-ID / Idempotency-Key derived from the row's idempotency key.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from sqlalchemy import func, insert, or_, select, update

from engine.clock import Clock, utcnow
from engine.config import Settings
from engine.db import Database
from engine.reminders import enqueue, message
from engine.store import InboxItem, OutboxAttempt, OutboxMessage, User

from .channels import Channel, DeliveryFailed, Recipient, external_channels
from .render import Rendered, render

log = logging.getLogger(__name__)

outbox_t, attempt_t, inbox_t, user_t = (OutboxMessage.__table__, OutboxAttempt.__table__, InboxItem.__table__,
                                        User.__table__)


class OutboxDispatcher:
    def __init__(self, db: Database, settings: Settings, clock: Clock, channels: Mapping[str, Channel] | None = None):
        self.db = db
        self.settings = settings
        self.clock = clock
        self.channels = dict(channels) if channels is not None else external_channels(settings)

    @classmethod
    def for_system(cls, system, channels: Mapping[str, Channel] | None = None) -> "OutboxDispatcher":
        return cls(system.db, system.settings, system.clock, channels)

    def backoff(self, attempt: int) -> timedelta:
        """The wait after the `attempt`-th failure: doubling from FENGQIAO_OUTBOX_RETRY_SECONDS, capped."""
        seconds = self.settings.outbox_retry_seconds * 2 ** (attempt - 1)
        return timedelta(seconds=min(seconds, self.settings.outbox_retry_max_seconds))

    # ------------------------------------------------------------------ delivering
    def dispatch(self, limit: int = 1000) -> int:
        """Deliver (or try to) every message due now; returns how many were tried."""
        tried = 0
        while tried < limit and self._deliver_next():
            tried += 1
        return tried

    def _due(self, now: datetime, real: datetime):
        return (select(outbox_t).where(outbox_t.c.status == "pending", outbox_t.c.next_attempt_at <= now,
                                       or_(outbox_t.c.retry_at.is_(None), outbox_t.c.retry_at <= real))
                .order_by(outbox_t.c.next_attempt_at, outbox_t.c.id).limit(1))

    def _deliver_next(self) -> bool:
        now, real = self.clock.now(), utcnow()
        if self.db.is_postgres:
            with self.db.write() as session:
                row = session.execute(self._due(now, real).with_for_update(skip_locked=True)).mappings().first()
                if row is None:
                    return False
                self._attempt(session, dict(row))
            return True
        with self.db.read() as session:
            row = session.execute(self._due(now, real)).mappings().first()
        if row is None:
            return False
        row = dict(row)
        if row["channel"] == "inapp":
            with self.db.write() as session:
                self._attempt(session, row)
            return True
        with self.db.read() as session:
            outcome = self._send(session, row)
        with self.db.write() as session:
            self._record(session, row, *outcome)
        return True

    def _attempt(self, session, row: dict[str, Any]) -> None:
        """Send one message and record the outcome, in `session`'s transaction."""
        self._record(session, row, *self._send(session, row))

    def _send(self, session, row: dict[str, Any]) -> tuple[bool, str, bool, datetime, int]:
        """Try one message: (ok, error, retry, started, milliseconds)."""
        started, clock0 = utcnow(), time.perf_counter()
        ok, error, retry = True, "", False
        try:
            recipient = self._recipient(session, row["recipient"])
            rendered = render(row["kind"], row["payload"], recipient.display_name)
            if row["channel"] == "inapp":
                self._to_inbox(session, row, rendered)
            else:
                channel = self.channels.get(row["channel"])
                if channel is None:
                    raise DeliveryFailed(f"未知的通道 / unknown channel {row['channel']!r}", retry=False)
                channel.send(recipient, rendered, row["idempotency_key"])
        except DeliveryFailed as exc:
            ok, error, retry = False, str(exc), exc.retry
        except Exception as exc:
            if row["channel"] == "inapp":
                raise  # a database error: the transaction is lost anyway; the message stays pending
            log.exception("notification %s could not be rendered or sent", row["id"])
            ok, error, retry = False, f"{type(exc).__name__}: {exc}", False
        return ok, error[:2000], retry, started, int((time.perf_counter() - clock0) * 1000)

    @staticmethod
    def _recipient(session, username: str) -> Recipient:
        user = session.execute(select(user_t.c.username, user_t.c.display_name, user_t.c.email, user_t.c.phone)
                               .where(user_t.c.username == username, user_t.c.active.is_(True))).first()
        if user is None:
            raise DeliveryFailed(f"用户“{username}”不存在或已停用 / no active user {username!r}", retry=False)
        return Recipient(user.username, user.display_name or user.username, user.email, user.phone)

    def _to_inbox(self, session, row: dict[str, Any], rendered: Rendered) -> None:
        session.execute(insert(inbox_t).values(
            message_id=row["id"], username=row["recipient"], kind=row["kind"], case_id=row["case_id"],
            title=rendered.subject[:500], body=rendered.text, link=row["payload"].get("link"),
            created_at=self.clock.now(), read_at=None))

    def _record(self, session, row: dict[str, Any], ok: bool, error: str, retry: bool, started: datetime,
                ms: int) -> None:
        attempt = row["attempts"] + 1
        values: dict[str, Any] = {"attempts": attempt}
        if ok:
            values.update(status="sent", sent_at=self.clock.now(), last_error="", retry_at=None)
        elif retry and attempt < self.settings.outbox_max_attempts:
            values.update(last_error=error, retry_at=utcnow() + self.backoff(attempt))
        else:
            values.update(status="failed", last_error=error, retry_at=None)
        moved = session.execute(update(outbox_t).where(outbox_t.c.id == row["id"], outbox_t.c.status == "pending",
                                                       outbox_t.c.attempts == row["attempts"])
                                .values(**values)).rowcount
        if moved != 1:  # recorded by someone else meanwhile: only possible if two dispatchers ran on SQLite
            log.warning("outbox message %s changed while it was being delivered", row["id"])
            return
        session.execute(insert(attempt_t).values(message_id=row["id"], attempt=attempt, at=started, ok=ok,
                                                 error=error, duration_ms=ms))
        if values.get("status") == "failed":
            log.warning("outbox message %s to %s by %s failed for good: %s", row["id"], row["recipient"],
                        row["channel"], error)
            self._tell_admins(session, row, attempt, error, started)

    def _tell_admins(self, session, row: dict[str, Any], attempts: int, error: str, at: datetime) -> None:
        """A message that gave up is shown to every admin in their inbox (and listed by `fengqiao outbox list`)."""
        if row["kind"] == "delivery_failed":
            return
        admins = [u for u, roles in session.execute(select(user_t.c.username, user_t.c.roles)
                                                   .where(user_t.c.active.is_(True))) if "admin" in (roles or [])]
        now = self.clock.now()
        payload = {"message_id": row["id"], "failed_kind": row["kind"], "failed_recipient": row["recipient"],
                   "channel": row["channel"], "attempts": attempts, "error": error,
                   "case_number": row["payload"].get("case_number"), "case_id": row["case_id"],
                   "link": f"{self.settings.base_url.rstrip('/')}/api/v1/outbox?status=failed"}
        key = f"delivery_failed:{row['id']}:{at.timestamp():.6f}"
        enqueue(session.connection(), [
            message("delivery_failed", f"{key}:{admin}:inapp", admin, "inapp", payload, case_id=row["case_id"],
                    release=now, now=now) for admin in admins])

    # ------------------------------------------------------------------ when to look again
    def next_due(self) -> datetime | None:
        """The real time the next pending message becomes due, if known (not under the simulated clock)."""
        with self.db.read() as session:
            retry = session.scalar(select(func.min(outbox_t.c.retry_at)).where(
                outbox_t.c.status == "pending", outbox_t.c.retry_at.is_not(None)))
            release = None
            if not self.clock.simulated:
                release = session.scalar(select(func.min(outbox_t.c.next_attempt_at)).where(
                    outbox_t.c.status == "pending", outbox_t.c.retry_at.is_(None)))
        times = [t for t in (retry, release) if t is not None]
        return min(times).astimezone(timezone.utc) if times else None
