"""Use cases of notifications: one's own inbox and settings; the outbox for the admins."""
from __future__ import annotations

from typing import Any

from engine.application import Actor
from engine.errors import InvalidInput
from notifications import contacts, inbox, outbox

from . import authorization as authz
from .base import UseCases, check_id

SETTING_FIELDS = ("channels", "email", "phone")


class Notifications(UseCases):
    def inbox(self, actor: Actor, *, unread_only: bool = False, after: int | None = None, limit: int = 50):
        authz.require("inbox.own", actor)
        if after is not None:
            check_id(after, "after")
        with self.db.read() as session:
            items, next_id = inbox.list_items(session, actor.username, unread_only=unread_only, after=after,
                                              limit=limit)
            return items, inbox.unread_count(session, actor.username), next_id

    def unread_count(self, actor: Actor) -> int:
        with self.db.read() as session:
            return inbox.unread_count(session, actor.username)

    def mark_read(self, actor: Actor, item_id: int) -> dict[str, Any]:
        authz.require("inbox.own", actor)
        with self.db.write() as session:
            return inbox.mark_read(session, actor.username, check_id(item_id), self.now())

    def mark_all_read(self, actor: Actor) -> int:
        authz.require("inbox.own", actor)
        with self.db.write() as session:
            return inbox.mark_all_read(session, actor.username, self.now())

    def settings(self, actor: Actor) -> dict[str, Any]:
        authz.require("inbox.own", actor)
        with self.db.read() as session:
            return contacts.preferences(session, actor.username)

    def change_settings(self, actor: Actor, body: dict[str, Any]) -> dict[str, Any]:
        """Change one's channels, e-mail and mobile (only the fields given; null clears an address)."""
        authz.require("inbox.own", actor)
        unknown = sorted(set(body) - set(SETTING_FIELDS))
        if unknown:
            raise InvalidInput(f"未知字段 / unknown fields: {', '.join(unknown)}",
                               fields={name: "未知字段 / unknown field" for name in unknown})
        if not body:
            raise InvalidInput("请至少给出一项设置 / give at least one setting to change",
                               fields={"body": "不能为空 / must not be empty"})
        if "channels" in body and not (isinstance(body["channels"], list)
                                       and all(isinstance(c, str) for c in body["channels"])):
            raise InvalidInput("channels 应为字符串数组 / channels must be a list of strings",
                               fields={"channels": "应为数组 / must be a list"})
        for name in ("email", "phone"):
            if name in body and body[name] is not None and not isinstance(body[name], str):
                raise InvalidInput(f"{name} 应为字符串或 null / {name} must be a string or null",
                                   fields={name: "应为字符串 / must be a string"})
        with self.db.write() as session:
            return contacts.set_preferences(session, actor.username, **{k: body[k] for k in SETTING_FIELDS if k in body})

    def outbox(self, actor: Actor, *, status: str | None = None, after: int | None = None, limit: int = 50):
        authz.require("outbox.read", actor)
        if after is not None:
            check_id(after, "after")
        with self.db.read() as session:
            return outbox.list_messages(session, status=status, after=after, limit=limit)

    def retry(self, actor: Actor, message_id: int) -> dict[str, Any]:
        from engine import admin_events
        authz.require("outbox.retry", actor)
        with self.db.write() as session:
            view = outbox.retry(session, check_id(message_id), self.now())
            admin_events.record(session, at=self.now(), actor=actor.username, kind="outbox_retried",
                                subject=view["recipient"], data={"message_id": view["id"], "kind": view["kind"],
                                                                 "channel": view["channel"]})
            return view
