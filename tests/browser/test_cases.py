"""Registering a dispute and reading its case page in a real browser: the form worked by its labels
and buttons (a party added with the button, no script needed), the receipt on screen and in print,
the case page at desktop width and on a 360 × 740 phone (the diagram scrolls in its box, the page
never sideways), axe on each page, and no script running from what a clerk typed."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    BrowserUser,
    served,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
)

pytestmark = pytest.mark.browser

XSS = "<script>alert(1)</script>"


@pytest.fixture
def site(tmp_path):
    """The served app on the bundled processes (this module's own; conftest's serves test fixtures)."""
    with served(tmp_path, bundled=True) as found:
        yield found


def no_dialogs(page) -> list[str]:
    """Every alert/confirm the page tries to open (there must be none: no script runs)."""
    seen: list[str] = []

    def refuse(dialog):
        seen.append(dialog.message)
        dialog.dismiss()
    page.on("dialog", refuse)
    return seen


def fill_party(page, index: int, *, side: str, name: str, id_number: str = "", residence: str = "东镇 · 柳村"):
    block = page.locator(f"#f-parties-{index}")
    block.get_by_label(side, exact=True).check()
    block.get_by_label("姓名", exact=True).fill(name)
    if id_number:
        block.get_by_label("公民身份号码（选填）", exact=True).fill(id_number)
    block.get_by_label("居住地（村/社区）", exact=True).select_option(label=residence)


def a_registered_dispute(site) -> int:
    data = {"parties": [
        {"side": "applicant", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
         "household_address": "东镇柳村3组", "residence_org": "qh-dz-lc"},
        {"side": "respondent", "name": "李四", "phone": "13900139000", "residence_org": "qh-dz-lc"}],
        "category": "neighbour", "summary": XSS + "排水沟堵塞", "source": "party_application", "risk_level": "green"}
    return site.system.services.cases.register(site.system.people["intake"], "mediation", data)["id"]


def test_a_clerk_registers_a_dispute_in_the_browser_and_gets_the_receipt(page, ui, site):
    dialogs = no_dialogs(page)
    ui.login("intake1")
    ui.goto("/cases/new?type=mediation")
    assert_accessible(page)
    screenshot(page, "cases-register-form")

    fill_party(page, 0, side="申请人", name="张三", id_number="11010519491231002X")
    fill_party(page, 1, side="被申请人", name="李四")
    page.get_by_role("button", name="添加当事人", exact=True).click()  # a submit button: the page comes back
    page.wait_for_load_state()
    assert page.locator("#f-parties-0").get_by_label("姓名", exact=True).input_value() == "张三"
    fill_party(page, 2, side="被申请人", name="王五")
    page.get_by_label("纠纷类别", exact=True).select_option(label="邻里")
    page.get_by_label("纠纷简要情况", exact=True).fill(XSS + "排水沟堵塞引发邻里纠纷")
    page.get_by_label("当事人申请", exact=True).check()
    page.get_by_label("绿（一般）", exact=True).check()
    page.get_by_label("争议金额（选填）", exact=True).fill("abc")
    page.get_by_role("button", name="提交登记", exact=True).click()
    page.wait_for_load_state()

    # Refused in words at the top and beside the field, what was typed still there.
    summary = page.locator(".error-summary")
    assert "请填写金额，如 1200.50" in summary.inner_text()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "f-amount_fen"
    assert page.locator("#f-parties-2").get_by_label("姓名", exact=True).input_value() == "王五"
    assert_accessible(page)
    screenshot(page, "cases-register-error")

    page.get_by_label("争议金额（选填）", exact=True).fill("1200.50")
    page.get_by_role("button", name="提交登记", exact=True).click()
    page.wait_for_load_state()
    assert re.fullmatch(r"/cases/\d+/receipt", ui.path())
    assert page.locator(".receipt-number").inner_text() == "MED-2026-000001"
    body = page.locator("main").inner_text()
    assert "2026年9月11日 23:59" in body and "柳村" in body and "11010519491231002X" not in body
    assert XSS in body  # shown as the text typed, never run
    assert_accessible(page)
    screenshot(page, "cases-receipt")

    # Printed, the receipt is the content alone: no header, navigation or buttons.
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and not page.locator(".next-steps").is_visible()
    assert page.locator(".receipt-number").is_visible()
    screenshot(page, "cases-receipt-print")
    page.emulate_media(media="screen")

    page.get_by_role("link", name="查看案件", exact=True).click()
    page.wait_for_load_state()
    assert page.locator("#h-timeline").is_visible() and not dialogs


def test_the_case_page_reads_at_desktop_width_and_on_a_phone(page, phone_page, site):
    case_id = a_registered_dispute(site)
    for shown, name in ((page, "desktop"), (phone_page, "phone")):
        dialogs = no_dialogs(shown)
        person = BrowserUser(shown)
        person.login("vmed1")
        person.goto(f"/cases/{case_id}")
        assert shown.locator("h1").inner_text().startswith("MED-2026-000001")
        current = shown.locator('.diagram-scroll [data-element-id="mediate_village"]')
        assert "current" in current.get_attribute("class")
        box = shown.locator(".diagram-scroll")
        # The diagram keeps its size and scrolls in its box; the page itself never scrolls sideways.
        assert box.evaluate("el => el.scrollWidth > el.clientWidth")
        box.evaluate("el => { el.scrollLeft = 600; }")
        assert box.evaluate("el => el.scrollLeft") > 0
        assert not has_horizontal_scroll(shown)
        assert "110105********002X" in shown.locator("#parties").inner_text()
        assert XSS in shown.locator("#parties").inner_text() and not dialogs
        assert_accessible(shown)
        screenshot(shown, f"cases-page-{name}")

    # The handler's look at the full numbers, by the button.
    page.get_by_role("button", name="显示完整信息", exact=True).click()
    page.wait_for_load_state()
    assert "11010519491231002X" in page.locator("#parties").inner_text()
    assert "查看了完整的身份证号和电话" in page.locator("#timeline").inner_text()
    assert_accessible(page)
    screenshot(page, "cases-page-unmasked")


def test_the_register_form_and_the_receipt_fit_a_phone(phone_page, site):
    ui = BrowserUser(phone_page)
    ui.login("intake1")
    ui.goto("/cases/new?type=petition")
    assert not has_horizontal_scroll(phone_page)
    assert_accessible(phone_page)
    screenshot(phone_page, "cases-register-petition-phone")
    case_id = a_registered_dispute(site)
    ui.goto(f"/cases/{case_id}/receipt")
    assert not has_horizontal_scroll(phone_page)
    screenshot(phone_page, "cases-receipt-phone")
