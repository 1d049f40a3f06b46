"""零上报 in a real browser: 东镇's justice office sees 柳村 on its list of villages that have not reported
August (石桥村 has, by its dispute); 柳村's mediator confirms "本月无矛盾纠纷" in one click from the start
page; and 柳村 leaves the town's missing list — on a desktop screen and on a 360-px phone."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.accounts import add_org_unit, add_user
from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserUser,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.conftest import START
from tests.mediation.conftest import dispute

pytestmark = pytest.mark.browser


def _town_with_two_villages(system):
    with system.db.write() as s:
        add_org_unit(s, "qh-dz-sq", "石桥村", "village", "qh-dz")
        add_user(s, "jtown1", ["justice_officer"], "qh-dz", "password1", now=START)
        add_user(s, "smed1", ["mediator"], "qh-dz-sq", "password1", now=START)
    data = dispute()
    for party in data["parties"]:
        party["residence_org"] = "qh-dz-sq"
    system.clock.set(datetime(2026, 8, 20, 2, 0, tzinfo=UTC))  # an August dispute of 石桥村
    system.services.cases.register(system.people["intake"], "mediation", data)
    system.clock.set(START)  # 2026-09-01 09:00: August's reports are due by 5 September


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, bundled=True, more=_town_with_two_villages) as found:
        yield found


def missing_list(page):
    return page.locator("section.zero-missing")


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_village_without_cases_files_its_zero_report_and_leaves_the_towns_missing_list(site, browser, viewport):
    context = browser.new_context(base_url=site.url, viewport=PHONE if viewport == "phone" else DESKTOP,
                                  locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    ui = BrowserUser(page)
    try:
        ui.login("jtown1")
        page.get_by_role("link", name="零上报").first.click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="矛盾纠纷月报（零上报）").is_visible()
        assert missing_list(page).get_by_text("柳村").is_visible()
        assert missing_list(page).get_by_text("未上报", exact=True).is_visible()  # said in words, not only in colour
        assert missing_list(page).get_by_text("石桥村").count() == 0
        assert page.locator('tr[data-unit="qh-dz-sq"]').get_by_text("登记案件 1 件").is_visible()
        assert page.get_by_role("button", name="确认本月无矛盾纠纷").count() == 0
        assert not has_horizontal_scroll(page)
        screenshot(page, f"zero-reports-missing-{viewport}")
        assert_accessible(page)
        ui.logout()

        ui.login("vmed1")
        assert page.get_by_role("heading", name="柳村 2026-08 月报待上报").is_visible()
        screenshot(page, f"zero-reports-due-{viewport}")
        assert_accessible(page)
        page.get_by_role("button", name="确认本月无矛盾纠纷").click()
        page.wait_for_load_state()
        assert page.get_by_text("已确认：柳村 2026-08 无矛盾纠纷（零上报）").is_visible()
        assert page.get_by_role("heading", name="柳村 2026-08 月报待上报").count() == 0
        ui.logout()

        ui.login("jtown1")
        ui.goto("/reports/zero")
        page.get_by_label("月份").fill("2026-08")
        page.get_by_role("button", name="查看该月").click()
        page.wait_for_load_state()
        assert missing_list(page).get_by_text("所有村（社区）都已上报。").is_visible()
        assert missing_list(page).get_by_text("柳村").count() == 0
        row = page.locator('tr[data-unit="qh-dz-lc"]')
        assert row.get_by_text("已零上报").is_visible() and row.get_by_text("vmed1").is_visible()
        assert not has_horizontal_scroll(page)
        screenshot(page, f"zero-reports-reported-{viewport}")
        assert_accessible(page)
    finally:
        context.close()
