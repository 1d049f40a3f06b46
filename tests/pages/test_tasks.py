"""我的待办 and the task pages, as mediators of 清河县 use them in a browser without JavaScript.

The bundled `bpmn/` processes are deployed, so every form is the real one. Beside tests/conftest.py's
small county (柳村 with intake1 and vmed1; med1 and the others at the county) there are a second
mediator in 柳村 (vmed2), a town mediator in 东镇 (tmed1), a second village, 石桥村, with its
own mediator (smed1), and a county leader (leader_wang) who approves petition extensions. The clock starts on Tuesday 1 September 2026, 09:00 in Shanghai.
"""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest

from engine.accounts import add_org_unit, add_user
from engine.definitions import parse_decisions, parse_files
from engine.definitions_repo import deploy, deploy_decisions
from tests.conftest import START, make_system, seed_people
from tests.mediation.conftest import dispute
from tests.petition.conftest import petition

BPMN = Path(__file__).resolve().parents[2] / "bpmn"
LIUCUN, SHIQIAO = "qh-dz-lc", "qh-dz-sq"


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN)
    files = {p.name: p.read_bytes() for p in sorted(BPMN.iterdir()) if p.suffix in (".bpmn", ".dmn")}
    with system.db.write() as session:
        deploy(session, parse_files(files), now=system.clock.now(), actor="admin")
        deploy_decisions(session, parse_decisions(files), now=system.clock.now(), actor="admin")
    system.people = seed_people(system)
    with system.db.write() as s:
        add_org_unit(s, SHIQIAO, "石桥村", "village", "qh-dz")
        add_user(s, "vmed2", ["mediator"], LIUCUN, "password1", now=START)
        add_user(s, "tmed1", ["mediator"], "qh-dz", "password1", now=START)
        add_user(s, "smed1", ["mediator"], SHIQIAO, "password1", now=START)
        add_user(s, "leader_wang", ["leader"], "qh", "password1", now=START)
    yield system
    system.close()


# --- the county's cases -------------------------------------------------------------------------
def register(system, village: str = LIUCUN, **overrides) -> dict:
    """A neighbours' quarrel registered by the 柳村 grid worker (intake1), its parties living in `village`."""
    data = dispute(**overrides)
    for party in data["parties"]:
        party["residence_org"] = village
    return system.services.cases.register(system.people["intake"], "mediation", data)


def task_id(case: dict) -> int:
    (task,) = case["tasks"]
    return task["id"]


def looked_up(system, case_id: int) -> dict:
    """The case as the auditor reads it: what changed, from outside the pages."""
    return system.services.cases.get(system.people["auditor"], case_id)


def follow(ui, response) -> str:
    assert response.status_code == 303, (response.status_code, response.get_data(as_text=True)[:500])
    return ui.page(response.headers["Location"])


def main_of(page: str) -> str:
    return page[page.index('<main'):page.index('</main>')]


def field_of(page: str, ident: str) -> str:
    """The HTML of the form field whose input has id `ident`: from its <div class="field…"> to the next field."""
    at = page.index(f'id="{ident}"')
    start = page.rindex('<div class="field', 0, at)
    ends = [i for i in (page.find('<div class="field', at), page.find("</form>", at)) if i != -1]
    return page[start:min(ends)]


def rows_of(page: str) -> list[str]:
    body = page[page.index("<tbody>"):page.index("</tbody>")] if "<tbody>" in page else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.DOTALL)


WRITTEN_AGREEMENT = {"result": "agreement", "agreement_form": "written", "agreement_text": "李四三日内疏通排水沟，双方互不追究",
                     "difficulty": "general"}


# --- 我的待办 ------------------------------------------------------------------------------------
def test_a_village_mediator_sees_the_new_dispute_at_the_top_with_its_number_parties_and_on_time_mark(system, ui):
    ours = register(system)
    theirs = register(system, SHIQIAO, summary="石桥村的宅基地纠纷")
    ui.login("vmed1")
    page = ui.page("/tasks")
    rows = rows_of(page)
    assert len(rows) == 1
    top = rows[0]
    assert f'<a href="/tasks/{task_id(ours)}">{ours["number"]}</a>' in top
    assert "村级调解" in top and "张三、李四" in top and "2026-09-11 23:59" in top
    assert '<span class="mark-normal">正常</span>' in top
    assert theirs["number"] not in page and f"/tasks/{task_id(theirs)}" not in page
    assert '我的待办 <span class="badge"><span class="visually-hidden">(</span>1<span' in page
    # 石桥村's mediator has their own village's dispute, and not 柳村's.
    ui.logout()
    ui.login("smed1")
    page = ui.page("/tasks")
    assert theirs["number"] in page and ours["number"] not in page


def test_the_soonest_due_comes_first_and_the_deadline_marks_say_their_words(system, ui):
    first = register(system)
    system.clock.set(START + timedelta(days=8))  # two thirds of the village's 10 days have passed
    later = register(system)
    ui.login("vmed1")
    rows = rows_of(ui.page("/tasks"))
    assert first["number"] in rows[0] and later["number"] in rows[1]
    assert '<span class="mark-warning">临期</span>' in rows[0] and "2026-09-11 23:59" in rows[0]
    assert '<span class="mark-normal">正常</span>' in rows[1]
    system.clock.set(datetime_on(11, 10))
    rows = rows_of(ui.page("/tasks"))
    assert '<span class="mark-overdue">' not in rows[0]  # due tonight: still due soon, and said to be today
    assert "今天" in rows[0]
    system.clock.set(datetime_on(12, 9))
    rows = rows_of(ui.page("/tasks"))
    assert '<span class="mark-overdue">逾期</span>' in rows[0]


def datetime_on(day: int, hour: int):
    """A September 2026 day and hour in Shanghai, as the simulated clock takes it (UTC)."""
    return START.replace(day=day, hour=hour - 8)


def test_filters_by_deadline_level_and_step_are_a_plain_form(system, ui):
    due_soon = register(system)
    system.clock.set(START + timedelta(days=8))
    on_time = register(system)
    ui.login("vmed1")
    page = ui.page("/tasks?warning=warning")
    assert due_soon["number"] in page and on_time["number"] not in page
    assert '<option value="warning" selected>临期</option>' in page
    assert '<form class="filters" method="get" action="/tasks">' in page
    page = ui.page("/tasks?warning=normal")
    assert on_time["number"] in page and due_soon["number"] not in page
    page = ui.page("/tasks?step=mediate&level=village")
    assert on_time["number"] in page and due_soon["number"] in page
    page = ui.page("/tasks?level=town")
    assert not rows_of(page) and "没有符合筛选条件的待办事项。" in page and "清除筛选，显示全部" in page
    page = ui.page("/tasks?warning=nonsense&page=abc")  # a hand-made address: no filter, the first page
    assert on_time["number"] in page and due_soon["number"] in page


def test_more_than_fifty_tasks_come_a_page_at_a_time(system, ui):
    cases = [register(system) for _ in range(55)]
    ui.login("vmed1")
    page = ui.page("/tasks")
    assert len(rows_of(page)) == 50
    assert "共 55 件轮到您办理的事项" in page and "第 1 页，共 2 页" in page
    assert 'href="/tasks?page=2" rel="next">下一页</a>' in page and "上一页" not in main_of(page)
    page = ui.page("/tasks?page=2")
    assert len(rows_of(page)) == 5 and "第 2 页，共 2 页" in page
    assert 'href="/tasks?page=1" rel="prev">上一页</a>' in page and "下一页" not in main_of(page)
    assert cases[-1]["number"] in page and cases[0]["number"] not in page
    page = ui.page("/tasks?page=9")  # past the end: the last page
    assert "第 2 页，共 2 页" in page
    page = ui.page("/tasks?level=village&page=2")
    assert 'href="/tasks?level=village&amp;page=1" rel="prev"' in page  # the filters stay when paging


def test_an_empty_worklist_says_so_in_plain_words(ui):
    ui.login("vmed1")
    page = ui.page("/tasks")
    assert "目前没有轮到您办理的事项。" in page and "<table" not in page


def test_a_mediator_claims_a_task_and_releases_it_for_a_colleague(system, ui, browser_at):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    page = ui.page("/tasks")
    assert f'action="/tasks/{tid}/claim"' in page
    page = follow(ui, ui.submit(f"/tasks/{tid}/claim", {"next": "/tasks"}, form_page="/tasks"))
    assert f"已认领：“村级调解”（{case['number']}）" in page
    assert "您已认领" in rows_of(page)[0] and f'action="/tasks/{tid}/unclaim"' in page
    assert looked_up(system, case["id"])["tasks"][0]["assignee"] == "vmed1"
    colleague = browser_at("10.0.0.2")
    colleague.login("vmed2")
    assert case["number"] not in colleague.page("/tasks")  # claimed: no longer on the colleague's list
    assert "此事项已由vmed1认领，由其办理。" in colleague.page(f"/tasks/{tid}")
    page = follow(ui, ui.submit(f"/tasks/{tid}/unclaim", {"next": f"/tasks/{tid}"}, form_page=f"/tasks/{tid}"))
    assert "已退回：“村级调解”" in page and "认领此事项" in page
    assert looked_up(system, case["id"])["tasks"][0]["assignee"] is None
    assert case["number"] in colleague.page("/tasks")


def test_claiming_a_task_someone_else_took_first_is_said_in_words(system, ui, browser_at):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page("/tasks")
    colleague = browser_at("10.0.0.2")
    colleague.login("vmed2")
    follow(colleague, colleague.submit(f"/tasks/{tid}/claim", {}, form_page="/tasks"))
    page = follow(ui, ui.submit(f"/tasks/{tid}/claim", {"next": "/tasks"}, form_page=f"/tasks/{tid}"))
    assert "该任务已由 vmed2 认领" in page
    assert looked_up(system, case["id"])["tasks"][0]["assignee"] == "vmed2"


# --- the task page: the step's form ---------------------------------------------------------------
def test_the_task_page_shows_the_steps_form_with_the_case_beside_it(system, ui):
    case = register(system, summary="排水沟堵塞引发邻里纠纷，双方多次争吵")
    ui.login("vmed1")
    page = ui.page(f"/tasks/{task_id(case)}")
    assert '<form class="step-form" method="post"' in page and "novalidate" in page
    assert f'<input type="hidden" name="version" value="{case["version"]}">' in page
    assert page.count('name="csrf_token"') >= 3  # sign-out, the step form, the extension form
    for label in ("调解结果", "协议形式", "协议内容", "难度", "调解记录摘要"):
        assert f">{label}</" in page
    assert '<label for="f-result">达成协议</label>' in page and "调解不成（升级）" in page
    assert '<option value="vmed1">vmed1 · 柳村</option>' in page  # the mediators of this step's unit
    assert '<option value="vmed2">vmed2 · 柳村</option>' in page and 'value="smed1"' not in page
    assert '<button type="submit" class="button submit">提交</button>' in page
    # Beside it: the case, masked as its view gives it, its deadline in words, and its history.
    assert case["number"] in page and "柳村" in page and "邻里" in page and "排水沟堵塞引发邻里纠纷，双方多次争吵" in page
    assert "张三" in page and "138****8000" in page and "13800138000" not in page
    assert "110105********002X" in page and "11010519491231002X" not in page
    assert "2026-09-11 23:59" in page and '<span class="mark-normal">正常</span>' in page
    assert "登记了案件" in page and "分流到村级调解" in page
    assert f'href="/cases/{case["id"]}"' in page


def test_no_agreement_in_the_village_moves_the_case_to_the_town_mediator(system, ui, browser_at):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    response = ui.submit(f"/tasks/{tid}", {"result": "no_agreement", "version": case["version"],
                                           "notes": "双方各执一词"})
    page = follow(ui, response)
    assert response.headers["Location"] == "/tasks"
    assert f"已提交：“村级调解”（{case['number']}）" in page
    assert not rows_of(page) and "目前没有轮到您办理的事项。" in page  # gone from the village's list
    now = looked_up(system, case["id"])
    assert now["level"] == "town" and now["tasks"][0]["org_unit"] == "qh-dz"
    town = browser_at("10.0.0.3")
    town.login("tmed1")
    page = town.page("/tasks")
    assert case["number"] in page and "镇级调解" in page
    page = town.page(f"/tasks/{now['tasks'][0]['id']}")
    assert "升级到镇级" in page and "办结了“调解”" in page


def test_a_written_agreement_completes_the_mediation_step(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    follow(ui, ui.submit(f"/tasks/{tid}", {**WRITTEN_AGREEMENT, "mediators-0": "vmed1", "version": case["version"]}))
    now = looked_up(system, case["id"])
    assert [t["name"] for t in now["tasks"]] == ["judicial_confirmation"]
    assert now["data"]["agreement_text"] == WRITTEN_AGREEMENT["agreement_text"]
    assert now["version"] > case["version"]


def test_adding_a_mediator_row_keeps_what_was_typed_and_submits_nothing(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    response = ui.submit(f"/tasks/{tid}", {**WRITTEN_AGREEMENT, "mediators-0": "vmed1", "_add": "mediators",
                                           "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "有错误需要修改" not in page
    assert 'id="f-mediators-1"' in page and '<option value="vmed1" selected>' in page
    assert WRITTEN_AGREEMENT["agreement_text"] in page
    assert looked_up(system, case["id"])["version"] == case["version"]


def test_an_agreement_without_its_text_is_refused_with_messages_beside_the_fields(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    response = ui.submit(f"/tasks/{tid}", {"result": "agreement", "difficulty": "major", "notes": "已调解两次",
                                           "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    summary = page[page.index('<div class="error-summary"'):page.index("</ul>", page.index('<div class="error-summary"'))]
    assert "有错误需要修改" in summary
    assert '<a href="#f-agreement_text">协议内容：必填</a>' in summary and '<a href="#f-agreement_form">' in summary
    assert page.index('class="error-summary"') < page.index("<h1>")  # at the top
    field = field_of(page, "f-agreement_text")
    assert "field-error" in field and "必填" in field and 'aria-invalid="true"' in field
    assert 'value="agreement" checked' in page and 'value="major" checked' in page and "已调解两次" in page
    assert "<title>错误：" in page
    assert looked_up(system, case["id"])["version"] == case["version"]  # nothing changed


def test_over_long_text_and_a_choice_not_on_the_list_are_refused(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    long_text = "协" * 8001
    response = ui.submit(f"/tasks/{tid}", {**WRITTEN_AGREEMENT, "agreement_text": long_text, "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "最多 8000 个字" in field_of(page, "f-agreement_text") and long_text in page
    response = ui.submit(f"/tasks/{tid}", {"result": "settled-somehow", "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "必须是以下之一" in field_of(page, "f-result")
    assert looked_up(system, case["id"])["version"] == case["version"]
    assert looked_up(system, case["id"])["tasks"][0]["name"] == "mediate"


def test_script_typed_into_a_field_or_a_case_is_shown_as_text(system, ui):
    case = register(system, summary="<script>alert(1)</script>纠纷")
    tid = task_id(case)
    ui.login("vmed1")
    page = ui.page(f"/tasks/{tid}")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;纠纷" in page and "<script>alert(1)" not in page
    response = ui.submit(f"/tasks/{tid}", {"result": "agreement", "notes": "<script>alert(1)</script>",
                                           "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>" not in page


def test_a_stale_version_is_said_in_words_and_changes_nothing(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    # Meanwhile the deadline is extended from elsewhere: the case moves on a version.
    system.services.tasks.extend(system.people["village_mediator"], tid,
                                 {"days": 3, "reason": "双方同意再谈一次", "parties_consent": True})
    moved = looked_up(system, case["id"])
    response = ui.submit(f"/tasks/{tid}", {"result": "no_agreement", "notes": "我的记录", "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "此案件已被他人更新，您的提交没有保存" in page and "您填写的内容仍保留在表单中" in page
    assert "我的记录" in page and 'value="no_agreement" checked' in page
    assert f'name="version" value="{moved["version"]}"' in page  # the case as it is now
    assert "延长了期限 3 天" in page
    after = looked_up(system, case["id"])
    assert after["version"] == moved["version"] and after["level"] == "village"


def test_a_refused_form_keeps_the_version_it_was_read_at_so_a_later_change_is_still_caught(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    system.services.tasks.extend(system.people["village_mediator"], tid,
                                 {"days": 3, "reason": "双方同意再谈一次", "parties_consent": True})
    # Adding a mediator's row redraws the form: still at the version first read, not the new one.
    adding = {**WRITTEN_AGREEMENT, "mediators-0": "", "_add": "mediators", "version": case["version"]}
    page = ui.submit(f"/tasks/{tid}", adding).get_data(as_text=True)
    assert f'name="version" value="{case["version"]}"' in page and 'id="f-mediators-1"' in page
    response = ui.submit(f"/tasks/{tid}", {**WRITTEN_AGREEMENT, "version": case["version"]})
    assert response.status_code == 409 and "此案件已被他人更新" in response.get_data(as_text=True)
    assert looked_up(system, case["id"])["tasks"][0]["name"] == "mediate"


def test_a_task_completed_meanwhile_shows_its_state_and_no_form(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    system.services.tasks.complete(system.people["village_mediator"], tid, {"result": "no_agreement"}, case["version"])
    response = ui.submit(f"/tasks/{tid}", {"result": "refused", "version": case["version"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 409 and "此事项已不需要您办理" in page
    assert "此事项已办结，无需再办理。" in page and 'class="step-form"' not in page
    assert looked_up(system, case["id"])["outcome"] is None


def test_a_form_sent_without_its_token_is_refused_and_changes_nothing(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    ui.page(f"/tasks/{tid}")
    for path, fields in ((f"/tasks/{tid}", {"result": "no_agreement", "version": case["version"]}),
                         (f"/tasks/{tid}/claim", {}),
                         (f"/tasks/{tid}/extend", {"ext-days": "3", "ext-reason": "x", "ext-parties_consent": "true"})):
        response = ui.submit(path, fields, with_token=False)
        assert response.status_code == 400, path
    after = looked_up(system, case["id"])
    assert after["version"] == case["version"] and after["tasks"][0]["assignee"] is None


def test_another_villages_task_a_missing_one_and_a_huge_id_give_the_same_not_found_page(system, ui):
    theirs = register(system, SHIQIAO)
    ui.login("vmed1")
    ui.page("/tasks")
    paths = (f"/tasks/{task_id(theirs)}", "/tasks/987654", "/tasks/99999999999999999999", "/tasks/9223372036854775808",
             "/tasks/abc")
    answers = {path: ui.get(path) for path in paths}
    assert {r.status_code for r in answers.values()} == {404}
    # Identical but for the page's own address (in its language and text-size links).
    bodies = {r.get_data(as_text=True).replace(path, "/tasks/…") for path, r in answers.items()}
    assert len(bodies) == 1
    assert "找不到这个页面" in bodies.pop()
    # Its commands answer the same: nothing to claim, complete or extend there.
    for path in (f"/tasks/{task_id(theirs)}/claim", f"/tasks/{task_id(theirs)}", "/tasks/99999999999999999999/claim"):
        assert ui.submit(path, {"result": "refused", "version": "1"}, form_page="/tasks").status_code == 404
    assert looked_up(system, theirs["id"])["version"] == theirs["version"]


# --- extending the deadline --------------------------------------------------------------------------
def test_a_mediator_extends_the_village_deadline_with_both_parties_consent(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    page = ui.page(f"/tasks/{tid}")
    assert f'action="/tasks/{tid}/extend"' in page
    for label in ("延长天数", "延期理由", "双方当事人同意延期"):
        assert f">{label}</label>" in page
    response = ui.submit(f"/tasks/{tid}/extend", {"ext-days": "5", "ext-reason": "双方同意再约一次面谈",
                                                  "ext-parties_consent": "true", "version": case["version"]},
                         form_page=f"/tasks/{tid}")
    assert response.headers["Location"] == f"/tasks/{tid}"
    page = follow(ui, response)
    assert "已延长期限：“村级调解”现在的期限是 2026-09-16 23:59。" in page
    assert "延长了期限 5 天，至 2026-09-16 23:59" in page
    assert looked_up(system, case["id"])["tasks"][0]["due_at"] == "2026-09-16T23:59:59+08:00"
    # Once per level: a second request is refused in words.
    response = ui.submit(f"/tasks/{tid}/extend", {"ext-days": "2", "ext-reason": "再延", "ext-parties_consent": "true",
                                                  "version": looked_up(system, case["id"])["version"]},
                         form_page=f"/tasks/{tid}")
    assert response.status_code == 409 and "村级调解已延期过一次" in response.get_data(as_text=True)


def test_an_extension_beyond_fifteen_days_or_without_consent_is_refused_beside_its_field(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    response = ui.submit(f"/tasks/{tid}/extend", {"ext-days": "20", "ext-reason": "案情复杂",
                                                  "ext-parties_consent": "true", "version": case["version"]},
                         form_page=f"/tasks/{tid}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<a href="#f-ext-days">延长天数：应为 1–15 的整数</a>' in page
    assert "应为 1–15 的整数" in field_of(page, "f-ext-days") and 'value="20"' in field_of(page, "f-ext-days")
    assert "案情复杂" in page and "<details class=\"extend\" open>" in page
    response = ui.submit(f"/tasks/{tid}/extend", {"ext-days": "abc", "ext-reason": "", "ext-parties_consent": "false",
                                                  "version": case["version"]}, form_page=f"/tasks/{tid}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "请填写整数" in field_of(page, "f-ext-days")
    response = ui.submit(f"/tasks/{tid}/extend", {"ext-days": "3", "ext-reason": "案情复杂", "ext-parties_consent": "false",
                                                  "version": case["version"]}, form_page=f"/tasks/{tid}")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "延期须经双方当事人同意" in field_of(page, "f-ext-parties_consent")
    after = looked_up(system, case["id"])
    assert after["version"] == case["version"] and after["tasks"][0]["due_at"] == "2026-09-11T23:59:59+08:00"


def test_a_petition_officer_picks_units_and_the_approving_leader_from_lists(system, ui):
    officer = system.people["officer"]
    case = system.services.cases.register(officer, "petition", petition(residence_org=LIUCUN, respondent_unit="qh-dz"))
    ui.login("officer1")
    page = ui.page(f"/tasks/{task_id(case)}")
    assert '<select id="f-transfer_to" name="transfer_to"' in page and '<option value="qh-dz">东镇（qh-dz）</option>' in page
    assert '<select id="f-mediation-respondents-0-residence_org"' in page  # villages, for the other party
    follow(ui, ui.submit(f"/tasks/{task_id(case)}", {"decision": "accept", "version": case["version"]}))
    accepted = looked_up(system, case["id"])
    (handle,) = accepted["tasks"]
    page = ui.page(f"/tasks/{handle['id']}")
    assert '<option value="leader_wang">leader_wang · 清河县</option>' in page and ">批准延期的负责人</label>" in page
    response = ui.submit(f"/tasks/{handle['id']}/extend", {"ext-days": "10", "ext-reason": "需要补充调查",
                                                           "ext-approved_by": "med1", "version": accepted["version"]},
                         form_page=f"/tasks/{handle['id']}")
    assert response.status_code == 400
    assert "须经本机关负责人（领导）批准" in field_of(response.get_data(as_text=True), "f-ext-approved_by")
    page = follow(ui, ui.submit(f"/tasks/{handle['id']}/extend", {"ext-days": "10", "ext-reason": "需要补充调查",
                                                                  "ext-approved_by": "leader_wang",
                                                                  "version": accepted["version"]},
                                form_page=f"/tasks/{handle['id']}"))
    assert "已延长期限" in page and "延长了期限 10 天" in page


# --- in English -------------------------------------------------------------------------------------
def test_the_pages_work_in_english_with_the_forms_english_titles(system, ui):
    case = register(system)
    tid = task_id(case)
    ui.login("vmed1")
    page = ui.page("/tasks?lang=en")
    assert '<html lang="en"' in page and "My tasks" in page and ">Case number</th>" in page
    assert '<span class="mark-normal">On time</span>' in page and "Mediate at village" in page
    page = ui.page(f"/tasks/{tid}")
    for label in ("Result", "Agreement form", "Agreement text", "Difficulty", "Session notes"):
        assert f">{label}</" in page
    assert '<button type="submit" class="button submit">Submit</button>' in page
    assert "registered the case" in page and "Recent history" in page
    response = ui.submit(f"/tasks/{tid}", {"result": "agreement", "version": case["version"]})
    page = unescape(response.get_data(as_text=True))
    assert "There is a problem" in page and "Agreement text: required" in page
    page = follow(ui, ui.submit(f"/tasks/{tid}", {"result": "no_agreement", "version": case["version"]}))
    assert f"Submitted: “Mediate at village” ({case['number']})" in unescape(page)


def test_a_long_worklist_counts_up_to_a_bound_and_says_more_than(system, ui, monkeypatch):
    import usecases.tasks as tasks_module
    monkeypatch.setattr(tasks_module, "COUNTED", 20)  # counted up to a page (50) past the page's start
    cases = [register(system) for _ in range(55)]
    ui.login("vmed1")
    page = ui.page("/tasks")
    assert len(rows_of(page)) == 50
    assert "超过 50 件轮到您办理的事项" in page and "第 1 页，至少 2 页" in page
    assert 'href="/tasks?page=2" rel="next">下一页</a>' in page
    page = ui.page("/tasks?page=2")  # the count moves with the page: 50 before it, 5 on it
    assert len(rows_of(page)) == 5 and "共 55 件轮到您办理的事项" in page and "第 2 页，共 2 页" in page
    assert cases[-1]["number"] in page and cases[0]["number"] not in page
    page = ui.page("/tasks?level=village")
    assert "符合筛选条件的超过 50 件" in page
