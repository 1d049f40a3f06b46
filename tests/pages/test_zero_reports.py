"""零上报 as a browser without JavaScript meets it: the village mediator's start page offers the one
click while the month just ended is due; the county sees 柳村 leave its missing list; refusals come
back in words, and nothing is changed by a form without its token."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from engine.store import MonthlyZeroReport


def missing_list(html: str) -> str:
    return html.split('id="missing-title"', 1)[1].split("</section>", 1)[0]


def zero_rows(system) -> int:
    with system.db.read() as s:
        return s.scalar(select(func.count()).select_from(MonthlyZeroReport))


def test_the_village_mediator_confirms_from_the_start_page_and_the_county_sees_it(ui, browser_at, system):
    county = browser_at("127.0.0.2")
    county.login("justice1")
    before = county.page("/reports/zero?month=2026-08")
    assert "柳村" in missing_list(before) and "未上报" in missing_list(before) and "✖" in missing_list(before)
    assert "确认本月无矛盾纠纷" not in before  # the county's justice office reads, never confirms

    ui.login("vmed1")
    home = ui.page("/")
    assert "柳村 2026-08 月报待上报" in home and "确认本月无矛盾纠纷" in home and "已逾期" not in home
    response = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-08", "back": "home"},
                         form_page="/")
    assert response.status_code == 303 and response.headers["Location"].endswith("/")
    home = ui.page("/")
    assert "已确认：柳村 2026-08 无矛盾纠纷（零上报）" in home and "月报待上报" not in home

    after = county.page("/reports/zero?month=2026-08")
    assert "所有村（社区）都已上报。" in missing_list(after)
    row = re.search(r'<tr data-unit="qh-dz-lc" data-status="zero">.*?</tr>', after, re.DOTALL).group(0)
    assert "已零上报" in row and "vmed1" in row and "2026-09-01 09:00" in row


def test_the_reports_page_offers_the_button_and_a_refusal_is_said_in_words(ui, system):
    ui.login("vmed1")
    page = ui.page("/reports/zero")
    assert 'name="month" value="2026-08"' in page and "确认本月无矛盾纠纷" in page
    refused = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-10"}, form_page="/reports/zero")
    assert refused.status_code == 409 and "2026-10 尚未开始，不能上报" in refused.get_data(as_text=True)
    assert zero_rows(system) == 0
    done = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-09"}, form_page="/reports/zero")
    assert done.status_code == 303 and done.headers["Location"].endswith("/reports/zero?month=2026-09")
    again = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-09"}, form_page="/reports/zero")
    assert again.status_code == 409 and "已由 vmed1" in again.get_data(as_text=True)
    assert zero_rows(system) == 1


def test_a_form_without_its_token_changes_nothing(ui, system):
    ui.login("vmed1")
    response = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-08"}, with_token=False)
    assert response.status_code == 400 and zero_rows(system) == 0


def test_another_unit_s_mediator_is_refused_and_intake_has_no_reports_page(ui, browser_at, system):
    ui.login("med1")  # a county mediator: reads every village, confirms none
    assert "确认本月无矛盾纠纷" not in ui.page("/reports/zero?month=2026-08")
    refused = ui.submit("/reports/zero/confirm", {"unit": "qh-dz-lc", "month": "2026-08"}, form_page="/reports/zero")
    assert refused.status_code == 403 and zero_rows(system) == 0
    intake = browser_at("127.0.0.3")
    intake.login("intake1")
    assert intake.get("/reports/zero").status_code == 403
    assert "/reports/zero" not in intake.page("/")


def test_a_mistyped_month_shows_the_default_month_with_the_reason(ui):
    ui.login("auditor1")
    response = ui.get("/reports/zero?month=2026-8")
    text = response.get_data(as_text=True)
    assert response.status_code == 400 and "月份应写作 YYYY-MM" in text and 'value="2026-08"' in text


def test_the_page_in_english(ui):
    ui.login("vmed1")
    text = ui.page("/reports/zero?lang=en")
    assert "Monthly dispute reports (zero report)" in text and "Confirm: no dispute this month" in text
    assert "Not reported" in text
