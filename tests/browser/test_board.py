"""The petition office's board and the leader's page in a real browser: the county bureau's officer
finds a repeat petition nobody owns on 信访工作台, names 李副县长 its owner with the reason and sees
the board's figures change; 李副县长 then records a progress report on 我包案的事项. Screenshots at
desktop width and on a 360-px phone."""
from __future__ import annotations

import re

import pytest

from engine.accounts import add_user
from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    _new_page,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
    served,
)
from tests.conftest import START

pytestmark = pytest.mark.browser

WANG_WU = {"name": "王五", "id_number": "11010519491231002X", "phone": "13800138000", "address": "东镇柳村3组"}


def petition(**extra) -> dict:
    return {"petitioners": [dict(WANG_WU)], "residence_org": "qh-dz-lc", "channel": "visit",
            "kind": "complaint_request", "category": "land_forest", "respondent_unit": "qh-dz",
            "summary": "对东镇土地承包经营权调整决定不服", "people_count": 1, **extra}


def _leaders_and_petitions(system):
    with system.db.write() as s:
        add_user(s, "leader_wang", ["leader"], "qh", "password1", now=START, display_name="王副县长")
        add_user(s, "leader_li", ["leader"], "qh", "password1", now=START, display_name="李副县长")
    office = system.people["officer"]
    services = system.services
    first = services.cases.register(office, "petition", petition())
    (decide,) = [t for t in first["tasks"] if t["name"] == "decide_acceptance"]
    services.tasks.complete(office, decide["id"], {"decision": "accept"}, first["version"])
    services.cases.set_owner(office, first["id"], "leader_wang", "县信访局安排")
    repeat = services.cases.register(office, "petition", petition(channel="letter", summary="再次反映承包面积问题"))
    assert "repeat" in repeat["flags"]
    system.repeat_case = repeat


@pytest.fixture
def site(tmp_path):
    with served(tmp_path, bundled=True, more=_leaders_and_petitions) as found:
        yield found


def figures(page, leader: str) -> list[int]:
    """The row's figures on the board: open, due within 7 days, overdue, backlog."""
    row = page.locator(f'tr[data-leader="{leader}"]')
    return [int(row.locator(f'a[data-measure="{i}"]').inner_text().split()[0]) for i in range(4)]


def needs_owner(page) -> int:
    return int(page.locator('tr[data-leader=""] a.needs-owner strong').inner_text())


def test_the_office_assigns_a_leader_to_a_repeat_petition_and_the_leader_records_progress(browser, site, page, ui):
    repeat = site.system.repeat_case
    ui.login("officer1")
    ui.goto("/petitions/board")
    assert page.get_by_role("heading", name="信访工作台").is_visible()
    assert_accessible(page)
    screenshot(page, "board-before")
    before_li, before_none, before_needs = figures(page, "leader_li"), figures(page, ""), needs_owner(page)
    assert before_li[0] == 0 and before_none[0] == 1 and before_needs == 1

    # The figure links to exactly that petition.
    page.locator('tr[data-leader=""] a.needs-owner').click()
    page.wait_for_load_state()
    assert page.locator("tbody tr").count() == 1 and repeat["number"] in page.locator("tbody").inner_text()
    screenshot(page, "board-needs-owner-list")
    page.go_back()

    # Only repeat petitions: the filter keeps the board's shape.
    page.get_by_label("重复信访", exact=True).check()
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_load_state()
    assert "repeat=1" in page.url and figures(page, "leader_wang")[0] == 0 and needs_owner(page) == 1
    ui.goto("/petitions/board")

    item = page.locator(".needing-item", has_text=repeat["number"])
    item.locator("select").select_option(label="李副县长（leader_li）")
    item.locator('input[name="reason"]').fill("重复信访，须领导包案")
    screenshot(page, "board-assigning")
    item.get_by_role("button", name=re.compile("^指定包案领导")).click()
    page.wait_for_load_state()
    assert ui.path() == "/petitions/board"
    assert "已指定包案领导" in page.get_by_role("status").inner_text()
    after_li, after_none = figures(page, "leader_li"), figures(page, "")
    assert after_li[0] == before_li[0] + 1 and after_none[0] == before_none[0] - 1 and needs_owner(page) == 0
    assert_accessible(page)
    screenshot(page, "board-after")
    ui.logout()

    # 李副县长 finds the petition on their page and reports progress there.
    ui.login("leader_li")
    ui.goto("/leader")
    case = page.locator(f'li.owned-case[data-case-id="{repeat["id"]}"]')
    assert repeat["number"] in case.inner_text() and "待作出受理决定" in case.inner_text()
    assert_accessible(page)
    screenshot(page, "leader-before")
    case.locator("summary").click()
    case.get_by_label(re.compile("^化解进展")).fill("已约谈信访人，核对承包台账")
    screenshot(page, "leader-reporting")
    case.get_by_role("button", name=re.compile("^提交进展报告")).click()
    page.wait_for_load_state()
    assert ui.path() == "/leader"
    assert "已报告化解进展" in page.get_by_role("status").inner_text()
    screenshot(page, "leader-after")
    history = site.system.services.cases.history(site.system.people["auditor"], repeat["id"])
    reports = [e for e in history if e["kind"] == "task_completed" and e["data"]["step"] == "progress_report"]
    assert [(e["actor"], e["data"]["data"]["notes"]) for e in reports] == [("leader_li", "已约谈信访人，核对承包台账")]


def test_the_board_and_the_leader_page_on_a_phone(browser, site):
    context, page = _new_page(browser, site, PHONE)
    try:
        ui = BrowserUser(page)
        ui.login("officer1")
        ui.goto("/petitions/board")
        assert not has_horizontal_scroll(page)
        screenshot(page, "board-phone")
        ui.goto("/petitions?owner=none")
        assert not has_horizontal_scroll(page)
        screenshot(page, "board-list-phone")
        ui.goto(f"/petitions/{site.system.repeat_case['id']}/owner")
        assert not has_horizontal_scroll(page)
        assert_accessible(page)
        screenshot(page, "board-owner-form-phone")
        ui.logout()
        ui.login("leader_wang")
        ui.goto("/leader")
        assert not has_horizontal_scroll(page)
        page.locator("li.owned-case summary").first.click()
        screenshot(page, "leader-phone")
    finally:
        context.close()
