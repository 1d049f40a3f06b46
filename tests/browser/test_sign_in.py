"""Signing in, as a person does it in a real browser: by the labels 用户名 and 密码 and the button 登录."""
from __future__ import annotations

from sqlalchemy import select

from engine.store import User
from tests.browser.conftest import PHONE, BrowserUser, assert_accessible, has_horizontal_scroll, screenshot
from usecases.sign_in import SignIns

import pytest

pytestmark = pytest.mark.browser


def name_user(site, username: str, display_name: str) -> None:
    with site.system.db.write() as session:
        session.scalar(select(User).where(User.username == username)).display_name = display_name


def test_a_village_mediator_signs_in_and_lands_on_the_start_page_with_their_name(site, page, ui):
    name_user(site, "vmed1", "李调解")
    ui.goto("/")
    assert ui.path() == "/login?next=/"
    screenshot(page, "login-desktop")
    ui.login("vmed1")
    assert ui.path() == "/"
    assert page.get_by_role("heading", level=1).inner_text() == "您好，李调解"
    assert page.get_by_role("link", name="我的待办").first.is_visible()
    screenshot(page, "start-page-desktop")
    assert_accessible(page)


def test_a_wrong_password_is_said_in_words_and_the_user_name_stays_typed(site, page, ui):
    ui.login("vmed1", "not-my-password")
    assert page.get_by_role("alert").inner_text().count("用户名或密码不正确") == 1
    assert "错误：用户名或密码不正确" in page.locator(".field-error").inner_text()
    assert page.get_by_label("用户名", exact=True).input_value() == "vmed1"
    assert page.get_by_label("密码", exact=True).input_value() == ""
    screenshot(page, "login-wrong-password")
    assert_accessible(page)


def test_ten_failed_sign_ins_lock_the_account_and_the_address(site, page, ui):
    for n in range(10):
        ui.login("vmed1", f"guess-{n}")
    ui.login("vmed1")  # the right password, too late
    assert ui.path().startswith("/login")
    alert = page.get_by_role("alert").inner_text()
    assert "登录失败次数过多" in alert and "15 分钟后再试" in alert
    ui.login("med1")  # another account from the same address: the address is locked too
    assert "从您所在的网络地址登录失败次数过多" in page.get_by_role("alert").inner_text()
    screenshot(page, "login-locked")
    reasons = [row["reason"] for row in reversed(SignIns(site.system).recent())]
    assert reasons == ["wrong_password"] * 5 + ["locked_account"] * 6 + ["locked_address"]
    assert {row["client_address"] for row in SignIns(site.system).recent()} == {"127.0.0.1"}


def test_signing_out_ends_the_session(site, page, ui):
    ui.login("vmed1")
    ui.logout()
    assert ui.path() == "/login"
    assert "您已退出登录" in page.get_by_role("status").inner_text()
    ui.goto("/")
    assert ui.path() == "/login?next=/"


def test_the_sign_in_page_fits_a_phone_and_passes_the_accessibility_check(site, phone_page):
    ui = BrowserUser(phone_page)
    ui.goto("/login")
    assert phone_page.viewport_size == PHONE
    assert not has_horizontal_scroll(phone_page)
    for name in ("用户名", "密码"):
        assert phone_page.get_by_label(name, exact=True).bounding_box()["height"] >= 44
    assert phone_page.get_by_role("button", name="登录", exact=True).bounding_box()["height"] >= 44
    screenshot(phone_page, "login-phone")
    assert_accessible(phone_page)
    ui.login("vmed1")
    assert not has_horizontal_scroll(phone_page)
    screenshot(phone_page, "start-page-phone")
    assert_accessible(phone_page)
    small = phone_page.get_by_role("heading", level=1).bounding_box()["height"]
    phone_page.get_by_role("link", name="大字号").click()  # the larger text older users ask for
    phone_page.wait_for_url("**/?size=large")
    assert phone_page.get_by_role("heading", level=1).bounding_box()["height"] > small
    assert not has_horizontal_scroll(phone_page)
    screenshot(phone_page, "start-page-phone-large-text")
    phone_page.get_by_role("link", name="标准字号").click()
    phone_page.wait_for_url("**/?size=normal")
    assert phone_page.get_by_role("heading", level=1).bounding_box()["height"] == small


def test_english_labels_and_the_choice_is_remembered_after_signing_in(site, page, ui):
    ui.goto("/login?lang=en")
    assert page.locator("html").get_attribute("lang") == "en"
    ui.login("vmed1", labels=("Username", "Password", "Sign in"))
    assert page.get_by_role("heading", level=1).inner_text() == "Hello, vmed1"
    screenshot(page, "start-page-english")
    ui.logout(button="Sign out")
    fresh = page.context.browser.new_context(base_url=site.url)
    try:
        other = BrowserUser(fresh.new_page())
        other.login("vmed1")  # the Chinese page: a new browser knows nothing yet …
        assert other.page.get_by_role("heading", level=1).inner_text() == "Hello, vmed1"  # … the account does
    finally:
        fresh.close()


def test_a_form_sent_without_its_csrf_token_is_refused_and_changes_nothing(site, page, ui):
    ui.goto("/login")
    page.locator("input[name=csrf_token]").evaluate("input => input.remove()")
    ui.login("vmed1")
    assert "页面已过期" in page.get_by_role("heading", level=1).inner_text()
    assert page.get_by_role("link", name="返回上一页").get_attribute("href") == "/login"
    screenshot(page, "error-csrf")
    assert_accessible(page)
    assert SignIns(site.system).recent() == []
    ui.goto("/")
    assert ui.path() == "/login?next=/"


def test_pages_carry_the_security_headers_and_the_api_its_own(site, page, ui):
    response = ui.goto("/login")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    ui.login("vmed1")
    assert ui.goto("/").headers["cache-control"] == "no-store"
    api = ui.goto("/api/v1/openapi.json")
    assert api.status == 200 and api.headers["content-type"].startswith("application/json")
    # JSON for programs: never rendered as a page, framed or stored (tests/operations/test_responses.py).
    assert api.headers["content-security-policy"].startswith("default-src 'none'")
    assert api.headers["cache-control"] == "no-store" and api.headers["x-frame-options"] == "DENY"


def test_a_script_typed_as_a_user_name_stays_text_and_opens_no_dialog(site, page, ui):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    attack = '"><script>alert("x")</script><img src=x onerror=alert(2)>'
    ui.login(attack, "whatever")
    assert page.get_by_label("用户名", exact=True).input_value() == attack
    assert page.locator("script").count() == 0 and page.locator("img").count() == 0
    page.wait_for_timeout(200)
    assert dialogs == []


def test_an_unknown_address_shows_a_page_with_a_way_back(site, page, ui):
    ui.login("vmed1")
    ui.goto("/")
    response = ui.goto("/cases/999999-no-such")
    assert response.status == 404
    assert "找不到这个页面" in page.get_by_role("heading", level=1).inner_text()
    screenshot(page, "error-404")
    assert_accessible(page)
    page.get_by_role("link", name="返回首页").click()
    assert ui.path() == "/"


def test_the_sign_in_works_by_keyboard_alone_with_the_focus_clearly_shown(site, page, ui):
    ui.goto("/login")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    assert ui.path().endswith("#main")
    page.get_by_label("用户名", exact=True).focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert float(outline.removesuffix("px")) >= 3
    page.keyboard.type("vmed1")
    page.keyboard.press("Tab")
    page.keyboard.type("password1")
    screenshot(page, "login-keyboard-focus")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert ui.path() == "/"
