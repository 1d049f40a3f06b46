"""通知 (`/inbox`): one's in-app notifications, newest first, with mark read, mark all read and a
link to the task or case each is about. The unread count shows in the navigation of every page
(`unread_count`, used by home.navigation)."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.errors import NotFound
from web.i18n import N_, _
from web.security import safe_next

bp = Blueprint("inbox", __name__)

SERVICES = "fengqiao"
PAGE_SIZE = 30
KINDS = {"deadline_warning": N_("临期提醒"), "deadline_overdue": N_("逾期提醒"),
         "deadline_overdue_supervisor": N_("督办提醒"), "leader_digest": N_("包案每日摘要"),
         "outbox_failed": N_("通知发送失败")}
# A notification's link is written for any reader (the e-mail's); on the pages it becomes this site's
# own address, and the admins' link to the failed messages leads to their page.
_PAGE_FOR = {"/api/v1/outbox": "/admin/notifications"}


def services():
    return current_app.extensions[SERVICES]


def unread_count(actor) -> int:
    return services().notifications.unread_count(actor)


def page_link(item: dict) -> tuple[str | None, str]:
    """(site path, what it opens) for a notification's link, or (None, "") without one."""
    link = item.get("link")
    path = ""
    if link:
        parts = urlsplit(link)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
    elif item.get("case_id"):
        path = f"/cases/{item['case_id']}"
    if not path:
        return None, ""
    for api_path, page in _PAGE_FOR.items():
        if path.startswith(api_path):
            return page, _("查看失败的通知")
    path = safe_next(path, default="")
    if not path:
        return None, ""
    if path.startswith("/tasks/"):
        return path, _("去办理此事项")
    if path.startswith("/cases/"):
        return path, _("查看案件")
    return path, _("查看详情")


@bp.get("/inbox")
def inbox():
    unread_only = request.args.get("unread") == "1"
    after_text = request.args.get("after", "")
    after = int(after_text) if after_text.isascii() and after_text.isdigit() and 0 < len(after_text) < 19 else None
    items, unread, next_id = services().notifications.inbox(g.actor, unread_only=unread_only, after=after,
                                                            limit=PAGE_SIZE)
    rows = []
    for item in items:
        href, label = page_link(item)
        rows.append({**item, "href": href, "link_label": label,
                     "kind_word": _(KINDS[item["kind"]]) if item["kind"] in KINDS else _("通知")})
    here = request.full_path.rstrip("?")
    return render_template("inbox/list.html", rows=rows, unread=unread, unread_only=unread_only, next_id=next_id,
                           after=after, here=here, nav_unread=unread)


@bp.post("/inbox/<id:item_id>/read")
def mark_read(item_id: int):
    back = safe_next(request.form.get("next"), default=url_for("inbox.inbox"))
    try:
        services().notifications.mark_read(g.actor, item_id)
    except NotFound:
        flash(_("这条通知不存在或不属于您。"))
        return redirect(back)
    flash(_("已标为已读。"))
    return redirect(back)


@bp.post("/inbox/read-all")
def mark_all_read():
    marked = services().notifications.mark_all_read(g.actor)
    flash(_("已将 {count} 条通知标为已读。", count=marked) if marked else _("没有未读的通知。"))
    return redirect(safe_next(request.form.get("next"), default=url_for("inbox.inbox")))
