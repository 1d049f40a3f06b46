"""以案定补 in a real browser: the county justice bureau opens a reviewed entry with its case file
beside it, approves it, and — once the simulated clock has passed the quarter's end — makes the
quarter's payment batch and sees its total; on a desktop screen and on a 360-px phone. The dashboard
is looked at too."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.accounts import actor_of, add_user, find_user
from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.conftest import START
from tests.mediation.conftest import COMPLETE_FILE, dispute

pytestmark = pytest.mark.browser


def _town_office(system):
    with system.db.write() as s:
        add_user(s, "jtown1", ["justice_officer"], "qh-dz", "password1", now=START)


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, bundled=True, more=_town_office) as found:
        yield found


def reviewed_entry(site) -> int:
    """A dispute of 柳村 settled by vmed1 with a complete file; 东镇's justice office has reviewed it."""
    system = site.system
    services, people = system.services, system.people
    data = dispute()
    for party in data["parties"]:
        party["residence_org"] = "qh-dz-lc"
    case_id = services.cases.register(people["intake"], "mediation", data)["id"]
    mediator = people["village_mediator"]

    def step(name, **values):
        (task,) = [t for t in services.tasks.worklist(mediator, case_id) if t["name"] == name]
        return services.tasks.complete(mediator, task["id"], values, services.cases.get(mediator, case_id)["version"])

    step("mediate", result="agreement", agreement_form="written", agreement_text="按协议疏通排水沟", difficulty="difficult")
    step("judicial_confirmation", applied=False)
    step("followup", performance="performed", satisfaction=5)
    (entry,) = step("archive", checklist=COMPLETE_FILE)["subsidy"]
    with system.db.read() as s:
        town = actor_of(find_user(s, "jtown1"))
    services.subsidies.review(town, entry["id"], "卷宗齐全")
    return entry["id"]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_justice_officer_approves_an_entry_and_builds_the_quarters_batch(site, browser, viewport):
    entry = reviewed_entry(site)
    size = PHONE if viewport == "phone" else {"width": 1280, "height": 900}
    context = browser.new_context(base_url=site.url, viewport=size, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    ui = BrowserUser(page)
    try:
        ui.login("justice1")
        ui.goto("/subsidies")
        assert page.get_by_role("link", name="待批准").get_attribute("aria-current") == "page"
        page.get_by_role("link", name=f"第 {entry} 号").first.click()
        page.wait_for_load_state()
        for words in ("案卷", "书面调解协议书", "已履行", "卷宗清单", "80.00 元"):  # village, difficult: 80 元
            assert page.get_by_text(words).count() >= 1, words
        assert not has_horizontal_scroll(page)
        screenshot(page, f"subsidies-entry-{viewport}")
        assert_accessible(page)
        page.get_by_role("button", name="批准", exact=True).click()
        page.wait_for_load_state()
        assert page.get_by_text(f"第 {entry} 号补贴记录已批准。").is_visible()

        ui.goto("/subsidies/batch?quarter=2026Q3")
        assert page.get_by_text("2026Q3 尚未结束").is_visible()
        assert page.get_by_role("button", name="生成 2026Q3 发放批次").count() == 0
        screenshot(page, f"subsidies-batch-before-{viewport}")

        site.system.clock.set(datetime(2026, 10, 9, 1, 0, tzinfo=UTC))  # the quarter has ended
        ui.goto("/subsidies/batch?quarter=2026Q3")
        page.get_by_role("button", name="生成 2026Q3 发放批次").click()
        page.wait_for_load_state()
        assert page.get_by_text("共 1 条，合计 80.00 元").is_visible()
        assert not has_horizontal_scroll(page)
        screenshot(page, f"subsidies-batch-{viewport}")
        assert_accessible(page)
        page.emulate_media(media="print")
        screenshot(page, f"subsidies-batch-print-{viewport}")
        assert not page.get_by_role("navigation", name="主要栏目").is_visible()
        page.emulate_media(media="screen")

        ui.goto("/dashboard")
        assert page.get_by_role("heading", name="枫桥指数：纠纷在哪一级化解").is_visible()
        assert page.locator("svg#chart-fengqiao title").first.text_content()
        assert not has_horizontal_scroll(page)
        screenshot(page, f"dashboard-{viewport}")
        assert_accessible(page)
    finally:
        context.close()
