"""A dispute from the window to the archive, in a real browser, by the people who work it: the window
clerk registers it; the village mediator finds it at the top of 我的待办 and records no agreement; the
town mediator settles it with a written agreement, records no judicial confirmation, the follow-up
and the archive; the case page then shows the path taken, where it stands and the subsidy entry.
The same task list is used on a 360 × 740 phone. Screenshots of every step are kept."""
from __future__ import annotations

import re

import pytest

from engine.accounts import add_user
from tests.browser.conftest import (PHONE, BrowserUser, _new_page, assert_accessible, has_horizontal_scroll,
                                    screenshot, served)
from tests.browser.test_cases import fill_party, no_dialogs
from tests.conftest import START

pytestmark = pytest.mark.browser


def _town_mediator(system):
    with system.db.write() as s:
        add_user(s, "tmed1", ["mediator"], "qh-dz", "password1", now=START, display_name="镇调解员")


@pytest.fixture
def site(tmp_path):
    """The bundled processes, the small county of tests/conftest.py and a mediator of its town."""
    with served(tmp_path, bundled=True, more=_town_mediator) as found:
        yield found


def open_first_task(page, ui, number: str, name: str):
    ui.goto("/tasks")
    first = page.locator("tbody tr").first
    assert number in first.inner_text()
    screenshot(page, f"journey-tasks-{name}")
    first.get_by_role("link", name=re.compile(re.escape(number))).click()
    page.wait_for_load_state()
    assert_accessible(page)


def submit(page, ui, name: str):
    screenshot(page, f"journey-form-{name}")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert ui.path() == "/tasks", page.locator("main").inner_text()[:500]
    assert "已提交" in page.get_by_role("status").inner_text()


def test_a_dispute_goes_from_the_window_to_the_archive_in_the_browser(browser, site, page, ui):
    dialogs = no_dialogs(page)
    # The window clerk registers the dispute.
    ui.login("intake1")
    ui.goto("/cases/new?type=mediation")
    fill_party(page, 0, side="申请人", name="张三", id_number="11010519491231002X")
    fill_party(page, 1, side="被申请人", name="李四")
    page.get_by_label("纠纷类别", exact=True).select_option(label="邻里")
    page.get_by_label("纠纷简要情况", exact=True).fill("排水沟堵塞引发邻里纠纷")
    page.get_by_label("当事人申请", exact=True).check()
    page.get_by_label("绿（一般）", exact=True).check()
    page.get_by_role("button", name="提交登记", exact=True).click()
    page.wait_for_load_state()
    assert re.fullmatch(r"/cases/\d+/receipt", ui.path())
    case_id = int(ui.path().split("/")[2])
    number = page.locator(".receipt-number").inner_text()
    screenshot(page, "journey-receipt")
    ui.logout()

    # The village mediator: at the top of 我的待办; no agreement, so the case goes up to the town.
    ui.login("vmed1")
    open_first_task(page, ui, number, "village")
    page.get_by_label("调解不成（升级）", exact=True).check()
    submit(page, ui, "village-no-agreement")
    assert number not in page.locator("tbody").inner_text() if page.locator("tbody").count() else True
    ui.logout()

    # The town mediator settles it with a written agreement and sees it through to the archive.
    ui.login("tmed1")
    open_first_task(page, ui, number, "town")
    page.get_by_label("达成协议", exact=True).check()
    page.get_by_label("书面调解协议书", exact=True).check()
    page.get_by_label("一般", exact=True).check()
    page.get_by_label("协议内容", exact=True).fill("李四三日内疏通排水沟，双方互不追究")
    submit(page, ui, "town-agreement")
    open_first_task(page, ui, number, "confirmation")
    submit(page, ui, "no-judicial-confirmation")  # 双方是否已共同申请司法确认: left unticked, no
    open_first_task(page, ui, number, "followup")
    page.get_by_label("已履行", exact=True).check()
    page.get_by_label("满意度（1–5）", exact=True).fill("5")
    submit(page, ui, "followup")
    open_first_task(page, ui, number, "archive")
    for item in ("登记表", "权利义务告知书", "当事人身份证明", "调解笔录", "调解协议（如有）", "回访记录（达成协议的）"):
        page.get_by_label(item, exact=True).check()
    submit(page, ui, "archive")

    # The case page: closed, the path it took, and the town mediator's subsidy.
    ui.goto(f"/cases/{case_id}")
    assert_accessible(page)
    screenshot(page, "journey-case-closed")
    svg = page.locator("svg[role=img]")
    for step in ("mediate_village", "mediate_town", "archive"):
        assert "done" in (svg.locator(f'[data-element-id="{step}"]').first.get_attribute("class") or ""), step
    assert svg.locator(".current").count() == 0 and svg.locator(".taken").count() >= 4
    body = page.locator("main").inner_text()
    assert "100.00 元" in body and "tmed1" in body or "镇调解员" in body
    assert "11010519491231002X" not in body
    case = site.system.services.cases.get(site.system.people["auditor"], case_id)
    assert case["status"] == "closed" and case["outcome"] == "resolved_town"
    assert [(e["mediator"], e["amount_fen"]) for e in case["subsidy"]] == [("tmed1", 10000)]
    assert dialogs == []


def test_the_journey_starts_where_it_stands_on_a_phone(browser, site):
    """A grid worker on a cheap phone: the list, the form, the case page, none scrolls sideways."""
    system = site.system
    data = {"parties": [{"side": "applicant", "name": "张三", "residence_org": "qh-dz-lc"},
                        {"side": "respondent", "name": "李四", "residence_org": "qh-dz-lc"}],
            "category": "neighbour", "summary": "排水沟堵塞", "source": "party_application", "risk_level": "green"}
    case = system.services.cases.register(system.people["intake"], "mediation", data)
    context, page = _new_page(browser, site, PHONE)
    ui = BrowserUser(page)
    ui.login("vmed1")
    ui.goto("/tasks")
    assert case["number"] in page.locator("main").inner_text() and not has_horizontal_scroll(page)
    screenshot(page, "journey-phone-tasks")
    page.get_by_role("link", name=re.compile(re.escape(case["number"]))).first.click()
    page.wait_for_load_state()
    assert not has_horizontal_scroll(page)
    screenshot(page, "journey-phone-task")
    ui.goto(f"/cases/{case['id']}")
    svg = page.locator("svg[role=img]")
    assert "current" in (svg.locator('[data-element-id="mediate_village"]').first.get_attribute("class") or "")
    assert not has_horizontal_scroll(page)
    screenshot(page, "journey-phone-case")
    context.close()
