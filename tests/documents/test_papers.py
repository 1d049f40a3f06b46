"""The standard papers a case prints (issue 14): every paper of every bundled path, as the web page
and as the PDF, read back as text; who sees the parties in full; the history's `document_printed`
events; the unit a petition complains about refused; papers a case's state has not; a county's own
names and wording.

Each PDF is made once per store (the first path that has its paper) and its text extracted with pypdf."""
from __future__ import annotations

import io
import sys

from tests.conftest import definition_files, deploy_files, make_system
from tests.documents.conftest import (
    BPMN,
    LI,
    PATHS,
    ZHANG,
    dispute,
    flat,
    oral_in_the_village,
    petition,
    petition_to_final,
    seed,
    written_after_escalation,
)

MEDIATION_KINDS = ("application", "registration", "rights_notice", "record", "agreement", "oral_agreement",
                   "confirmation_application", "followup", "file_cover")
PETITION_KINDS = ("acceptance_notice", "rejection_notice", "transfer", "opinion", "review_opinion",
                  "rereview_opinion")
TITLES = {"application": "人民调解申请书", "registration": "人民调解受理登记表", "rights_notice": "当事人权利义务告知书",
          "record": "人民调解记录", "agreement": "人民调解协议书", "oral_agreement": "人民调解口头协议登记表",
          "confirmation_application": "司法确认申请书", "followup": "人民调解回访记录", "file_cover": "人民调解卷宗",
          "acceptance_notice": "信访事项受理告知书", "rejection_notice": "信访事项不予受理告知书",
          "transfer": "信访事项转送（交办）单", "opinion": "信访事项处理意见书", "review_opinion": "信访事项复查意见书",
          "rereview_opinion": "信访事项复核意见书"}

# Which papers each bundled path has at its end, who prints them (a handler of the case), and what
# each paper must say there besides its title, the case number and the county's name.
EXPECTED = {
    "written_after_escalation": ("tmed1", {
        "application": ["柳村人民调解委员会", "张三", "李四", "排水沟堵塞引发邻里纠纷", "1,200.50元"],
        "registration": ["柳村人民调解委员会", "当事人申请", "邻里", "绿", "张三", "李四"],
        "rights_notice": ["柳村人民调解委员会", "第二十三条", "张三、李四"],
        "record": ["第一次调解，双方分歧较大", "第二次调解达成书面协议", "柳村人民调解委员会", "东镇人民调解委员会"],
        "agreement": ["东镇人民调解委员会", "张三", "李四", "李四于十日内疏通排水沟，张三不再追究", "钱调解",
                      "履行方式、时限", "李四自费雇工疏通，9月11日前完成，张三到场验收", "（盖章）", "11010519491231002X"],
        "confirmation_application": ["清河县人民法院", "东镇人民调解委员会", "李四于十日内疏通排水沟", "第三十三条"],
        "followup": ["排水沟已疏通，双方满意", "已履行", "5分", "东镇人民调解委员会"],
        "file_cover": ["东镇人民调解委员会", "镇级调解成功", "登记表", "权利义务告知书", "当事人身份证明", "调解笔录",
                       "钱调解"],
    }),
    "oral_in_the_village": ("vmed1", {
        "application": ["宅基地边界争议"], "registration": ["柳村人民调解委员会"], "rights_notice": ["张三、李四"],
        "record": ["当场调解"],
        "oral_agreement": ["柳村人民调解委员会", "双方以界桩为界，当场确认", "赵调解", "第三十条", "按上述协议内容即时履行"],
        "confirmation_application": ["柳村人民调解委员会", "双方以界桩为界"],
        "followup": ["界桩已立，围墙未拆", "部分履行"],
        "file_cover": ["村级调解成功"],
    }),
    "refused": ("vmed1", {"application": ["借款纠纷"], "registration": ["合同"], "rights_notice": ["第二十六条"],
                          "record": ["被申请人拒绝调解"], "file_cover": ["当事人拒绝调解"]}),
    "withdrawn": ("vmed1", {"application": ["噪音扰邻"], "registration": ["噪音扰邻"], "rights_notice": ["张三"],
                            "file_cover": ["申请人撤回申请", "未经调解即撤回"]}),
    "to_court": ("cmed1", {"application": ["合伙经营分红纠纷"], "registration": ["生产经营"], "rights_notice": ["李四"],
                           "record": ["village调解未成", "town调解未成", "county调解未成", "清河县人民调解委员会"],
                           "file_cover": ["诉调对接，转法院处理", "清河县人民调解委员会"]}),
    "petition_to_final": ("tofficer1", {
        "acceptance_notice": ["东镇信访办公室", "王五", "60日内", "属于本机关职责范围", "对石桥村土地承包经营权调整不服"],
        "opinion": ["东镇信访办公室", "王五", "不予支持", "调整程序符合村民自治章程", "30日内", "复查"],
        "review_opinion": ["清河县信访局", "东镇信访办公室", "维持原处理意见", "30日内", "复核"],
        "rereview_opinion": ["清河县信访局", "复核维持，已当面解释", "第三十六条"],
    }),
    "petition_declined": ("tofficer1", {
        "rejection_notice": ["东镇信访办公室", "王五", "属于应当通过诉讼途径解决的事项", "第三十一条", "诉讼、仲裁、行政复议"]}),
    "petition_transferred": ("tofficer1", {
        "transfer": ["西镇信访办公室", "东镇信访办公室", "属西镇管辖事项", "西镇集市占道经营", "王五", "石桥村", "第三十条"]}),
}


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader
    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def looks_missing(user, path: str) -> bool:
    """`path` answers exactly as the same paper of a case that does not exist (its own address aside,
    which the page's language links repeat)."""
    missing_path = "/cases/999999/" + path.split("/", 3)[3]
    answer, missing = user.get(path), user.get(missing_path)
    return (answer.status_code == missing.status_code == 404
            and answer.get_data(as_text=True).replace(path, "") == missing.get_data(as_text=True).replace(missing_path, ""))


def printed(people, case_id: int) -> list[dict]:
    return [e["data"] for e in people["admin"].events(case_id) if e["kind"] == "document_printed"]


def test_every_paper_of_every_bundled_path_prints_as_a_web_page_and_a_pdf_that_say_it(people, browser):
    cases = {name: path(people) for name, path in PATHS.items()}
    pdf_made: set[str] = set()
    for name, (printer, papers) in EXPECTED.items():
        case_id = cases[name]
        user = browser(printer)
        number = people["admin"].case(case_id)["number"]
        kinds = MEDIATION_KINDS if not name.startswith("petition") else PETITION_KINDS
        for kind in kinds:
            response = user.get(f"/cases/{case_id}/documents/{kind}")
            if kind not in papers:
                assert response.status_code == 409, (name, kind, response.status_code)
                assert "此文书现在不能打印" in response.get_data(as_text=True)
                continue
            assert response.status_code == 200, (name, kind, response.status_code)
            page = flat(response.get_data(as_text=True))
            said = [TITLES[kind], number, "清河县", *papers[kind]]
            assert [s for s in said if flat(s) not in page] == [], (name, kind)
            if kind in pdf_made:
                continue
            answer = user.get(f"/cases/{case_id}/documents/{kind}.pdf")
            assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/pdf", (name, kind)
            assert answer.headers["Content-Disposition"] == f'attachment; filename="{number}-{kind}.pdf"'
            text = flat(pdf_text(answer.get_data()))
            assert [s for s in said if flat(s) not in text] == [], (name, kind, text[:400])
            pdf_made.add(kind)
        # Every print is in the history, with its kind and format, and the chain still verifies.
        expected = [(k, "html") for k in kinds if k in papers]
        seen = [(e["kind"], e["format"]) for e in printed(people, case_id)]
        assert [s for s in seen if s[1] == "html"] == expected, name
        assert {k for k, f in seen if f == "pdf"} <= set(papers)
    assert pdf_made == set(MEDIATION_KINDS) | set(PETITION_KINDS)
    verified = people["admin"].get("/audit/verify").get_json()
    assert verified["ok"] is True, verified


def test_the_file_cover_lists_the_case_file_in_the_order_of_its_checklist(people, browser):
    case_id = written_after_escalation(people)
    page = browser("tmed1").page(f"/cases/{case_id}/documents/file_cover")
    items = ["登记表", "权利义务告知书", "当事人身份证明", "调解笔录", "调解协议（如有）", "回访记录（达成协议的）",
             "证据材料", "调查记录", "授权委托书", "履行凭证", "司法确认文书"]
    positions = [page.index(f"<li>{item}") for item in items]
    assert positions == sorted(positions)


def test_parties_are_shown_in_full_only_on_papers_they_sign_and_only_to_the_case_handlers(people, browser):
    case_id = written_after_escalation(people)
    full_id, masked_id = ZHANG["id_number"], "110105********002X"
    full_phone, masked_phone = LI["phone"], "139****9000"
    handler, county_mediator, auditor = browser("tmed1"), browser("cmed1"), browser("auditor1")

    signed = handler.page(f"/cases/{case_id}/documents/agreement")
    assert full_id in signed and full_phone in signed and "只显示部分数字" not in signed
    # The same handler, on a paper the parties do not sign: masked.
    register = handler.page(f"/cases/{case_id}/documents/registration")
    assert full_id not in register and masked_id in register and masked_phone in register
    # Readers who do not handle the case (the county above it, an auditor): masked, even where the parties sign.
    for reader in (county_mediator, auditor):
        shown = reader.page(f"/cases/{case_id}/documents/agreement")
        assert full_id not in shown and masked_id in shown and "只显示部分数字" in shown
        shown_pdf = flat(pdf_text(reader.get(f"/cases/{case_id}/documents/agreement.pdf").get_data()))
        assert full_id not in shown_pdf and masked_id in shown_pdf

    events = printed(people, case_id)
    assert [(e["kind"], e["format"], e["full_identity"]) for e in events] == [
        ("agreement", "html", True), ("registration", "html", False),
        ("agreement", "html", False), ("agreement", "pdf", False),
        ("agreement", "html", False), ("agreement", "pdf", False)]
    history = people["admin"].events(case_id)
    assert [e["actor"] for e in history if e["kind"] == "document_printed"] == [
        "tmed1", "tmed1", "cmed1", "cmed1", "auditor1", "auditor1"]


def test_the_unit_a_petition_complains_about_prints_none_of_its_papers(people, browser):
    # 石桥村's grid worker registers a complaint against 石桥村 itself: they may read the case (masked,
    # without the petitioner) but print nothing of it; the town office that decided prints the notice.
    case_id = people["sq_intake"].register("petition", petition())["id"]
    people["town_officer"].do(case_id, "decide_acceptance", decision="accept", reason="属于本机关职责范围")
    complained = browser("intake2")
    case_page = complained.page(f"/cases/{case_id}")
    assert "王五" not in case_page and 'id="documents"' not in case_page
    for path in (f"/cases/{case_id}/documents/acceptance_notice", f"/cases/{case_id}/documents/acceptance_notice.pdf"):
        assert looks_missing(complained, path), path
    assert "王五" in browser("tofficer1").page(f"/cases/{case_id}/documents/acceptance_notice")
    assert [e["kind"] for e in printed(people, case_id)] == ["acceptance_notice"]


def test_a_paper_the_case_has_not_says_why_and_unknown_or_unseen_ones_are_not_found(people, browser):
    oral = oral_in_the_village(people)
    user = browser("vmed1")
    refused = user.get(f"/cases/{oral}/documents/agreement")
    assert refused.status_code == 409
    assert "本案为口头协议" in refused.get_data(as_text=True)
    assert user.get(f"/cases/{oral}/documents/agreement.pdf").status_code == 409

    # An open case waiting for the follow-up: no follow-up record yet, and no file cover before archiving.
    open_case = people["intake"].register("mediation", dispute())["id"]
    people["village"].do(open_case, "mediate", result="agreement", agreement_form="written",
                         agreement_text="赔偿 500 元", difficulty="simple")
    people["village"].do(open_case, "judicial_confirmation", applied=False)
    for kind, why in (("followup", "尚未回访"), ("file_cover", "案件尚未归档")):
        answer = user.get(f"/cases/{open_case}/documents/{kind}")
        assert answer.status_code == 409 and why in answer.get_data(as_text=True), kind
    assert user.get(f"/cases/{open_case}/documents/agreement").status_code == 200
    listed = user.page(f"/cases/{open_case}")
    assert f"/cases/{open_case}/documents/agreement.pdf" in listed
    assert f"/cases/{open_case}/documents/followup" not in listed

    # Unknown kinds, a petition's paper on a dispute, a case of another village, a missing case: 404 alike.
    for path in (f"/cases/{oral}/documents/letter", f"/cases/{oral}/documents/opinion",
                 f"/cases/{oral}/documents/letter.pdf"):
        assert user.get(path).status_code == 404, path
    other_village = browser("smed1")
    for path in (f"/cases/{oral}/documents/application", f"/cases/{oral}/documents/application.pdf"):
        assert looks_missing(other_village, path), path
    assert [e["kind"] for e in printed(people, oral)] == []


def test_the_page_around_a_paper_follows_the_language_but_the_paper_stays_chinese(people, browser):
    case_id = petition_to_final(people)
    user = browser("tofficer1")
    page = user.page(f"/cases/{case_id}/documents/opinion?lang=en")
    assert "Back to case" in page and "Download the PDF" in page
    assert "信访事项处理意见书" in page and "30日内" in page
    timeline = user.page(f"/cases/{case_id}?lang=en")
    assert "Printed the document “信访事项处理意见书”" in timeline


def test_without_pango_the_pdf_says_so_in_both_languages_and_the_web_page_still_prints(people, browser, monkeypatch):
    case_id = oral_in_the_village(people)
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # `import weasyprint` fails as without its libraries
    user = browser("vmed1")
    answer = user.get(f"/cases/{case_id}/documents/application.pdf")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 503 and "暂时不能生成 PDF" in text and "The PDF cannot be made now" in text
    assert user.get(f"/cases/{case_id}/documents/application").status_code == 200
    assert [e["format"] for e in printed(people, case_id)] == ["html"]  # no PDF, no print recorded


def test_a_county_puts_its_own_name_seal_and_wording_without_code(database_url, tmp_path):
    own = tmp_path / "papers"
    (own / "application").mkdir(parents=True)
    (own / "application" / "template.html").write_text(
        '{% extends "_paper.html" %}{% block body %}<p>兹有{{ applicants[0].name }}申请调解，'
        '{{ first_committee }}受理。</p>{{ seal_text }}{% endblock %}', encoding="utf-8")
    system = make_system(database_url, BPMN, county_name="青山县", seal_text="青山县调解专用章", documents_dir=own)
    try:
        deploy_files(system, definition_files(BPMN))
        seed(system)
        from sqlalchemy import select

        from engine.accounts import actor_of
        from engine.store import User
        with system.db.read() as s:
            intake, mediator = (actor_of(s.scalar(select(User).where(User.username == u))) for u in ("intake1", "vmed1"))
        case_id = system.services.cases.register(intake, "mediation", dispute())["id"]
        made = system.services.documents.render(mediator, case_id, "application")
        assert "青山县" in made["body"] and "兹有张三申请调解，柳村人民调解委员会受理。" in made["body"]
        assert "青山县调解专用章" in made["body"]
        # The papers it did not copy keep the bundled wording, with its names.
        notice = system.services.documents.render(mediator, case_id, "rights_notice")["body"]
        assert "第二十三条" in notice and "青山县" in notice and "青山县调解专用章" in notice
    finally:
        system.close()
