"""Registering cases and reading them, as a browser without JavaScript meets the pages: the window
clerk's register form and receipt, the same-party warning, the case page with its masked parties,
diagram and timeline, a handler's recorded look at the full ID number, and the 404 that a case of
another village shares with a missing one.

The county is tests/conftest.py's `seed_people` (清河县, 东镇, 柳村) with the bundled `bpmn/` deployed,
plus 石桥村 of 东镇 with its own clerk, the court liaison and 东镇's justice office (司法所).
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from engine.accounts import add_org_unit, add_user
from tests.conftest import BPMN_DIR as BPMN
from tests.conftest import (
    START,
    definition_files,
    deploy_files,
    make_system,
    seed_people,
)
from web.pages.diagram import parse_diagram

ZHANG_ID, ZHANG_PHONE = "11010519491231002X", "13800138000"  # valid check digit (GB 11643)
WANG_ID = "320582198001011231"


@pytest.fixture
def system(database_url):
    """This module's county: the bundled processes, forms and decisions, as `fengqiao deploy` does."""
    system = make_system(database_url, BPMN)
    deploy_files(system, definition_files(BPMN))
    system.people = seed_people(system)
    with system.db.write() as s:
        add_org_unit(s, "qh-dz-sq", "石桥村", "village", "qh-dz")
        add_user(s, "intake2", ["intake"], "qh-dz-sq", "password1", now=START)
        add_user(s, "court1", ["court_liaison"], "qh", "password1", now=START)
        add_user(s, "jtown1", ["justice_officer"], "qh-dz", "password1", now=START)
    yield system
    system.close()


# --- what the clerk types --------------------------------------------------------------------
def dispute_form(**overrides) -> dict:
    """张三 of 柳村 against his neighbour 李四 over a blocked drainage ditch, as typed into the form."""
    fields = {
        "parties-0-side": "applicant", "parties-0-name": "张三", "parties-0-id_number": ZHANG_ID,
        "parties-0-phone": ZHANG_PHONE, "parties-0-household_address": "东镇柳村3组",
        "parties-0-residence_org": "qh-dz-lc",
        "parties-1-side": "respondent", "parties-1-name": "李四", "parties-1-phone": "13900139000",
        "parties-1-residence_org": "qh-dz-lc",
        "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷", "source": "party_application",
        "risk_level": "green", "amount_fen": "1200.50",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def petition_form(**overrides) -> dict:
    fields = {"petitioners-0-name": "王五", "petitioners-0-id_number": WANG_ID,
              "petitioners-0-phone": "13912345678", "petitioners-0-address": "东镇柳村3组",
              "residence_org": "qh-dz-lc", "channel": "visit", "kind": "complaint_request",
              "category": "land_forest", "respondent_unit": "qh-dz",
              "summary": "对东镇土地承包经营权调整决定不服", "people_count": "1"}
    fields.update(overrides)
    return fields


class Inputs(HTMLParser):
    """The named inputs of a page's forms, as a browser would send them back."""

    def __init__(self):
        super().__init__()
        self.hidden: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.hidden.append((a["name"], a.get("value") or ""))


def hidden_fields(page: str) -> dict:
    parser = Inputs()
    parser.feed(page)
    return {name: value for name, value in parser.hidden if name != "csrf_token"}


def text_of(page: str) -> str:
    """The words of a page, without its markup and the diagram."""
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.DOTALL)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def main_of(page: str) -> str:
    return page[page.index("<main"):page.index("</main>")]


def register(ui, fields: dict, case_type: str = "mediation"):
    return ui.submit(f"/cases/new?type={case_type}", fields)


def case_count(system) -> int:
    items, _ = system.services.cases.search(system.people["auditor"], limit=100)
    return len(items)


def events(system, case_id: int) -> list[str]:
    return [e["kind"] for e in system.services.cases.history(system.people["auditor"], case_id)]


def registered(ui, fields: dict | None = None, case_type: str = "mediation") -> int:
    response = register(ui, fields or dispute_form(), case_type)
    assert response.status_code == 303, text_of(response.get_data(as_text=True))[:2000]
    return int(re.fullmatch(r"/cases/(\d+)/receipt", response.headers["Location"]).group(1))


# --- registering -------------------------------------------------------------------------------
def test_a_window_clerk_registers_a_dispute_adding_a_party_without_script_and_gets_the_receipt(system, ui):
    ui.login("intake1")
    form = ui.page("/cases/new?type=mediation")
    # The two parties a dispute needs at least, the sides chosen, the residence picked by name.
    assert 'id="f-parties-0"' in form and 'id="f-parties-1"' in form and 'id="f-parties-2"' not in form
    assert '<option value="qh-dz-lc">东镇 · 柳村</option>' in form
    assert '<button type="submit" class="button secondary add" name="_add" value="parties"' in form
    assert re.search(r'<label for="f-parties-0-name">姓名</label>', form)

    # 添加当事人 is a submit button: the page comes back with a third block and what was typed.
    response = register(ui, dispute_form(_add="parties"))
    assert response.status_code == 200 and case_count(system) == 0
    form = response.get_data(as_text=True)
    assert 'id="f-parties-2"' in form and 'value="张三"' in form and 'value="1200.50"' in form

    case_id = registered(ui, dispute_form(**{"parties-2-side": "respondent", "parties-2-name": "王五",
                                              "parties-2-residence_org": "qh-dz-lc"}))
    view = system.services.cases.get(system.people["auditor"], case_id)
    assert [p["name"] for p in view["data"]["parties"]] == ["张三", "李四", "王五"]
    assert view["data"]["amount_fen"] == 120050  # typed in 元, kept in fen

    receipt = ui.page(f"/cases/{case_id}/receipt")
    words = text_of(receipt)
    assert '<p class="receipt-number">MED-2026-000001</p>' in receipt
    for said in ("登记成功", "受理层级 村级", "承办单位 柳村", "首个办理期限 2026年9月11日 23:59",
                 "登记时间 2026年9月1日 09:00", "Ctrl+P"):
        assert said in words, said
    assert ZHANG_ID not in receipt and ZHANG_PHONE not in receipt and "110105********002X" in receipt
    assert "<script" not in receipt and "window.print" not in receipt


def test_bad_input_is_refused_with_messages_beside_the_fields_and_nothing_is_saved(system, ui):
    ui.login("intake1")
    response = register(ui, dispute_form(category=None, summary="长" * 4001,
                                         **{"parties-0-id_number": "110105194912310021"}))
    assert response.status_code == 400 and case_count(system) == 0
    page = response.get_data(as_text=True)
    summary = page[page.index('class="error-summary"'):page.index("</ul>", page.index('class="error-summary"'))]
    for field in ("f-parties-0-id_number", "f-category", "f-summary"):
        assert f'href="#{field}"' in summary, field
    assert "身份证号码无效" in summary and "必填" in summary and "最多 4000 个字" in summary
    # Each message beside its field, the field marked, what was typed kept.
    assert re.search(r'<div class="field field-error"><label for="f-parties-0-id_number">.*?'
                     r'<p class="error-message" id="f-parties-0-id_number-error">', page)
    assert 'aria-invalid="true"' in page and 'value="110105194912310021"' in page and 'value="张三"' in page
    assert page.index('class="error-summary"') < page.index("<h1>")

    # An amount the page cannot read in 元: the page says so itself, and the engine is never asked.
    response = register(ui, dispute_form(amount_fen="abc"))
    assert response.status_code == 400 and case_count(system) == 0
    page = response.get_data(as_text=True)
    assert '<a href="#f-amount_fen">争议金额（选填）：请填写金额，如 1200.50</a>' in page
    assert 'id="f-amount_fen-error"' in page and 'value="abc"' in page
    assert "<title>错误：" in page


def test_the_same_party_warning_appears_for_a_second_dispute_and_the_clerk_may_register_anyway(system, ui):
    ui.login("intake1")
    registered(ui)
    response = register(ui, dispute_form(summary="又因宅基地界线发生争执"))
    assert response.status_code == 200 and case_count(system) == 1  # a warning, nothing saved yet
    warning = response.get_data(as_text=True)
    words = text_of(warning)
    assert "该当事人已有未结案件" in words and "MED-2026-000001" in words and "柳村办理" in words
    assert ">仍然登记</button>" in warning and ">返回修改</button>" in warning
    carried = hidden_fields(warning)
    assert carried["summary"] == "又因宅基地界线发生争执" and carried["parties-0-id_number"] == ZHANG_ID

    # 返回修改 brings the form back as it was typed.
    back = ui.submit("/cases/new?type=mediation", {**carried, "_edit": "1"})
    assert back.status_code == 200 and "又因宅基地界线发生争执" in back.get_data(as_text=True)
    assert case_count(system) == 1

    seen = re.search(r'name="_seen" value="([^"]*)"', warning).group(1)
    response = ui.submit("/cases/new?type=mediation", {**carried, "_seen": seen})
    assert response.status_code == 303 and case_count(system) == 2
    assert "MED-2026-000002" in ui.page(response.headers["Location"])


def test_a_petition_registers_too_and_a_role_that_may_not_register_it_gets_the_403_page(system, ui, browser_at):
    ui.login("intake1")
    form = ui.page("/cases/new?type=petition")
    assert "信访人" in form and '<option value="qh-dz">东镇</option>' in form  # any unit may be complained about
    case_id = registered(ui, petition_form(), "petition")
    words = text_of(ui.page(f"/cases/{case_id}/receipt"))
    assert "XF-2026-000001" in words and "信访事项编号" in words and "承办单位 清河县" in words
    assert "首个办理期限 2026年9月16日 23:59" in words

    mediator = browser_at("10.0.0.2")
    mediator.login("vmed1")
    refused = mediator.get("/cases/new?type=petition")
    assert refused.status_code == 403 and "您没有权限办理这项操作" in refused.get_data(as_text=True)
    posted = mediator.submit("/cases/new?type=petition", petition_form(), form_page="/")
    assert posted.status_code == 403 and case_count(system) == 1
    assert mediator.get("/cases/new?type=nonsense").status_code == 404


# --- the case page -----------------------------------------------------------------------------
def test_the_case_page_shows_masked_parties_the_diagram_and_the_timeline_in_order(system, ui, browser_at):
    ui.login("intake1")
    case_id = registered(ui)
    mediator = browser_at("10.0.0.2")
    mediator.login("vmed1")
    page = mediator.page(f"/cases/{case_id}")
    words = text_of(page)

    headings = ["办理情况", "当事人和事由", "期限", "待办步骤", "卷宗材料", "以案定补", "法院程序", "流程图", "办理经过"]
    positions = [page.index(f'">{h}</h2>') for h in headings]
    assert positions == sorted(positions)
    for said in ("状态 办理中", "层级 村级", "承办单位 柳村", "期限情况 正常", "争议金额 1,200.50 元",
                 "调解期限 2026年9月11日 23:59 正常", "东镇 · 柳村"):
        assert said in words, said
    assert "110105********002X" in page and "138****8000" in page
    assert ZHANG_ID not in page and ZHANG_PHONE not in page
    task = system.services.cases.get(system.people["auditor"], case_id)["tasks"][0]
    assert f'<a href="/tasks/{task["id"]}">村级调解</a>' in page

    # The diagram: every step of the BPMN file drawn with its id, the open one current, passed ones done.
    svg = page[page.index("<svg"):page.index("</svg>")]
    drawn = set(re.findall(r'data-element-id="([^"]+)"', svg))
    assert parse_diagram(BPMN.joinpath("mediation.bpmn").read_text(encoding="utf-8")).flow_element_ids() <= drawn
    assert re.search(r'data-element-id="mediate_village" class="[^"]*\bcurrent\b', svg)
    assert re.search(r'data-element-id="triage" class="[^"]*\bdone\b', svg)
    assert re.search(r'<g data-element-id="[^"]+" class="flow sequence-flow taken"', svg)
    assert "案件流程图（第 1 版）" in svg and ">登记受理<" in svg.replace("</tspan><tspan", "")
    assert 'class="diagram-scroll" role="region" tabindex="0"' in page
    assert "当前步骤： 村级调解" in words and "经过的路径：蓝色粗线" in words

    # The timeline, oldest first, in words and Shanghai time.
    timeline = text_of(page[page.index('id="timeline"'):])
    first, second = timeline.index("登记了案件 MED-2026-000001"), timeline.index("定级为村级，由柳村办理")
    assert first < second < timeline.index("轮到“村级调解”：由柳村的调解员办理")
    assert "2026年9月1日 09:00 intake1" in timeline


def test_a_handler_asks_to_see_the_full_id_number_and_the_look_is_recorded(system, ui, browser_at):
    ui.login("intake1")
    case_id = registered(ui)
    mediator = browser_at("10.0.0.2")
    mediator.login("vmed1")
    page = mediator.page(f"/cases/{case_id}")
    assert f'action="/cases/{case_id}/unmasked"' in page and ">显示完整信息</button>" in page

    shown = mediator.submit(f"/cases/{case_id}/unmasked", {}, form_page=f"/cases/{case_id}")
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    body = shown.get_data(as_text=True)
    assert ZHANG_ID in body and ZHANG_PHONE in body and "这次查看已记入案件历史" in body
    assert events(system, case_id).count("pii_viewed") == 1
    assert "vmed1 查看了完整的身份证号和电话（已记录）" in text_of(body)

    again = mediator.page(f"/cases/{case_id}")  # a plain visit shows the masked numbers again
    assert ZHANG_ID not in again and "查看了完整的身份证号和电话" in again
    assert mediator.get(f"/cases/{case_id}/unmasked").status_code == 405  # a look is never a GET

    auditor = browser_at("10.0.0.3")
    auditor.login("auditor1")
    page = auditor.page(f"/cases/{case_id}")
    assert "显示完整信息</button>" not in page and ZHANG_ID not in page
    refused = auditor.submit(f"/cases/{case_id}/unmasked", {}, form_page=f"/cases/{case_id}")
    assert refused.status_code == 403 and ZHANG_ID not in refused.get_data(as_text=True)
    assert events(system, case_id).count("pii_viewed") == 1


def test_a_case_of_another_village_and_a_missing_one_give_the_identical_404(system, ui, browser_at):
    other = browser_at("10.0.0.9")
    other.login("intake2")
    theirs = registered(other, dispute_form(**{"parties-0-residence_org": "qh-dz-sq",
                                              "parties-1-residence_org": "qh-dz-sq"}))
    assert "石桥村" in text_of(other.page(f"/cases/{theirs}"))

    ui.login("intake1")
    answers = [ui.get(path) for path in (f"/cases/{theirs}", "/cases/999", "/cases/9223372036854775808",
                                         f"/cases/{theirs}/receipt", "/cases/999/receipt")]
    assert {r.status_code for r in answers} == {404}
    # Word for word the same page; only the language and text-size links name the page's own address.
    assert len({main_of(r.get_data(as_text=True)) for r in answers}) == 1
    assert len({re.sub(r'href="/cases/[^"?]*', "", r.get_data(as_text=True)) for r in answers}) == 1
    assert "MED-2026" not in answers[0].get_data(as_text=True)
    # Posting to it says no more than reading it.
    posted = ui.submit(f"/cases/{theirs}/unmasked", {}, form_page="/")
    assert posted.status_code == 404
    assert main_of(posted.get_data(as_text=True)) == main_of(answers[1].get_data(as_text=True))


def test_a_script_typed_into_the_summary_is_shown_as_text(system, ui):
    ui.login("intake1")
    case_id = registered(ui, dispute_form(summary="<script>alert(1)</script>"))
    for path in (f"/cases/{case_id}", f"/cases/{case_id}/receipt"):
        page = ui.page(path)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "<script" not in page and "style=" not in page, path


def test_a_form_posted_without_its_token_is_refused_and_changes_nothing(system, ui, browser_at):
    ui.login("intake1")
    refused = ui.submit("/cases/new?type=mediation", dispute_form(), with_token=False)
    assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
    assert case_count(system) == 0
    case_id = registered(ui)
    mediator = browser_at("10.0.0.2")
    mediator.login("vmed1")
    assert mediator.submit(f"/cases/{case_id}/unmasked", {}, with_token=False).status_code == 400
    withdraw = {"withdraw-reason": "双方已自行和解", "_confirm": "1"}
    assert ui.submit(f"/cases/{case_id}/messages/withdraw", withdraw, with_token=False).status_code == 400
    assert "pii_viewed" not in events(system, case_id) and "message_received" not in events(system, case_id)


def test_the_pages_speak_english_when_asked(system, ui):
    ui.login("intake1")
    form = ui.page("/cases/new?type=mediation&lang=en")
    for said in ("Register a dispute", ">Parties</legend>", ">Party 1</legend>", '">Name</label>',
                 '">ID number (optional)</label>', '">Amount in dispute (optional)</label>',
                 '">Place of residence (village or community)</label>', "Add another party", ">Register</button>"):
        assert said in form, said
    case_id = registered(ui)
    page = ui.page(f"/cases/{case_id}?lang=en")
    words = text_of(page)
    for said in ("Where the case stands", "Status Open", "Level Village", "1,200.50 yuan", "Process diagram",
                 "What has happened", "registered case MED-2026-000001", "1 Sep 2026 09:00"):
        assert said in words, said
    assert "Case process diagram (version 1)" in page and ">Mediator<" in page.replace("</tspan><tspan", "")
    receipt = text_of(ui.page(f"/cases/{case_id}/receipt"))  # the language is remembered
    assert "Registered" in receipt and "First deadline 11 Sep 2026 23:59" in receipt


# --- what comes later in a case ------------------------------------------------------------
def test_a_withdrawal_asks_for_the_reason_and_a_confirmation_before_it_is_recorded(system, ui):
    ui.login("intake1")
    case_id = registered(ui)
    page = ui.page(f"/cases/{case_id}")
    assert f'action="/cases/{case_id}/messages/withdraw"' in page and '<label for="f-withdraw-reason">撤回理由' in page

    empty = ui.submit(f"/cases/{case_id}/messages/withdraw", {"withdraw-reason": ""}, form_page=f"/cases/{case_id}")
    assert empty.status_code == 400 and "message_received" not in events(system, case_id)
    assert 'href="#f-withdraw-reason"' in empty.get_data(as_text=True)

    check = ui.submit(f"/cases/{case_id}/messages/withdraw", {"withdraw-reason": "双方已自行和解"},
                      form_page=f"/cases/{case_id}")
    assert check.status_code == 200 and "message_received" not in events(system, case_id)
    words = text_of(check.get_data(as_text=True))
    assert "请核对：撤回调解申请" in words and "双方已自行和解" in words and "不能恢复" in words
    carried = hidden_fields(check.get_data(as_text=True))
    done = ui.submit(f"/cases/{case_id}/messages/withdraw", {**carried, "_confirm": "1"}, form_page=f"/cases/{case_id}")
    assert done.status_code == 303 and events(system, case_id).count("message_received") == 1
    words = text_of(ui.page(f"/cases/{case_id}"))
    assert "已记录：撤回调解申请" in words and "收到“撤回调解申请” 撤回理由 双方已自行和解" in words


def test_a_court_answer_the_case_is_not_waiting_for_is_refused_in_words(system, ui, browser_at):
    ui.login("intake1")
    case_id = registered(ui)
    court = browser_at("10.0.0.4")
    court.login("court1")
    page = court.page(f"/cases/{case_id}")
    assert "法院司法确认结果" in page and "法院处理结果" in page
    answer = {"court_confirmation-result": "confirmed", "_confirm": "1"}
    refused = court.submit(f"/cases/{case_id}/messages/court_confirmation", answer, form_page=f"/cases/{case_id}")
    assert refused.status_code == 409 and "案件当前不在等待消息" in refused.get_data(as_text=True)
    assert "message_received" not in events(system, case_id)


def test_a_settled_case_shows_its_file_subsidy_court_steps_and_a_reversal_on_the_entry(system, ui, browser_at):
    ui.login("intake1")
    case_id = registered(ui)
    s, p = system.services, system.people
    mediator = p["village_mediator"]

    def do(step, **data):
        task = next(t for t in s.cases.get(mediator, case_id)["tasks"] if t["name"] == step)
        s.tasks.complete(mediator, task["id"], data, s.cases.get(mediator, case_id)["version"])

    do("mediate", result="agreement", agreement_form="written", agreement_text="疏通排水沟，费用各半",
       difficulty="general")
    do("judicial_confirmation", applied=False)
    do("followup", performance="performed", satisfaction=5)
    do("archive", checklist={"registration_form": True, "rights_notice": True, "identity_proof": True,
                             "mediation_record": True, "agreement": True, "followup_record": True})
    town, county = (s.sign_ins.signed_in_user(name).actor for name in ("jtown1", "justice1"))
    entry = s.cases.get(mediator, case_id)["subsidy"][0]
    s.subsidies.review(town, entry["id"])
    s.subsidies.approve(county, entry["id"])
    s.subsidies.reverse(county, entry["id"], "抽查发现调解笔录不实")

    viewer = browser_at("10.0.0.2")
    viewer.login("vmed1")
    page = viewer.page(f"/cases/{case_id}")
    words = text_of(page)
    for said in ("状态 已结案：村级调解成功", "有 登记表", "有 回访记录（达成协议的）", "无 证据材料",
                 "vmed1 村级 · 一般 50.00 元 已批准", "已冲销 -50.00 元", "抽查发现调解笔录不实",
                 "双方是否已共同申请司法确认 否", "记录以案定补，共 50.00 元", "补贴冲销：-50.00 元",
                 "完成了“调解” 调解结果 达成协议", "结案：村级调解成功", "案件已结案"):
        assert said in words, said
    assert 'class="flow sequence-flow taken"' in page and " current\"" not in page
    assert "登记外来消息" not in words  # a closed case takes no messages


# --- the drawn diagrams a process keeps ----------------------------------------------------------
VARIANT = Path(__file__).resolve().parents[1] / "fixtures" / "versions" / "mediation_village_7_days.bpmn"


def diagram_of(page: str) -> str:
    return page[page.index("<svg"):page.index("</svg>")]


def marked(svg: str, element_id: str) -> set[str]:
    found = re.search(rf'data-element-id="{re.escape(element_id)}" class="([^"]*)"', svg)
    return set(found.group(1).split()) if found else set()


def test_a_kept_drawing_follows_the_case_as_it_moves_on_and_a_new_version_as_it_is_deployed(system, ui, browser_at):
    from web.pages import diagram
    ui.login("intake1")
    first = registered(ui)
    mediator = browser_at("10.0.0.2")
    mediator.login("vmed1")
    drawn = diagram._render.cache_info().hits
    svg = diagram_of(mediator.page(f"/cases/{first}"))
    assert diagram_of(mediator.page(f"/cases/{first}")) == svg
    assert diagram._render.cache_info().hits > drawn  # the second look was the kept drawing
    assert "current" in marked(svg, "mediate_village") and "done" in marked(svg, "triage")

    # The case moves on: its page draws the new state, not the kept one.
    s, vmed = system.services, system.people["village_mediator"]
    task = next(t for t in s.cases.get(vmed, first)["tasks"] if t["name"] == "mediate")
    s.tasks.complete(vmed, task["id"], {"result": "agreement", "agreement_form": "oral",
                                        "agreement_text": "当场履行完毕", "difficulty": "simple"},
                     s.cases.get(vmed, first)["version"])
    moved = diagram_of(mediator.page(f"/cases/{first}"))
    assert moved != svg
    assert "current" not in marked(moved, "mediate_village") and "done" in marked(moved, "mediate_village")
    now_open = {t["name"] for t in s.cases.get(vmed, first)["tasks"]}
    assert now_open and "当前步骤：" in moved

    # A new version of the process: a case registered now is drawn on it; the first keeps its own.
    files = definition_files(BPMN)
    files["mediation.bpmn"] = VARIANT.read_bytes()
    deploy_files(system, files)
    second = registered(ui, dispute_form(**{"parties-0-id_number": None}))  # another dispute of other people
    newer = diagram_of(mediator.page(f"/cases/{second}"))
    assert "案件流程图（第 2 版）" in newer and "（7日）" in newer  # the new version's label of the deadline
    assert "current" in marked(newer, "mediate_village")
    older = diagram_of(mediator.page(f"/cases/{first}"))
    assert older == moved and "案件流程图（第 1 版）" in older and "（7日）" not in older

    # In English the same case is drawn with English titles: the language is part of what is kept.
    english = diagram_of(mediator.page(f"/cases/{first}?lang=en"))
    assert "Case process diagram (version 1)" in english and english != older
