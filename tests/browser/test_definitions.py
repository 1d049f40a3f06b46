"""An admin at a real browser moves the open disputes to the county's new version: the list of
versions, one version drawn, the comparison, a dry run, the confirmation; at desktop width and on a
360 × 740 phone (the diagram scrolls in its box, the page never sideways), axe on each page."""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.accounts import actor_of, add_user
from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    _new_page,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.conftest import BPMN_DIR, definition_files, deploy_files

pytestmark = pytest.mark.browser
VARIANT = Path(__file__).resolve().parents[1] / "fixtures" / "versions" / "mediation_village_7_days.bpmn"


def _county(system):
    with system.db.write() as s:
        add_user(s, "admin1", ["admin"], "qh", "password1", now=system.clock.now())
        intake = actor_of(add_user(s, "intake9", ["intake"], "qh-dz-lc", "password1", now=system.clock.now()))
    party = {"name": "张三", "residence_org": "qh-dz-lc"}
    system.services.cases.register(intake, "mediation", {
        "parties": [{**party, "side": "applicant"}, {**party, "name": "李四", "side": "respondent"}],
        "category": "neighbour", "summary": "排水沟堵塞", "source": "party_application", "risk_level": "green"})
    files = definition_files(BPMN_DIR)
    files["mediation.bpmn"] = VARIANT.read_bytes()
    deploy_files(system, files)


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, bundled=True, more=_county) as found:
        yield found


def test_an_admin_moves_the_open_disputes_after_a_dry_run(page, site, browser):
    ui = BrowserUser(page)
    ui.login("admin1")
    ui.goto("/admin/definitions")
    assert page.get_by_role("heading", name="流程版本", exact=True).is_visible()
    screenshot(page, "definitions-list-desktop")
    assert_accessible(page)

    page.get_by_role("link", name="第 2 版").first.click()
    assert page.locator('svg [data-element-id="mediate_village_late"]').count() == 1
    screenshot(page, "definitions-version-desktop")
    assert_accessible(page)
    page.get_by_role("button", name="比较", exact=True).click()
    assert "/admin/definitions/mediation/diff" in ui.path()

    ui.goto("/admin/definitions/mediation/diff?from=1&to=2")
    assert page.get_by_text("due_in_days(7)").first.is_visible()
    page.get_by_role("button", name="试运行（不作更改）").click()
    assert page.get_by_role("heading", name="试运行结果：没有作任何更改").is_visible()
    screenshot(page, "definitions-dry-run-desktop")
    assert_accessible(page)
    page.get_by_role("button", name="确认迁移").click()
    assert page.get_by_role("heading", name="已迁移", exact=True).is_visible()
    screenshot(page, "definitions-moved-desktop")

    context, phone = _new_page(browser, site, PHONE)
    try:
        BrowserUser(phone).login("admin1")
        for path, name in (("/admin/definitions", "list"), ("/admin/definitions/mediation/2", "version"),
                           ("/admin/definitions/mediation/diff?from=2&to=1", "diff")):
            phone.goto(path)
            assert not has_horizontal_scroll(phone), path
            screenshot(phone, f"definitions-{name}-phone")
    finally:
        context.close()
