"""The quarterly statistics in a real browser: the county justice bureau's officer opens 调解统计 from
the navigation, asks for 2026Q4, and downloads the XLSX, which is opened with openpyxl and checked
against the tables on the screen, cell by cell. The same page on a 360 × 740 phone. Screenshots of
each step are kept. (The two quarters of tests/pages/reports_world.py, on SQLite.)"""
from __future__ import annotations

import io
import threading
from contextlib import contextmanager

import openpyxl
import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import (
    DESKTOP,
    PHONE,
    BrowserUser,
    Site,
    _new_page,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
)
from tests.pages.app import page_app
from tests.pages.reports_world import build

pytestmark = pytest.mark.browser


@contextmanager
def served_world(tmp_path):
    world = build(f"sqlite:///{tmp_path / 'browser.db'}")
    server = make_server("127.0.0.1", 0, page_app(world.system), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Site(f"http://127.0.0.1:{server.server_port}", world.system)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        world.system.close()


@pytest.fixture
def site(tmp_path):
    with served_world(tmp_path) as found:
        yield found


def screen_tables(page) -> list[list[list[str]]]:
    """Each report table as shown: header, body and total rows, cell texts."""
    tables = []
    for table in page.locator("table.report-table").all():
        rows = []
        for row in table.locator("tr").all():
            rows.append([cell.inner_text().strip() for cell in row.locator("th, td").all()])
        tables.append(rows)
    return tables


def sheet_tables(data: bytes) -> list[list[list[str]]]:
    """The tables of the downloaded sheet, said as the screen says them (money as 元 with two decimals)."""
    rows = [list(r) for r in openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
    money_columns = {i for i, v in enumerate(rows[3]) if v == "补贴发放金额"}
    tables, current = [], None
    for row in rows[1:]:
        cells = ["" if v is None else f"{v:,.2f} 元" if i in money_columns and isinstance(v, (int, float))
                 else str(v) for i, v in enumerate(row)]
        while cells and cells[-1] == "":
            cells.pop()
        if not cells:
            current = []
            tables.append(current)
        else:
            current.append(cells)
    return [t[1:] for t in tables]  # each block starts with its caption


def test_the_justice_officer_opens_the_quarter_s_statistics_and_downloads_the_xlsx(browser, site, tmp_path):
    context, page = _new_page(browser, site, DESKTOP)
    ui = BrowserUser(page)
    ui.login("jcounty1")
    page.get_by_role("link", name="调解统计").first.click()
    page.wait_for_load_state()
    assert ui.path().startswith("/reports/mediation")
    page.get_by_label("季度", exact=True).fill("2026Q4")
    page.get_by_role("button", name="查看", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="矛盾纠纷调解季度统计").is_visible()
    assert "2026Q4" in page.locator(".lede").inner_text()
    assert_accessible(page)
    screenshot(page, "reports-mediation-2026Q4")
    screen = screen_tables(page)
    total = dict(zip(screen[0][0], screen[0][-1], strict=True))
    assert total["单位"] == "合计" and total["受理"] == "4" and total["补贴发放金额"] == "50.00 元"

    with page.expect_download() as waiting:
        page.get_by_role("link", name="Excel 表格（XLSX）").click()
    download = waiting.value
    assert download.suggested_filename.startswith("mediation-report-2026Q4-qh-")
    assert download.suggested_filename.endswith(".xlsx")
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    assert sheet_tables(saved.read_bytes()) == screen
    context.close()

    # On a phone: the page does not scroll sideways (the wide tables scroll in their own region).
    context, phone = _new_page(browser, site, PHONE)
    BrowserUser(phone).login("jcounty1")
    phone.goto("/reports/mediation?quarter=2026Q4")
    assert not has_horizontal_scroll(phone)
    assert phone.get_by_role("link", name="Excel 表格（XLSX）").is_visible()
    screenshot(phone, "reports-mediation-2026Q4-phone")
    phone.goto("/reports/mediation?quarter=2026Q7")
    assert phone.get_by_role("alert").is_visible() and "应写成 2026Q4" in phone.get_by_role("alert").inner_text()
    screenshot(phone, "reports-mediation-bad-quarter-phone")
    context.close()
