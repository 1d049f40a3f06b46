"""What keeps the pages safe in a browser: forms need their page's CSRF token, the session cookie is
HttpOnly/SameSite (and Secure over HTTPS), an idle session ends, every page carries the security
headers, a sign-in never redirects off the site, and errors show pages that give nothing away."""
from __future__ import annotations

import time

from flask import Blueprint
from sqlalchemy import func, select

from engine.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.store import SignInLog
from tests.pages.app import page_app
from tests.pages.conftest import PASSWORD, PageUser
from web.security import CONTENT_SECURITY_POLICY

CSP = CONTENT_SECURITY_POLICY


def sign_in_count(system) -> int:
    with system.db.read() as session:
        return session.scalar(select(func.count()).select_from(SignInLog))


def test_a_sign_in_form_posted_without_its_token_is_refused_and_changes_nothing(system, ui):
    ui.get("/login")  # the session exists, with a token the forged form does not know
    response = ui.submit("/login", {"username": "vmed1", "password": PASSWORD, "next": "/"}, with_token=False)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "页面已过期" in page and "没有做任何更改" in page and "Nothing was changed" in page
    assert sign_in_count(system) == 0
    assert ui.get("/").status_code == 302


def test_a_token_from_another_browser_does_not_count(system, ui, browser_at):
    stolen = browser_at("10.9.9.9").token()
    ui.get("/login")
    response = ui.client.post("/login", data={"username": "vmed1", "password": PASSWORD, "csrf_token": stolen})
    assert response.status_code == 400 and sign_in_count(system) == 0


def test_signing_out_needs_the_token_too_and_ends_the_session(ui):
    ui.login("vmed1")
    assert ui.submit("/logout", {}, with_token=False).status_code == 400
    assert ui.get("/").status_code == 200  # still signed in: a forged sign-out did nothing
    assert "退出登录" in ui.page("/logout")  # the GET page only offers the button
    assert ui.get("/").status_code == 200
    response = ui.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "您已退出登录" in ui.page("/login")
    assert ui.get("/").headers["Location"] == "/login?next=/"


def test_every_page_carries_the_security_headers_and_a_signed_in_page_is_never_cached(ui):
    for response in (ui.get("/login"), ui.get("/no-such-page")):
        assert response.headers["Content-Security-Policy"] == CSP
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "same-origin"
    assert "unsafe-inline" not in CSP and "script-src 'self'" in CSP
    ui.login("vmed1")
    page = ui.get("/")
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Content-Security-Policy"] == CSP
    assert "<script" not in page.get_data(as_text=True) and "style=" not in page.get_data(as_text=True)


def test_the_api_keeps_its_json_answers_with_headers_of_its_own_and_no_csrf_checks(ui):
    document = ui.get("/api/v1/openapi.json")
    assert document.status_code == 200 and document.is_json
    # Not the pages' policy: JSON that is never rendered, framed or stored (tests/operations/test_responses.py).
    assert document.headers["Content-Security-Policy"] != CSP and document.headers["Cache-Control"] == "no-store"
    unknown = ui.get("/api/v1/no-such-route")
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "not_found"
    # A POST with a bearer token and no CSRF token reaches the API, which judges the token itself.
    refused = ui.client.post("/api/v1/cases", json={"type": "mediation", "data": {}},
                             headers={"Authorization": "Bearer fq_not-a-token"})
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthenticated"
    ui.login("vmed1")
    assert ui.get("/api/v1/cases").status_code == 401  # the page session is no API credential


def test_the_session_cookie_is_httponly_and_samesite_and_secure_over_https(app):
    plain = app.test_client().get("/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    secure = app.test_client().get("/login", base_url="https://fengqiao.example").headers["Set-Cookie"]
    assert "Secure" in secure and "HttpOnly" in secure


def test_a_session_left_idle_for_longer_than_the_setting_must_sign_in_again(ui):
    ui.login("vmed1")
    with ui.client.session_transaction() as session:
        session["_seen"] = time.time() - 7.9 * 3600
    assert ui.get("/").status_code == 200
    with ui.client.session_transaction() as session:
        session["_seen"] = time.time() - 8.1 * 3600
    response = ui.get("/")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/"
    assert "为了安全已自动退出" in ui.page("/login")
    assert ui.get("/").status_code == 302


def test_the_idle_limit_is_a_setting(database_url):
    from tests.conftest import FIXTURES, make_system, seed_people
    system = make_system(database_url, FIXTURES / "bpmn", session_idle_hours=1)
    try:
        seed_people(system)
        ui = PageUser(page_app(system))
        ui.login("vmed1")
        with ui.client.session_transaction() as session:
            session["_seen"] = time.time() - 3700
        assert ui.get("/").status_code == 302
    finally:
        system.close()


def test_signing_in_never_redirects_to_another_site(ui):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        ui.logout() if ui.get("/").status_code == 200 else None
        response = ui.login("vmed1", next_page=target)
        assert response.headers["Location"] == "/", target
    ui.logout()
    assert ui.login("vmed1", next_page="/tasks?case=3").headers["Location"] == "/tasks?case=3"


def test_a_typed_script_comes_back_as_text(ui):
    page = ui.login("<script>alert(1)</script>", "x").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page


def test_english_is_one_click_away_and_remembered_after_signing_in(system, ui):
    page = ui.page("/login?lang=en")
    assert '<html lang="en"' in page
    for label in ('<label for="username">Username</label>', '<label for="password">Password</label>',
                  ">Sign in</button>"):
        assert label in page
    assert "用户名" not in page
    ui.login("vmed1")
    assert "Hello, vmed1" in ui.page("/")
    ui.logout()
    other_browser = PageUser(ui.app, "10.3.3.3")
    other_browser.login("vmed1")
    assert "Hello, vmed1" in other_browser.page("/")  # kept in the account, not just this browser
    assert "您好，vmed1" in other_browser.page("/?lang=zh")
    assert '<html lang="zh-CN"' in PageUser(ui.app).page("/login")  # Chinese by default


def test_error_pages_speak_both_languages_and_a_hidden_case_reads_exactly_like_a_missing_one(system):
    app = page_app(system)
    bp = Blueprint("trouble", __name__)

    @bp.get("/cases/<int:case_id>")
    def case(case_id):
        raise NotFound("案件不存在 / no such case" if case_id == 1 else "无权查看 / not in your jurisdiction")

    @bp.get("/trouble/<kind>")
    def trouble(kind):
        errors = {"forbidden": Forbidden("您不能审批本单位以外的补贴 / not your unit"),
                  "conflict": Conflict("案件已被他人更新 / the case moved on"),
                  "invalid": InvalidInput("日期格式不对 / bad date"), "signin": Unauthenticated("请登录 / sign in")}
        if kind == "crash":
            raise RuntimeError("a bug")
        raise errors[kind]

    app.register_blueprint(bp)
    ui = PageUser(app)
    ui.login("vmed1")

    def body(response):
        text = response.get_data(as_text=True)
        return text[text.index("<main"):]

    missing, hidden, unknown = ui.get("/cases/1"), ui.get("/cases/2"), ui.get("/no-such-page")
    assert missing.status_code == hidden.status_code == unknown.status_code == 404
    assert body(missing) == body(hidden) == body(unknown)
    assert "找不到这个页面" in body(missing) and "Page not found" in body(missing)
    assert "jurisdiction" not in body(hidden) and 'href="/"' in body(missing)

    for kind, status, words in (("forbidden", 403, "您没有权限"), ("conflict", 409, "案件已有变化"),
                                ("invalid", 400, "填写的内容有误"), ("crash", 500, "系统出了问题")):
        response = ui.client.get(f"/trouble/{kind}", headers={"Referer": "http://localhost/"})
        assert response.status_code == status, kind
        text = body(response)
        assert words in text and 'href="/"' in text and "<script" not in text
        assert "返回上一页" in text  # a plain link back to where the person came from
    assert "您不能审批本单位以外的补贴" in body(ui.get("/trouble/forbidden"))
    signin = ui.get("/trouble/signin")
    assert signin.status_code == 302 and signin.headers["Location"] == "/login?next=/trouble/signin"
