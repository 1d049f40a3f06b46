"""我的待办 and a task page in a real browser: a village mediator of 柳村 finds the new dispute, fills in
the mediation form by its labels and submits it, on a desktop screen and on a 360-px phone.

The harness's `site` serves tests/fixtures/bpmn; these scenarios need the real forms, so `site` here
serves the bundled `bpmn/` processes (the harness's server, otherwise unchanged).
"""
from __future__ import annotations


import pytest

from engine.accounts import add_org_unit, add_user
from tests.browser.conftest import (
    PHONE,
    BrowserUser,
    served,
    assert_accessible,
    has_horizontal_scroll,
    screenshot,
)
from tests.conftest import START
from tests.mediation.conftest import dispute

pytestmark = pytest.mark.browser

LIUCUN = "qh-dz-lc"


def _town_and_village(system):
    with system.db.write() as session:
        add_org_unit(session, "qh-dz-sq", "石桥村", "village", "qh-dz")
        add_user(session, "tmed1", ["mediator"], "qh-dz", "password1", now=START)


@pytest.fixture
def site(tmp_path):
    """The bundled processes, with a second village and a town mediator."""
    with served(tmp_path, bundled=True, more=_town_and_village) as found:
        yield found


def register(site, village: str = LIUCUN, **overrides) -> dict:
    data = dispute(**overrides)
    for party in data["parties"]:
        party["residence_org"] = village
    return site.system.services.cases.register(site.system.people["intake"], "mediation", data)


def a_busy_village(site) -> list[dict]:
    """柳村 with a few disputes, one of them due soon, and one of 石桥村 that 柳村 must not see."""
    first = register(site, summary="排水沟堵塞引发邻里纠纷")
    site.system.clock.set(START.replace(day=9))  # two thirds of the first one's 10 days have passed
    later = [register(site, summary=f"邻里纠纷 {n}") for n in range(3)]
    register(site, "qh-dz-sq", summary="石桥村的纠纷")
    return [first, *later]


def test_my_tasks_on_a_desktop_screen(site, page, ui):
    cases = a_busy_village(site)
    ui.login("vmed1")
    ui.goto("/tasks")
    assert page.get_by_role("heading", level=1).inner_text() == "我的待办"
    rows = page.locator("table.worklist tbody tr")
    assert rows.count() == 4
    assert rows.first.get_by_role("link").inner_text() == cases[0]["number"]
    assert "临期" in rows.first.inner_text() and "正常" in rows.nth(1).inner_text()
    assert page.get_by_role("link", name="我的待办").first.inner_text().replace("\n", " ").startswith("我的待办 ")
    screenshot(page, "tasks-list-desktop")
    assert_accessible(page)
    # The filter is a plain form: choose and press 筛选.
    page.get_by_label("期限状态", exact=True).select_option("warning")
    page.get_by_role("button", name="筛选", exact=True).click()
    page.wait_for_load_state()
    assert ui.path().startswith("/tasks?") and "warning=warning" in ui.path()
    assert page.locator("table.worklist tbody tr").count() == 1
    # Claiming from the list, by the button that names the case.
    page.get_by_role("button", name=f"认领 {cases[0]['number']}").click()
    page.wait_for_load_state()
    assert f"已认领：“村级调解”（{cases[0]['number']}）" in page.get_by_role("status").inner_text()
    assert "您已认领" in page.locator("table.worklist tbody tr").first.inner_text()
    assert "warning=warning" in ui.path()  # back where they were


def test_my_tasks_on_a_phone_are_stacked_cards_without_sideways_scrolling(site, phone_page):
    a_busy_village(site)
    ui = BrowserUser(phone_page)
    ui.login("vmed1")
    ui.goto("/tasks")
    assert phone_page.viewport_size == PHONE
    assert not has_horizontal_scroll(phone_page)
    first = phone_page.locator("table.worklist tbody tr").first
    assert first.locator("td").first.evaluate("td => getComputedStyle(td).display") == "block"
    link = first.get_by_role("link")
    assert link.bounding_box()["height"] >= 44
    assert first.get_by_role("button").bounding_box()["height"] >= 44
    screenshot(phone_page, "tasks-list-phone")
    assert_accessible(phone_page)


def test_a_village_mediator_fills_in_a_written_agreement_and_submits_it(site, page, ui):
    case = register(site)
    ui.login("vmed1")
    ui.goto("/tasks")
    page.get_by_role("link", name=case["number"]).click()
    page.wait_for_load_state()
    assert ui.path() == f"/tasks/{case['tasks'][0]['id']}"
    screenshot(page, "task-mediate-desktop")
    assert_accessible(page)
    # First without the agreement's text: the problem is said at the top and beside the field.
    page.get_by_label("达成协议", exact=True).check()
    page.get_by_label("书面调解协议书", exact=True).check()
    page.get_by_label("一般", exact=True).check()
    page.get_by_label("调解记录摘要", exact=True).fill("双方到村委会面谈两次")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert "有错误需要修改" in alert.inner_text() and "协议内容：必填" in alert.inner_text()
    assert page.get_by_label("调解记录摘要", exact=True).input_value() == "双方到村委会面谈两次"
    assert page.get_by_label("达成协议", exact=True).is_checked()
    screenshot(page, "task-mediate-errors")
    assert_accessible(page)
    alert.get_by_role("link", name="协议内容：必填").click()
    assert page.evaluate("location.hash") == "#f-agreement_text"
    # The link lands on the field: type there, and submit.
    page.get_by_label("协议内容", exact=True).fill("李四三日内疏通排水沟，双方互不追究")
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert ui.path() == "/tasks"
    assert f"已提交：“村级调解”（{case['number']}）" in page.get_by_role("status").inner_text()
    now = site.system.services.cases.get(site.system.people["auditor"], case["id"])
    assert [t["name"] for t in now["tasks"]] == ["judicial_confirmation"]


def test_the_task_page_on_a_phone_puts_the_case_below_the_form(site, phone_page):
    case = register(site)
    ui = BrowserUser(phone_page)
    ui.login("vmed1")
    ui.goto(f"/tasks/{case['tasks'][0]['id']}")
    assert not has_horizontal_scroll(phone_page)
    submit = phone_page.get_by_role("button", name="提交", exact=True)
    summary = phone_page.get_by_role("heading", name="案件概况")
    assert submit.bounding_box()["y"] < summary.bounding_box()["y"]
    assert submit.bounding_box()["height"] >= 44
    for label in ("达成协议", "调解不成（升级）"):
        box = phone_page.locator("label", has_text=label).bounding_box()
        assert box["height"] >= 36  # the label is the target, on a row 44 px high
    screenshot(phone_page, "task-mediate-phone")
    assert_accessible(phone_page)


def test_script_typed_into_a_text_field_never_runs(site, page, ui):
    case = register(site)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    ui.login("vmed1")
    ui.goto(f"/tasks/{case['tasks'][0]['id']}")
    typed = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    page.get_by_label("达成协议", exact=True).check()
    page.get_by_label("调解记录摘要", exact=True).fill(typed)
    page.get_by_role("button", name="提交", exact=True).click()
    page.wait_for_load_state()
    assert page.get_by_role("alert").is_visible()  # refused: the agreement's details are missing
    assert page.get_by_label("调解记录摘要", exact=True).input_value() == typed  # kept, as text
    page.wait_for_timeout(300)
    assert dialogs == []


def test_the_task_page_in_english(site, page, ui):
    case = register(site)
    ui.login("vmed1")
    ui.goto(f"/tasks/{case['tasks'][0]['id']}?lang=en")
    assert page.get_by_label("Agreement text", exact=True).is_visible()
    assert page.get_by_role("button", name="Submit", exact=True).is_visible()
    screenshot(page, "task-mediate-english")
    assert_accessible(page)
