"""系统管理 (`/admin`): accounts and their API tokens, org units, the subsidy rate table and its
versions, the holiday years, failed notifications, and the administrators' log.

Every read and change goes through the application layer as the signed-in user (`g.actor`); the
use cases refuse everyone but admins (403 page) and write each change as an audited admin event.
A refused form comes back with what was typed (never a password) and the message beside the field.
A new token is shown on the page that answers its form, once: it never goes into the session cookie.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

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

from engine.calendar import CalendarDataError
from engine.errors import Conflict, InvalidInput
from usecases.authorization import ROLE_TITLES, ROLES
from web.i18n import N_, _, current_language, localized
from web.security import safe_next

bp = Blueprint("admin", __name__)

ZONE = ZoneInfo("Asia/Shanghai")
SERVICES = "fengqiao"
CALENDAR_FILE_MAX = 256 * 1024  # a year's schedule is a few kilobytes
LEVEL_NAMES = {"county": N_("县"), "town": N_("镇（街道）"), "village": N_("村（社区）")}
TOKEN_STATES = {"active": N_("有效"), "expired": N_("已过期"), "revoked": N_("已撤销")}
EVENT_KINDS = {
    "user_created": N_("新建账号"), "user_changed": N_("修改账号"), "user_deactivated": N_("停用账号"),
    "user_activated": N_("恢复账号"), "password_reset": N_("重设密码"), "token_created": N_("发放令牌"),
    "token_revoked": N_("撤销令牌"), "org_unit_created": N_("新建单位"), "calendar_imported": N_("导入节假日安排"),
    "outbox_retried": N_("重发通知"), "definitions_deployed": N_("部署流程定义"), "contacts_changed": N_("修改通知设置"),
    "clock_set": N_("调整模拟时钟"),
    "zero_report_confirmed": N_("零上报"),
}
FIELD_NAMES = {"roles": N_("角色"), "org_unit": N_("所属单位"), "display_name": N_("姓名"),
               "civil_servant": N_("公务员")}


def services():
    return current_app.extensions[SERVICES]


def shown_time(value: str | datetime | None) -> str:
    if not value:
        return "—"
    when = datetime.fromisoformat(value) if isinstance(value, str) else value
    return when.astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def role_title(code: str) -> str:
    zh, en = ROLE_TITLES.get(code, (code, code))
    return en if current_language() == "en" else zh


def _field_errors(error: InvalidInput, names: dict[str, str]) -> tuple[list, dict[str, str]]:
    """(summary rows, field → message) of a refused form; `names` maps the use case's field names to
    the form's input ids."""
    fields = {names.get(k, k): localized(v) for k, v in error.fields.items()}
    summary = [(ident, message) for ident, message in fields.items() if ident in names.values()]
    if not summary:
        summary = [(None, localized(error.message))]
    return summary, fields


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"shown_time": shown_time, "role_title": role_title, "ROLES": ROLES,
            "level_name": lambda code: _(LEVEL_NAMES[code]) if code in LEVEL_NAMES else code,
            "token_state": lambda state: _(TOKEN_STATES.get(state, state)),
            "event_kind": lambda kind: _(EVENT_KINDS[kind]) if kind in EVENT_KINDS else kind}


# --- the index ------------------------------------------------------------------------------------
@bp.get("/admin")
def index():
    s = services()
    calendar = s.admin.calendar_years(g.actor)
    failed, _next = s.notifications.outbox(g.actor, status="failed", limit=200)
    return render_template("admin/index.html", calendar=calendar, failed=len(failed), failed_more=_next is not None)


# --- accounts -------------------------------------------------------------------------------------
def _units() -> list[dict]:
    return services().people.org_units(g.actor)


def _users_page(form: dict | None = None, errors=(), field_errors=None, status: int = 200):
    users = services().admin.list_users(g.actor)
    return render_template("admin/users.html", users=users, units=_units(), form=form or {"roles": []},
                           errors=list(errors), field_errors=field_errors or {}), status


@bp.get("/admin/users")
def users():
    return _users_page()


@bp.post("/admin/users")
def create_user():
    form = {"username": request.form.get("username", "").strip(), "display_name": request.form.get("display_name", "").strip(),
            "org_unit": request.form.get("org_unit", ""), "roles": request.form.getlist("roles"),
            "civil_servant": request.form.get("civil_servant") == "1"}
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    if password != again:
        message = _("两次输入的密码不一致")
        return _users_page(form, [("new-password", message)], {"new-password": message}, status=400)
    try:
        services().admin.add_user(g.actor, form["username"], form["roles"], form["org_unit"], password,
                                  civil_servant=form["civil_servant"], display_name=form["display_name"])
    except InvalidInput as e:
        summary, fields = _field_errors(e, {"username": "new-username", "role": "new-roles", "org": "new-org",
                                            "password": "new-password"})
        return _users_page(form, summary, fields, status=400)
    flash(_("已新建账号 {username}。", username=form["username"]))
    return redirect(url_for("admin.user", username=form["username"]))


def _user_page(username: str, *, form: dict | None = None, errors=(), field_errors=None, new_token: dict | None = None,
               status: int = 200):
    s = services()
    account = s.admin.get_user(g.actor, username)
    tokens = s.admin.list_tokens(g.actor, username)
    history = s.admin.events(g.actor, subject=username, limit=20)
    form = form or {"roles": account["roles"], "org_unit": account["org_unit"],
                    "display_name": account["display_name"], "civil_servant": account["civil_servant"]}
    return render_template("admin/user.html", account=account, role_names=[role_title(r) for r in account["roles"]],
                           tokens=tokens, history=history["items"],
                           units=_units(), form=form, errors=list(errors), field_errors=field_errors or {},
                           new_token=new_token, token_days=current_app.extensions[SERVICES].system.settings.token_days,
                           is_me=username == g.actor.username), status


@bp.get("/admin/users/<username>")
def user(username: str):
    return _user_page(username)


@bp.post("/admin/users/<username>")
def change_user(username: str):
    form = {"roles": request.form.getlist("roles"), "org_unit": request.form.get("org_unit", ""),
            "display_name": request.form.get("display_name", "").strip(),
            "civil_servant": request.form.get("civil_servant") == "1"}
    try:
        services().admin.change_user(g.actor, username, **form)
    except InvalidInput as e:
        summary, fields = _field_errors(e, {"roles": "edit-roles", "org_unit": "edit-org", "display_name": "edit-name"})
        return _user_page(username, form=form, errors=summary, field_errors=fields, status=400)
    except Conflict as e:
        return _user_page(username, form=form, errors=[(None, localized(e.message))], status=409)
    flash(_("已保存 {username} 的修改。", username=username))
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/deactivate")
def deactivate_user(username: str):
    try:
        services().admin.deactivate_user(g.actor, username)
    except Conflict as e:
        return _user_page(username, errors=[(None, localized(e.message))], status=409)
    flash(_("已停用 {username}：其接口令牌和网页登录已即刻失效。", username=username))
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/activate")
def activate_user(username: str):
    try:
        services().admin.activate_user(g.actor, username)
    except Conflict as e:
        return _user_page(username, errors=[(None, localized(e.message))], status=409)
    flash(_("已恢复 {username}，可以重新登录。", username=username))
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/password")
def reset_password(username: str):
    password, again = request.form.get("password", ""), request.form.get("password_again", "")
    if password != again:
        message = _("两次输入的密码不一致")
        return _user_page(username, errors=[("reset-password", message)], field_errors={"reset-password": message},
                          status=400)
    try:
        services().admin.reset_password(g.actor, username, password)
    except InvalidInput as e:
        summary, fields = _field_errors(e, {"password": "reset-password"})
        return _user_page(username, errors=summary, field_errors=fields, status=400)
    flash(_("已重设 {username} 的密码，其已登录的网页需用新密码重新登录。", username=username))
    return redirect(url_for("admin.user", username=username))


@bp.post("/admin/users/<username>/tokens")
def issue_token(username: str):
    name = request.form.get("name", "").strip()
    raw_days = request.form.get("days", "").strip()
    days: Any = None
    if raw_days:
        days = int(raw_days) if raw_days.isascii() and raw_days.isdigit() and len(raw_days) < 6 else raw_days
    try:
        token = services().admin.issue_token(g.actor, username, days=days, name=name)
    except InvalidInput as e:
        summary, fields = _field_errors(e, {"days": "token-days", "name": "token-name"})
        return _user_page(username, errors=summary, field_errors=fields, status=400)
    return _user_page(username, new_token=token)


@bp.post("/admin/tokens/<id:token_id>/revoke")
def revoke_token(token_id: int):
    back = safe_next(request.form.get("next"), default=url_for("admin.users"))
    try:
        token = services().admin.revoke_token(g.actor, token_id)
    except Conflict as e:
        flash(localized(e.message))
        return redirect(back)
    flash(_("已撤销令牌 {id}：使用它的请求将被拒绝。", id=token["id"]))
    return redirect(back)


# --- org units ------------------------------------------------------------------------------------
def _units_page(form: dict | None = None, errors=(), field_errors=None, status: int = 200):
    units = services().admin.org_units(g.actor)
    names = {u["code"]: u["name"] for u in units}
    return render_template("admin/units.html", units=units, names=names, form=form or {}, errors=list(errors),
                           field_errors=field_errors or {}), status


@bp.get("/admin/units")
def units():
    return _units_page()


@bp.post("/admin/units")
def add_unit():
    form = {k: request.form.get(k, "").strip() for k in ("code", "name", "level", "parent")}
    try:
        services().admin.add_org_unit(g.actor, form["code"], form["name"], form["level"], form["parent"] or None)
    except InvalidInput as e:
        summary, fields = _field_errors(e, {"code": "unit-code", "name": "unit-name", "level": "unit-level",
                                            "parent": "unit-parent"})
        return _units_page(form, summary, fields, status=400)
    flash(_("已新建单位 {name}。", name=form["name"]))
    return redirect(url_for("admin.units"))


# --- the subsidy rate table -----------------------------------------------------------------------
@bp.get("/admin/rates")
def rates():
    versions = services().admin.rate_tables(g.actor, "subsidy")
    return render_template("admin/rates.html", versions=versions, in_force=versions[0] if versions else None)


# --- the holiday calendar -------------------------------------------------------------------------
def _calendar_page(errors=(), status: int = 200):
    calendar = services().admin.calendar_years(g.actor)
    return render_template("admin/calendar.html", calendar=calendar, errors=list(errors)), status


@bp.get("/admin/calendar")
def calendar():
    return _calendar_page()


@bp.post("/admin/calendar")
def import_calendar():
    upload = request.files.get("file")
    raw = upload.read(CALENDAR_FILE_MAX + 1) if upload else b""
    if not raw:
        return _calendar_page([("calendar-file", _("请选择一个年度节假日安排文件（JSON）"))], status=400)
    if len(raw) > CALENDAR_FILE_MAX:
        return _calendar_page([("calendar-file", _("文件太大，一个年度的安排只有几 KB"))], status=400)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return _calendar_page([("calendar-file", _("文件不是有效的 JSON（UTF-8）"))], status=400)
    try:
        schedule = services().admin.import_calendar(g.actor, data)
    except CalendarDataError as e:
        return _calendar_page([("calendar-file", localized(str(e)))], status=400)
    flash(_("已导入 {year} 年的节假日安排，期限将按此计算。", year=schedule.year))
    return redirect(url_for("admin.calendar"))


# --- failed notifications -------------------------------------------------------------------------
@bp.get("/admin/notifications")
def notifications():
    failed, next_id = services().notifications.outbox(g.actor, status="failed", limit=100)
    return render_template("admin/notifications.html", failed=failed, more=next_id is not None)


@bp.post("/admin/notifications/<id:message_id>/retry")
def retry_notification(message_id: int):
    try:
        services().notifications.retry(g.actor, message_id)
    except Conflict as e:
        flash(localized(e.message))
        return redirect(url_for("admin.notifications"))
    flash(_("通知 {id} 已重新排队发送。", id=message_id))
    return redirect(url_for("admin.notifications"))


# --- the administrators' log ----------------------------------------------------------------------
@bp.get("/admin/events")
def events():
    before = request.args.get("before", "")
    page = services().admin.events(g.actor, before=int(before) if before.isdigit() and len(before) < 19 else None,
                                   subject=request.args.get("subject") or None)
    return render_template("admin/events.html", page=page, subject=request.args.get("subject") or "",
                           field_names=FIELD_NAMES)
