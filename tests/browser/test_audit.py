"""An auditor in a real browser: finds a case by a party's name, opens its history and sees the chain
verified, and downloads the search result as XLSX, which is opened with openpyxl and checked against
the screen, cell by cell. The same pages on a 360 × 740 phone, and the case file as it prints.
Screenshots of every step are kept."""
from __future__ import annotations

import re

import pytest

from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    _new_page,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.pages.test_audit import SECRETS, build_county, xlsx_rows

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path):
    """The bundled processes and this county's settled, open and petition cases (tests/pages/test_audit.py)."""
    def cases(system):
        system.cases = build_county(system)

    with served(tmp_path, bundled=True, more=cases) as found:
        yield found


def screen_rows(page, css_class: str) -> list[list[str]]:
    """The table's header and rows as the person sees them (whitespace collapsed)."""
    return page.evaluate("""(css) => [...document.querySelectorAll(`table.${css} tr`)].map(tr =>
        [...tr.querySelectorAll('th, td')].map(c => c.textContent.replace(/\\s+/g, ' ').trim()))""", css_class)


def test_an_auditor_finds_a_case_by_a_party_s_name_sees_its_chain_verified_and_downloads_the_xlsx(
        browser, site, page, ui, tmp_path):
    ui.login("auditor1")
    page.get_by_role("link", name="审计", exact=True).first.click()
    page.wait_for_load_state()
    assert ui.path() == "/audit"
    page.get_by_label("当事人", exact=True).fill("张三")
    page.get_by_role("button", name="查询", exact=True).click()
    page.wait_for_load_state()
    rows = screen_rows(page, "audit-results")
    assert len(rows) == 2, rows  # the header and the one case
    number = rows[1][0]
    assert "张三 110105********002X 138****8000" in rows[1][2]
    screenshot(page, "audit-search-desktop")
    assert_accessible(page)

    page.get_by_role("link", name=number, exact=True).click()
    page.wait_for_load_state()
    assert re.fullmatch(r"/audit/cases/\d+", ui.path())
    verdict = page.locator("#verification")
    assert "✓ 哈希链完整" in verdict.inner_text()
    assert {row[6] for row in screen_rows(page, "audit-history")[1:]} == {"✓ 正确"}
    screenshot(page, "audit-history-desktop")
    assert_accessible(page)

    page.go_back()
    page.wait_for_load_state()
    with page.expect_download() as waiting:
        page.get_by_role("link", name="下载 Excel 表格（XLSX）").click()
    download = waiting.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    data = saved.read_bytes()
    screen = [row[:-1] for row in screen_rows(page, "audit-results")]  # the last column links to the history
    assert xlsx_rows(data) == screen
    assert not [s for s in SECRETS if s in data.decode("latin-1")]

    # The case file as it prints on A4: the cover, then the checklist's items.
    ui.goto(f"/audit/cases/{site.system.cases['neighbours']}/file")
    page.emulate_media(media="print")
    screenshot(page, "audit-file-print")
    assert page.locator(".audit-nav").is_hidden()
    page.emulate_media(media="screen")


def test_the_audit_pages_fit_a_phone(browser, site):
    context, page = _new_page(browser, site, PHONE)
    try:
        ui = BrowserUser(page)
        ui.login("auditor1")
        for name, path in (("search", "/audit?party=张三"), ("all", "/audit"),
                           ("history", f"/audit/cases/{site.system.cases['neighbours']}"),
                           ("verify", "/audit/verify"), ("ledger", "/audit/ledger"),
                           ("file", f"/audit/cases/{site.system.cases['neighbours']}/file")):
            ui.goto(path)
            screenshot(page, f"audit-{name}-phone")
            assert not has_horizontal_scroll(page), path
        # The whole store's verification runs in the server's background; the page refreshes itself
        # (<meta http-equiv="refresh">) until it is done.
        ui.goto("/audit/verify")
        page.get_by_role("button", name="开始全库校验", exact=True).click()
        page.get_by_text("校验完成", exact=False).first.wait_for(timeout=60_000)
        assert "✓ 校验完成：全部哈希链完整" in page.locator("main").inner_text()
        screenshot(page, "audit-verify-done-phone")
    finally:
        context.close()
