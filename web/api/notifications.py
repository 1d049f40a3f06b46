"""REST routes of the in-app inbox, one's notification settings, and the outbox (admins)."""
from __future__ import annotations

from .http import DEFAULT_PAGE, MAX_PAGE, actor, json_body, page, query, route, services
from .openapi import Param


@route("GET", "/inbox", summary="我的站内通知与未读数 / My in-app notifications and unread count", response="Inbox",
       query=(Param("unread", "1：只看未读 / 1: unread only", type="flag"),
              Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), tag="inbox")
def inbox():
    items, unread, next_id = services().notifications.inbox(
        actor(), unread_only=bool(query("unread")), after=query("after"), limit=query("limit") or DEFAULT_PAGE)
    return page(items, next_id, unread=unread)


@route("POST", "/inbox/<id:item_id>/read", summary="标为已读 / Mark one notification read", response="InboxItem",
       tag="inbox")
def inbox_read(item_id: int):
    return services().notifications.mark_read(actor(), item_id)


@route("POST", "/inbox/read-all", summary="全部标为已读 / Mark every notification read", response="InboxReadAll",
       tag="inbox")
def inbox_read_all():
    return {"marked": services().notifications.mark_all_read(actor()), "unread": 0}


@route("GET", "/me/notifications", summary="我的通知设置 / My notification settings",
       response="NotificationSettings", tag="inbox")
def my_notification_settings():
    return services().notifications.settings(actor())


@route("PUT", "/me/notifications", summary="修改通知通道、邮箱、手机号 / Choose channels, set e-mail and mobile",
       body="NotificationSettingsChange", response="NotificationSettings", tag="inbox")
def change_notification_settings():
    return services().notifications.change_settings(actor(), json_body())


@route("GET", "/outbox", summary="通知发件箱（管理员）：状态、尝试记录、失败原因 / The outbox (admins): status, attempts, "
                                 "failures", response="OutboxPage",
       query=(Param("status", "状态 / status", enum=("pending", "sent", "failed")),
              Param("after", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
              Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1,
                    maximum=MAX_PAGE)), errors=(403,), tag="inbox")
def outbox_messages():
    items, next_id = services().notifications.outbox(
        actor(), status=query("status"), after=query("after"), limit=query("limit") or DEFAULT_PAGE)
    return page(items, next_id)


@route("POST", "/outbox/<id:message_id>/retry", summary="重发失败的通知（管理员）/ Send a failed message again (admins)",
       response="OutboxMessage", errors=(403, 409), tag="inbox")
def outbox_retry(message_id: int):
    return services().notifications.retry(actor(), message_id)
