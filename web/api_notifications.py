"""REST routes for the in-app inbox, notification settings and the outbox (admins)."""
from __future__ import annotations

from flask import request

from engine.errors import Forbidden, InvalidInput
from notifications import contacts as notification_contacts
from notifications import inbox as notification_inbox
from notifications import outbox as notification_outbox

from .api import DEFAULT_PAGE, MAX_PAGE, actor, json_body, query_flag, query_int, route, system
from .openapi import SCHEMAS, Param


_OUTBOX_STATUS = {"type": "string", "enum": list(notification_outbox.STATUSES)}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS.update({
    "InboxItem": {
        "type": "object", "required": ["id", "kind", "title", "body", "created_at", "read"],
        "properties": {"id": {"type": "integer"},
                       "kind": {"type": "string", "examples": ["deadline_warning", "deadline_overdue",
                                                               "deadline_overdue_supervisor", "leader_digest"]},
                       "case_id": {"type": ["integer", "null"]}, "title": {"type": "string"},
                       "body": {"type": "string"}, "link": {"type": ["string", "null"]},
                       "created_at": {"type": "string", "format": "date-time"}, "read": {"type": "boolean"},
                       "read_at": _NULLABLE_TIME},
    },
    "Inbox": {
        "type": "object", "required": ["items", "unread", "next"],
        "description": "站内通知，新的在前 / in-app notifications, newest first",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InboxItem"}},
                       "unread": {"type": "integer", "description": "未读数 / unread count"},
                       "next": {"type": ["string", "null"]}},
    },
    "InboxReadAll": {
        "type": "object", "required": ["marked", "unread"],
        "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}},
    },
    "NotificationSettings": {
        "type": "object", "required": ["username", "channels", "email", "phone", "unit_head"],
        "properties": {"username": {"type": "string"},
                       "channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]}},
                       "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                       "unit_head": {"type": "boolean",
                                     "description": "本单位负责人（由管理员设置）/ heads their unit (set by an admin)"}},
    },
    "NotificationSettingsChange": {
        "type": "object", "description": "只改给出的字段；null 清除地址 / only the fields given change; null clears "
                                         "an address",
        "properties": {"channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]},
                                    "minItems": 1},
                       "email": {"type": ["string", "null"]},
                       "phone": {"type": ["string", "null"], "description": "11 位大陆手机号 / mainland mobile"}},
    },
    "OutboxMessage": {
        "type": "object", "required": ["id", "kind", "channel", "recipient", "status", "attempts", "last_error"],
        "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                       "channel": {"type": "string", "enum": ["inapp", "email", "sms"]},
                       "recipient": {"type": "string"}, "case_id": {"type": ["integer", "null"]},
                       "status": _OUTBOX_STATUS, "attempts": {"type": "integer"}, "last_error": {"type": "string"},
                       "created_at": _NULLABLE_TIME, "next_attempt_at": _NULLABLE_TIME, "retry_at": _NULLABLE_TIME,
                       "sent_at": _NULLABLE_TIME, "key": {"type": "string"},
                       "attempt_log": {"type": "array", "items": {
                           "type": "object", "properties": {"attempt": {"type": "integer"}, "at": _NULLABLE_TIME,
                                                            "ok": {"type": "boolean"}, "error": {"type": "string"},
                                                            "duration_ms": {"type": "integer"}}}}},
    },
    "OutboxPage": {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OutboxMessage"}},
                       "next": {"type": ["string", "null"]}},
    },
})


@route("GET", "/inbox", summary="我的站内通知与未读数 / My in-app notifications and unread count", response="Inbox",
       query=(Param("unread", "1：只看未读 / 1: unread only", enum=("0", "1")),
              Param("after", "上一页返回的 next / the `next` of the previous page"),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), tag="inbox")
def inbox():
    with system().db.read() as session:
        items, next_id = notification_inbox.list_items(
            session, actor().username, unread_only=query_flag("unread"), after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
        unread = notification_inbox.unread_count(session, actor().username)
    return {"items": items, "unread": unread, "next": str(next_id) if next_id is not None else None}


@route("POST", "/inbox/<int:item_id>/read", summary="标为已读 / Mark one notification read", response="InboxItem",
       tag="inbox")
def inbox_read(item_id: int):
    sys = system()
    with sys.db.write() as session:
        return notification_inbox.mark_read(session, actor().username, item_id, sys.clock.now())


@route("POST", "/inbox/read-all", summary="全部标为已读 / Mark every notification read", response="InboxReadAll",
       tag="inbox")
def inbox_read_all():
    sys = system()
    with sys.db.write() as session:
        marked = notification_inbox.mark_all_read(session, actor().username, sys.clock.now())
    return {"marked": marked, "unread": 0}


@route("GET", "/me/notifications", summary="我的通知设置 / My notification settings",
       response="NotificationSettings", tag="inbox")
def my_notification_settings():
    with system().db.read() as session:
        return notification_contacts.preferences(session, actor().username)


@route("PUT", "/me/notifications", summary="修改通知通道、邮箱、手机号 / Choose channels, set e-mail and mobile",
       body="NotificationSettingsChange", response="NotificationSettings", tag="inbox")
def change_notification_settings():
    body = json_body()
    unknown = sorted(set(body) - {"channels", "email", "phone"})
    if unknown:
        raise InvalidInput(f"未知字段 / unknown fields: {', '.join(unknown)}",
                           fields={name: "未知字段 / unknown field" for name in unknown})
    if "channels" in body and not (isinstance(body["channels"], list)
                                   and all(isinstance(c, str) for c in body["channels"])):
        raise InvalidInput("channels 应为字符串数组 / channels must be a list of strings",
                           fields={"channels": "应为数组 / must be a list"})
    for name in ("email", "phone"):
        if name in body and body[name] is not None and not isinstance(body[name], str):
            raise InvalidInput(f"{name} 应为字符串或 null / {name} must be a string or null",
                               fields={name: "应为字符串 / must be a string"})
    changes = {name: body[name] for name in ("channels", "email", "phone") if name in body}
    with system().db.write() as session:
        return notification_contacts.set_preferences(session, actor().username, **changes)


def _require_admin() -> None:
    if not actor().has_role("admin"):
        raise Forbidden("只有管理员可以查看和重发通知 / only admins see and retry the outbox")


@route("GET", "/outbox", summary="通知发件箱（管理员）：状态、尝试记录、失败原因 / The outbox (admins): status, attempts, "
                                 "failures", response="OutboxPage",
       query=(Param("status", "状态 / status", enum=notification_outbox.STATUSES),
              Param("after", "上一页返回的 next / the `next` of the previous page"),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), errors=(403,), tag="inbox")
def outbox_messages():
    _require_admin()
    with system().db.read() as session:
        items, next_id = notification_outbox.list_messages(
            session, status=request.args.get("status") or None, after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


@route("POST", "/outbox/<int:message_id>/retry", summary="重发失败的通知（管理员）/ Send a failed message again (admins)",
       response="OutboxMessage", errors=(403, 409), tag="inbox")
def outbox_retry(message_id: int):
    _require_admin()
    sys = system()
    with sys.db.write() as session:
        return notification_outbox.retry(session, message_id, sys.clock.now())
