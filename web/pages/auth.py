"""Signing in and out, the signed-in user of each request, and the page language and text size.

A session holds only the user name (plus the CSRF token, language, text size, last-seen time); each
request loads the user afresh, so a deactivated account is shut out at its next click.
"""
from __future__ import annotations

from flask import (Blueprint, current_app, flash, g, redirect, render_template, request, session,
                   url_for)

from engine.errors import Unauthenticated
from usecases.sign_in import LockedOut, SignIns
from web.i18n import DEFAULT_LANGUAGE, LANGUAGES, _
from web.security import SESSION_USER, end_session, is_api_request, is_public, public, safe_next

bp = Blueprint("auth", __name__)

SIGN_INS = "fengqiao.sign_ins"
TEXT_SIZES = ("normal", "large")
_CHOSEN_BEFORE_SIGN_IN = "lang_chosen"
CREDENTIALS_VERSION = "cv"  # the password's version at sign-in (a reset ends older sessions)


def sign_ins() -> SignIns:
    return current_app.extensions[SIGN_INS]


def _is_page_request() -> bool:
    return not is_api_request() and request.endpoint != "static"


# --- before every page request (init_pages registers these, in this order) ----------------------
def load_signed_in_user() -> None:
    """`g.user` (a `SignedInUser`, or None) and `g.actor` (its `Actor`, or None) for the page."""
    if not _is_page_request():
        return
    g.user = g.actor = None
    username = session.get(SESSION_USER)
    if username:
        try:
            user = sign_ins().signed_in_user(username)
        except Unauthenticated:
            end_session()
            g.account_closed = True
            return
        if session.get(CREDENTIALS_VERSION, 0) != user.credentials_version:
            end_session()  # the password was reset since this browser signed in
            g.password_changed = True
            return
        g.user, g.actor = user, user.actor


def choose_language_and_text_size() -> None:
    """`?lang=zh|en` on any page switches the language (kept in the session, and for a signed-in
    user in their account); `?size=large|normal` the text size (kept in the session)."""
    if not _is_page_request():
        return
    requested = request.args.get("lang")
    if requested in LANGUAGES:
        session["lang"] = requested
        user = g.get("user")
        if user is None:
            session[_CHOSEN_BEFORE_SIGN_IN] = True
        elif user.language != requested:
            sign_ins().set_language(user.username, requested)
    size = request.args.get("size")
    if size in TEXT_SIZES:
        session["size"] = size
    user = g.get("user")
    g.lang = session.get("lang") or (user.language if user else None) or DEFAULT_LANGUAGE
    g.text_large = session.get("size") == "large"


def require_sign_in():
    """Every page needs a signed-in user unless its view is marked `@public`."""
    if not _is_page_request():
        return None
    # Said here, once the page's language is known, on whichever page the person lands.
    if g.get("account_closed"):
        flash(_("您的账号已停用，如有疑问请联系本单位的系统管理员。"), "notice")
    elif g.get("password_changed"):
        flash(_("您的密码已被管理员重设，请用新密码重新登录。"), "notice")
    elif g.get("session_expired"):
        flash(_("您已较长时间没有操作，为了安全已自动退出，请重新登录。"), "notice")
    if request.endpoint is None:
        return None  # an unknown address answers 404 either way
    if g.get("user") is not None or is_public(current_app.view_functions.get(request.endpoint)):
        return None
    return redirect(login_url())


def login_url() -> str:
    """/login, with the page to come back to (a GET's own address) after signing in."""
    if request.method == "GET":
        return url_for("auth.login", next=safe_next(request.full_path.rstrip("?")))
    return url_for("auth.login")


# --- the pages --------------------------------------------------------------------------------
@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    next_page = safe_next(request.values.get("next"))
    if request.method == "GET":
        if g.get("user") is not None:
            return redirect(next_page)
        return render_template("auth/login.html", next=next_page, username="", errors=[], field_errors={})

    username = request.form.get("username", "")
    password = request.form.get("password", "")
    field_errors = {}
    if not username.strip():
        field_errors["username"] = _("请输入用户名")
    if not password:
        field_errors["password"] = _("请输入密码")
    if field_errors:
        return _login_again(next_page, username, field_errors, status=400)
    try:
        actor = sign_ins().sign_in(username, password, request.remote_addr)
    except LockedOut as locked:
        if locked.scope == "account":
            message = _("这个用户名登录失败次数过多，已暂停登录。请 {minutes} 分钟后再试，或联系本单位的系统管理员。",
                        minutes=locked.minutes_left)
        else:
            message = _("从您所在的网络地址登录失败次数过多，已暂停登录。请 {minutes} 分钟后再试，或联系本单位的系统管理员。",
                        minutes=locked.minutes_left)
        return _login_again(next_page, username, {}, general=message, status=429)
    except Unauthenticated:
        return _login_again(next_page, username, {"password": _("用户名或密码不正确")}, status=400)

    lang, chosen, size = session.get("lang"), session.get(_CHOSEN_BEFORE_SIGN_IN), session.get("size")
    session.clear()  # nothing of the anonymous session (its CSRF token above all) outlives the sign-in
    session[SESSION_USER] = actor.username
    user = sign_ins().signed_in_user(actor.username)
    session[CREDENTIALS_VERSION] = user.credentials_version
    # A language picked on the sign-in page is a choice and becomes the user's; one merely left over
    # from the last person's session on this browser yields to the user's own.
    if chosen and lang in LANGUAGES:
        if user.language != lang:
            sign_ins().set_language(actor.username, lang)
    elif user.language in LANGUAGES:
        lang = user.language
    if lang in LANGUAGES:
        session["lang"] = lang
    if size in TEXT_SIZES:
        session["size"] = size
    return redirect(next_page)


def _login_again(next_page: str, username: str, field_errors: dict[str, str], *, general: str | None = None,
                 status: int):
    errors = ([(None, general)] if general else []) + list(field_errors.items())
    return render_template("auth/login.html", next=next_page, username=username.strip()[:200],
                           errors=errors, field_errors=field_errors), status


@bp.route("/logout", methods=["GET", "POST"])
@public
def logout():
    if request.method == "GET":
        if g.get("user") is None:
            return redirect(url_for("auth.login"))
        return render_template("auth/logout.html")
    forget_user()
    flash(_("您已退出登录。"), "notice")
    return redirect(url_for("auth.login"))


def forget_user() -> None:
    """End the signed-in session, keeping only the language and text size of this browser."""
    end_session()
    g.user = g.actor = None
