"""The administration and the inbox in a real browser: an administrator issues an API token to
another system, revokes it, and the API refuses it at once (401); a village mediator finds a
reminder in the inbox by the count in the navigation, opens the task and marks it read. On a
desktop screen and on a 360-px phone, with screenshots."""
from __future__ import annotations

import json
import re
import urllib.error
import urllib.request

import pytest

from engine.accounts import add_user
from notifications.dispatcher import OutboxDispatcher
from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    _new_page,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.conftest import FIXTURES, START, deploy_dir
from tests.deadlines.conftest import _notification_log_in_tmp  # noqa: F401
from tests.notifications.test_channels import overdue_village_case

pytestmark = pytest.mark.browser


def _an_admin(system):
    with system.db.write() as session:
        add_user(session, "admin1", ["admin"], "qh", "password1", now=START, display_name="系统管理员")


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, more=_an_admin) as found:
        yield found


def api_status(site, token: str, path: str = "/api/v1/audit/verify") -> int:
    request = urllib.request.Request(site.url + path, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_an_administrator_revokes_a_token_and_the_api_then_refuses_it(site, page, ui):
    ui.login("admin1")
    ui.goto("/admin")
    assert page.get_by_role("heading", level=1).inner_text() == "系统管理"
    assert "尚未导入 2027 年的官方节假日安排" in page.get_by_role("region").inner_text()
    screenshot(page, "admin-index-desktop")
    assert_accessible(page)
    page.get_by_role("link", name="用户和令牌").click()
    page.get_by_role("link", name="auditor1", exact=True).click()
    page.wait_for_load_state()
    assert ui.path() == "/admin/users/auditor1"
    page.get_by_label("名称", exact=True).fill("审计对接系统")
    page.get_by_label("有效天数", exact=True).fill("30")
    page.get_by_role("button", name="发放令牌", exact=True).click()
    page.wait_for_load_state()
    token = page.get_by_label("令牌", exact=True).input_value()
    assert token.startswith("fq_")
    screenshot(page, "admin-token-issued-desktop")
    assert_accessible(page)
    assert api_status(site, token) == 200

    row = page.locator("table.tokens tbody tr").first
    assert "审计对接系统" in row.inner_text() and "有效" in row.inner_text()
    row.get_by_role("button", name="撤销").click()
    page.wait_for_load_state()
    assert "已撤销令牌" in page.get_by_role("status").first.inner_text()
    assert "已撤销" in page.locator("table.tokens tbody tr").first.inner_text()
    assert token not in page.content()  # never shown again
    assert api_status(site, token) == 401
    screenshot(page, "admin-token-revoked-desktop")
    page.get_by_role("link", name="查看全部记录").click()
    page.wait_for_load_state()
    log = page.locator("main").inner_text()
    assert "校验通过" in log and "撤销令牌" in log and "发放令牌" in log
    screenshot(page, "admin-events-desktop")


def test_the_admin_pages_on_a_phone(browser, site):
    context, page = _new_page(browser, site, PHONE)
    try:
        ui = BrowserUser(page)
        ui.login("admin1")
        for path, name in (("/admin", "admin-index"), ("/admin/users", "admin-users"),
                           ("/admin/users/med1", "admin-user"), ("/admin/units", "admin-units"),
                           ("/admin/calendar", "admin-calendar"), ("/admin/rates", "admin-rates"),
                           ("/admin/notifications", "admin-notifications"), ("/admin/events", "admin-events")):
            ui.goto(path)
            assert not has_horizontal_scroll(page), path
            screenshot(page, f"{name}-phone")
        ui.goto("/admin/users/med1")
        assert_accessible(page)
    finally:
        context.close()


def test_a_mediator_reads_a_reminder_and_marks_it_read(browser, site):
    deploy_dir(site.system, FIXTURES / "bpmn")
    overdue_village_case(site.system)
    OutboxDispatcher.for_system(site.system).dispatch()
    context, page = _new_page(browser, site, PHONE)
    try:
        ui = BrowserUser(page)
        ui.login("vmed1")
        nav = page.get_by_role("navigation", name="主要栏目")
        inbox_link = nav.get_by_role("link", name=re.compile(r"^通知\s*1 条未读$"))
        assert inbox_link.is_visible()
        screenshot(page, "inbox-nav-count-phone")
        inbox_link.click()
        page.wait_for_load_state()
        assert ui.path() == "/inbox"
        item = page.locator(".inbox-item").first
        assert "未读" in item.inner_text() and "逾期提醒" in item.inner_text()
        assert not has_horizontal_scroll(page)
        screenshot(page, "inbox-unread-phone")
        assert_accessible(page)
        item.get_by_role("link", name="去办理此事项").click()
        page.wait_for_load_state()
        assert ui.path().startswith("/tasks/")
        page.go_back()
        page.wait_for_load_state()
        page.locator(".inbox-item").first.get_by_role("button", name="标为已读").click()
        page.wait_for_load_state()
        assert "已标为已读" in page.get_by_role("status").first.inner_text()
        assert "已读" in page.locator(".inbox-item").first.inner_text()
        assert page.get_by_role("navigation", name="主要栏目").get_by_role("link", name="通知", exact=True).is_visible()
        assert "没有未读通知" in page.locator(".lede").inner_text()
        screenshot(page, "inbox-read-phone")
    finally:
        context.close()
    context, page = _new_page(browser, site, {"width": 1280, "height": 900})
    try:
        BrowserUser(page).login("vmed1")
        page.goto("/inbox")
        screenshot(page, "inbox-read-desktop")
    finally:
        context.close()
