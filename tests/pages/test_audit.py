"""The auditors' pages (/audit) as a browser without JavaScript meets them: finding a case by a
party's name and by the other filters, a case's history with its hash chain verified (and a tampered
record shown as the break), the whole store's verification with its progress, the subsidy ledger
with its totals, the printable case file, and the exports, whose cells are the screen's cells, masked
as the screen is. Everyone but auditors and admins is refused.

The county is tests/conftest.py's `seed_people` (清河县, 东镇, 柳村) plus 西镇 and its 河西村 with a
mediator, and the bundled processes: a neighbours' dispute of 柳村 settled and archived (with its
subsidy), a contract dispute of 河西村 registered six weeks later and still open, and a petition.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from sqlalchemy import func, select, text, update

from engine.accounts import actor_of, add_org_unit, add_user, find_user
from engine.store import AuditRun, Case, CaseEvent, LedgerEntry
from tests.conftest import (
    BPMN_DIR,
    START,
    definition_files,
    deploy_files,
    make_system,
    seed_people,
)
from tests.mediation.conftest import COMPLETE_FILE

ZHANG_ID, ZHANG_PHONE, LI_PHONE = "11010519491231002X", "13800138000", "13900139000"
SUN_PHONE, WANG_ID = "13700001111", "320582198001011231"
SECRETS = (ZHANG_ID, ZHANG_PHONE, LI_PHONE, SUN_PHONE, WANG_ID)
LATER = datetime(2026, 10, 15, 2, 0, tzinfo=UTC)


# --- the county and its cases -------------------------------------------------------------------------
def dispute(village: str, parties: list[tuple[str, str, dict]], category: str = "neighbour",
            summary: str = "排水沟堵塞引发邻里纠纷") -> dict:
    return {"parties": [{"side": side, "name": name, "residence_org": village, **more}
                        for side, name, more in parties],
            "category": category, "summary": summary, "source": "party_application", "risk_level": "green"}


def settle(system, mediator, case_id: int) -> list[dict]:
    """A written agreement at the village, no judicial confirmation, the follow-up, a complete file."""
    services = system.services

    def step(name: str, **values):
        (task,) = [t for t in services.tasks.worklist(mediator, case_id) if t["name"] == name]
        return services.tasks.complete(mediator, task["id"], values, services.cases.get(mediator, case_id)["version"])

    step("mediate", result="agreement", agreement_form="written", agreement_text="双方同意疏通排水沟",
         difficulty="general")
    step("judicial_confirmation", applied=False)
    step("followup", performance="performed", satisfaction=4)
    return step("archive", checklist=COMPLETE_FILE)["subsidy"]


def build_county(system) -> dict:
    """The cases of this module's county (see the module's docstring); returns their ids."""
    with system.db.write() as s:
        add_org_unit(s, "qh-xz", "西镇", "town", "qh")
        add_org_unit(s, "qh-xz-hx", "河西村", "village", "qh-xz")
        add_user(s, "xmed1", ["mediator"], "qh-xz-hx", "password1", now=START, display_name="河西村调解员")
        add_user(s, "xintake1", ["intake"], "qh-xz-hx", "password1", now=START)
        add_user(s, "admin1", ["admin"], "qh", "password1", now=START)
    with system.db.read() as s:
        xmed, xintake = actor_of(find_user(s, "xmed1")), actor_of(find_user(s, "xintake1"))
    people, cases = system.people, system.services.cases
    neighbours = cases.register(people["intake"], "mediation", dispute("qh-dz-lc", [
        ("applicant", "张三", {"id_number": ZHANG_ID, "phone": ZHANG_PHONE, "household_address": "东镇柳村3组"}),
        ("respondent", "李四", {"phone": LI_PHONE})]))["id"]
    settle(system, people["village_mediator"], neighbours)
    petition = cases.register(people["officer"], "petition", {
        "petitioners": [{"name": "王五", "id_number": WANG_ID, "phone": "13912345678", "address": "东镇柳村3组"}],
        "residence_org": "qh-dz-lc", "channel": "visit", "kind": "complaint_request", "category": "land_forest",
        "respondent_unit": "qh-dz", "summary": "对土地承包经营权调整决定不服", "people_count": 1})["id"]
    system.clock.set(LATER)
    contract = cases.register(xintake, "mediation", dispute("qh-xz-hx", [
        ("applicant", "孙七", {"phone": SUN_PHONE}), ("respondent", "周八", {})], category="contract",
        summary="买卖合同货款纠纷"))["id"]
    settled_later = cases.register(xintake, "mediation", dispute("qh-xz-hx", [
        ("applicant", "吴九", {}), ("respondent", "郑十", {})], summary="宅前道路通行纠纷"))["id"]
    settle(system, xmed, settled_later)
    return {"neighbours": neighbours, "petition": petition, "contract": contract, "settled_later": settled_later}


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN_DIR)
    deploy_files(system, definition_files(BPMN_DIR))
    system.people = seed_people(system)
    system.cases = build_county(system)
    yield system
    system.close()


@pytest.fixture
def auditor(ui):
    assert ui.login("auditor1").status_code in (302, 303)
    return ui


# --- reading what the screen and the files say ------------------------------------------------------------
class Table(HTMLParser):
    """The cells (text, whitespace collapsed) of the rows of the table with class `css_class`."""

    def __init__(self, css_class: str):
        super().__init__()
        self.css_class, self.depth, self.rows, self.cell = css_class, 0, [], None
        self.head: list[str] = []
        self.in_head = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and self.css_class in (a.get("class") or "").split():
            self.depth = 1
        elif self.depth and tag == "thead":
            self.in_head = True
        elif self.depth and tag == "tr" and not self.in_head:
            self.rows.append([])
        elif self.depth and tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag in ("td", "th") and self.cell is not None:
            value = re.sub(r"\s+", " ", "".join(self.cell)).strip()
            (self.head if self.in_head else self.rows[-1]).append(value)
            self.cell = None
        elif tag == "thead":
            self.in_head = False
        elif tag == "table":
            self.depth = 0

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table(html: str, css_class: str) -> tuple[list[str], list[list[str]]]:
    parser = Table(css_class)
    parser.feed(html)
    return parser.head, parser.rows


def csv_rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "text/csv"
    body = response.get_data().decode("utf-8-sig")
    return [[re.sub(r"\s+", " ", c).strip() for c in row] for row in csv.reader(io.StringIO(body))]


def xlsx_rows(data: bytes) -> list[list[str]]:
    """Each cell as a spreadsheet shows it: text as written, money by its number format."""
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(data), read_only=True)
    rows = []
    for row in book.worksheets[0].iter_rows():
        line = []
        for cell in row:
            value = cell.value
            if isinstance(value, (int, float)) and "0.00" in (cell.number_format or ""):
                suffix = re.search(r'"([^"]*)"', cell.number_format).group(1)
                value = f"{'-' if value < 0 else ''}{abs(value):,.2f}{suffix}"
            line.append("" if value is None else re.sub(r"\s+", " ", str(value)).strip())
        rows.append(line)
    return rows


def numbers_listed(html: str) -> set[str]:
    return {row[0] for row in table(html, "audit-results")[1]}


def number_of(system, case_id: int) -> str:
    with system.db.read() as s:
        return s.scalar(select(Case.number).where(Case.id == case_id))


# --- finding cases --------------------------------------------------------------------------------------
def test_an_auditor_finds_a_case_by_a_party_s_name_with_the_numbers_masked(system, auditor):
    page = auditor.page("/audit?party=李四")
    assert numbers_listed(page) == {number_of(system, system.cases["neighbours"])}
    head, rows = table(page, "audit-results")
    assert head[:3] == ["案件编号", "类型", "当事人"]
    assert "张三 110105********002X 138****8000" in rows[0][2] and "李四 139****9000" in rows[0][2]
    assert "邻里" in rows[0] and "东镇 · 柳村" in rows[0] and "已结案：村级调解成功" in rows[0]
    assert not [s for s in SECRETS if s in page]
    assert "符合条件的案件共 1 件" in page
    # The whole phone number finds the case too (by its digest, never by the stored text).
    assert numbers_listed(auditor.page(f"/audit?party={ZHANG_PHONE}")) == {number_of(system, system.cases["neighbours"])}


def test_each_filter_narrows_the_search_to_exactly_its_cases(system, auditor):
    ids = system.cases
    number = {key: number_of(system, ident) for key, ident in ids.items()}
    every = set(number.values())
    assert numbers_listed(auditor.page("/audit")) == every
    cases = {
        "category=contract": {"contract"},
        "category=land_forest": {"petition"},
        "unit=qh-xz": {"contract", "settled_later"},
        "unit=qh-dz": {"neighbours"},  # a town includes its villages
        "unit=qh-dz-lc": {"neighbours"},
        "unit=qh-xz-hx": {"contract", "settled_later"},
        "unit=qh": set(ids),
        "type=petition": {"petition"},
        "status=open": {"contract", "petition"},
        "outcome=resolved_village": {"neighbours", "settled_later"},
        "registered_from=2026-10-01": {"contract", "settled_later"},
        "registered_to=2026-09-30": {"neighbours", "petition"},
        "registered_from=2026-10-15&registered_to=2026-10-15": {"contract", "settled_later"},
        f"number={number['contract'][-6:]}": {"contract"},
        "party=孙七&status=open": {"contract"},
        "party=孙七&status=closed": set(),
    }
    for query, keys in cases.items():
        page = auditor.page(f"/audit?{query}")
        assert numbers_listed(page) == {number[k] for k in keys}, query
    assert "没有符合条件的案件" in auditor.page("/audit?party=孙七&status=closed")


def test_a_name_search_reads_each_candidates_row_once_newest_first(system, auditor):
    """SQLite: a party's name is the search index's candidates (ids only, on the terms' index) with
    the LIKE on the row the page reads: one look-up a candidate, the page stopping at its last row,
    never a set of the matches built from every candidate's row first (it grew with the name's cases
    in the store). With a 1,000,000-case store's statistics. A name of one character (no term) is the
    LIKE alone, and finds what a scan finds."""
    from sqlalchemy import event

    from tests.stores import sqlite_statistics

    sqlite_statistics(system, {"case_search_term": {"case_search_term": "40000000 4000 1"},
                               "case_record": {"sqlite_autoindex_case_record_1": "1000000 1",
                                               "ix_case_record_search_text": "1000000 3"}})
    services, actor = system.services, system.people["auditor"]
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement, parameters))

    event.listen(system.db.read_engine, "before_cursor_execute", listen)
    try:
        page = services.audit.search(actor, party="孙七")
    finally:
        event.remove(system.db.read_engine, "before_cursor_execute", listen)
    assert [c["id"] for c in page.items] == [system.cases["contract"]] and page.total == 1
    reads = [(sql, p) for sql, p in seen if "search_text LIKE" in sql]
    assert len(reads) == 2 and not [sql for sql, _ in reads if " found" in sql], reads  # the page, its count
    if not system.db.is_postgres:
        for statement, parameters in reads:
            with system.db.read() as s:
                plan = [str(row[-1]) for row in s.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement,
                                                                               parameters)]
            assert len([step for step in plan if "case_record" in step]) == 1, plan
            assert "SEARCH case_record USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
            assert "SEARCH case_search_term USING PRIMARY KEY (term=?)" in plan, plan
    with system.db.read() as s:
        scan = {i for i, found in s.execute(select(Case.id, Case.search_text)) if "孙" in (found or "")}
    assert scan and {c["id"] for c in services.audit.search(actor, party="孙").items} == scan


def test_pages_of_results_follow_each_other_newest_first(system, auditor):
    services = system.services
    actor = system.people["auditor"]
    first = services.audit.search(actor, limit=2)
    assert [c["id"] for c in first.items] == sorted(system.cases.values(), reverse=True)[:2]
    second = services.audit.search(actor, limit=2, after=first.next_after)
    assert [c["id"] for c in second.items] == sorted(system.cases.values(), reverse=True)[2:4]
    assert second.next_after is None and second.previous_before == second.items[0]["id"]
    back = services.audit.search(actor, limit=2, before=second.previous_before)
    assert [c["id"] for c in back.items] == [c["id"] for c in first.items] and back.previous_before is None
    assert first.total == second.total == 4


def test_a_wrong_date_is_said_beside_its_field_and_what_was_typed_stays(system, auditor):
    response = auditor.get("/audit?party=张三&registered_from=2026-13-01")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "日期应写成 2026-09-01" in page and 'href="#f-registered_from"' in page
    assert 'value="2026-13-01"' in page and 'value="张三"' in page
    backwards = auditor.get("/audit?registered_from=2026-10-01&registered_to=2026-09-01")
    assert backwards.status_code == 400 and "结束日期不能早于开始日期" in backwards.get_data(as_text=True)


# --- who may ------------------------------------------------------------------------------------------------
AUDIT_PAGES = ("/audit", "/audit?party=张三", "/audit/cases.csv", "/audit/cases.xlsx", "/audit/verify",
               "/audit/ledger", "/audit/ledger.csv", "/audit/ledger.xlsx", "/audit/cases/{id}",
               "/audit/cases/{id}/history.csv", "/audit/cases/{id}/history.xlsx", "/audit/cases/{id}/file")


@pytest.mark.parametrize("username", ["vmed1", "intake1", "officer1", "justice1", "med1"])
def test_everyone_but_auditors_and_admins_is_refused_and_nothing_is_started(system, ui, username):
    assert ui.login(username).status_code in (302, 303)
    for path in AUDIT_PAGES:
        response = ui.get(path.format(id=system.cases["neighbours"]))
        assert response.status_code == 403, (username, path, response.status_code)
        assert "您没有权限" in response.get_data(as_text=True)
    assert ui.submit("/audit/verify", {}, form_page="/").status_code == 403
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditRun)) == 0
    assert 'href="/audit"' not in ui.page("/")


def test_an_admin_may_use_the_audit_pages_too(system, ui):
    assert ui.login("admin1").status_code in (302, 303)
    assert number_of(system, system.cases["neighbours"]) in ui.page("/audit?party=张三")
    assert 'href="/audit"' in ui.page("/")


# --- a case's history ------------------------------------------------------------------------------------------
def test_a_case_s_history_shows_its_chain_verified_beside_every_record(system, auditor):
    case_id = system.cases["neighbours"]
    page = auditor.page(f"/audit/cases/{case_id}")
    assert "✓ 哈希链完整" in page
    head, rows = table(page, "audit-history")
    with system.db.read() as s:
        events = s.execute(select(CaseEvent.seq, CaseEvent.hash).where(CaseEvent.case_id == case_id)
                           .order_by(CaseEvent.seq)).all()
    assert head == ["序号", "时间", "操作人", "事项", "详情", "哈希", "哈希链"]
    assert [(int(r[0]), r[5]) for r in rows] == [(seq, digest) for seq, digest in events]
    assert all(r[6] == "✓ 正确" for r in rows)
    assert "登记了案件" in rows[0][3] and not [s for s in SECRETS if s in page]


def test_a_tampered_record_shows_where_the_chain_breaks(system, auditor):
    case_id = system.cases["neighbours"]
    with system.db.write() as s:
        third = s.scalar(select(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == 3))
        s.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == third.seq).values(actor="someone_else"))
    page = auditor.page(f"/audit/cases/{case_id}")
    assert "✗ 哈希链断开" in page and "从第 3 条记录起校验不通过" in page and "事件被篡改" in page
    _head, rows = table(page, "audit-history")
    assert [r[6] for r in rows[:2]] == ["✓ 正确", "✓ 正确"]
    assert {r[6] for r in rows[2:]} == {"✗ 断开"}
    # The other cases are untouched.
    assert "✓ 哈希链完整" in auditor.page(f"/audit/cases/{system.cases['contract']}")


def test_a_case_nobody_has_is_the_same_404_as_ever(system, auditor):
    assert auditor.get("/audit/cases/987654321").status_code == 404
    assert auditor.get("/audit/cases/99999999999999999999").status_code == 404
    assert auditor.get("/audit/cases/987654321/history.xlsx").status_code == 404


# --- the whole store's verification ------------------------------------------------------------------------------
def test_the_whole_store_is_verified_in_the_background_with_its_progress_shown(system, app, auditor):
    waiting = []
    audit = app.extensions["fengqiao"].audit  # the application layer the pages call
    audit.runner = waiting.append  # the work is held until the test lets it run
    assert "还没有做过全库校验" in auditor.page("/audit/verify")
    answer = auditor.submit("/audit/verify", {})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/audit/verify")
    page = auditor.page("/audit/verify")
    assert '<meta http-equiv="refresh" content="2">' in page
    assert "正在校验" in page and "已校验 0 / 4 件（0%）" in page and "开始全库校验" not in page
    # Starting again while it runs answers the same run.
    auditor.submit("/audit/verify", {}, form_page="/audit")
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditRun)) == 1
    waiting.pop()()
    page = auditor.page("/audit/verify")
    assert "http-equiv" not in page
    assert "✓ 校验完成：全部哈希链完整" in page and "已校验 4 / 4 件（100%）" in page

    # A tampered record: the next run names its case, with a link to its history.
    case_id = system.cases["contract"]
    with system.db.write() as s:
        s.execute(text("DELETE FROM case_event WHERE case_id = :c AND seq = 2"), {"c": case_id})
    audit.runner = lambda work: work()
    auditor.submit("/audit/verify", {})
    page = auditor.page("/audit/verify")
    assert "发现 1 件案件的哈希链断开" in page and f'href="/audit/cases/{case_id}"' in page
    assert number_of(system, case_id) in page and "第 2 条记录" in page


def test_a_run_whose_process_died_is_said_to_be_interrupted_and_a_new_one_may_start(system, app, auditor):
    with system.db.write() as s:
        s.add(AuditRun(started_at=START, started_by="auditor1", status="running", cases_total=4, cases_checked=1,
                       cases_broken=0, last_case_id=1, breaks=[], error="",
                       heartbeat_at=datetime(2020, 1, 1, tzinfo=UTC)))
    page = auditor.page("/audit/verify")
    assert "校验中断" in page and "开始全库校验" in page and "http-equiv" not in page
    app.extensions["fengqiao"].audit.runner = lambda work: work()
    auditor.submit("/audit/verify", {})
    assert "✓ 校验完成：全部哈希链完整" in auditor.page("/audit/verify")
    with system.db.read() as s:
        assert s.execute(select(AuditRun.status).order_by(AuditRun.id)).scalars().all() == ["interrupted", "done"]


# --- the subsidy ledger ---------------------------------------------------------------------------------------------
def ledger_sums(system, **where) -> tuple[int, int]:
    """Count and fen of the entries, counted straight from the table (not through the page's code)."""
    with system.db.read() as s:
        query = select(func.count(), func.coalesce(func.sum(LedgerEntry.amount_fen), 0)).select_from(LedgerEntry)
        if "unit" in where:
            query = query.join(Case, Case.id == LedgerEntry.case_id).where(Case.jurisdiction.like(f"{where['unit']}%"))
        if "mediator" in where:
            query = query.where(LedgerEntry.mediator == where["mediator"])
        count, fen = s.execute(query).one()
    return count, int(fen)


def yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def test_the_ledger_is_filtered_by_mediator_unit_quarter_and_status_with_totals(system, auditor):
    count, fen = ledger_sums(system)
    assert count == 2 and fen > 0
    page = auditor.page("/audit/ledger")
    assert f"共 {count} 笔，金额 {yuan(fen)}" in page
    _head, rows = table(page, "audit-ledger")
    assert len(rows) == 2 and {r[2] for r in rows} == {"vmed1", "河西村调解员"}
    count, fen = ledger_sums(system, unit="qh-xz")
    page = auditor.page("/audit/ledger?unit=qh-xz")
    assert count == 1 and f"共 1 笔，金额 {yuan(fen)}" in page
    assert [r[2] for r in table(page, "audit-ledger")[1]] == ["河西村调解员"]
    assert [r[2] for r in table(auditor.page("/audit/ledger?mediator=vmed1"), "audit-ledger")[1]] == ["vmed1"]
    assert len(table(auditor.page("/audit/ledger?quarter=2026q4"), "audit-ledger")[1]) == 1
    by_status = table(auditor.page("/audit/ledger?status=accrued"), "by-status")[1]
    assert by_status == [["已计提", "2", yuan(ledger_sums(system)[1])]]
    assert "没有符合条件的补贴记录" in auditor.page("/audit/ledger?status=paid")
    wrong = auditor.get("/audit/ledger?quarter=2026-4")
    assert wrong.status_code == 400 and "应写成 2026Q4" in wrong.get_data(as_text=True)


# --- exports ---------------------------------------------------------------------------------------------------------
def test_the_search_exports_say_exactly_what_the_screen_says_masked_alike(system, auditor):
    for query in ("", "?party=张三", "?unit=qh-xz"):
        head, rows = table(auditor.page(f"/audit{query}"), "audit-results")
        screen = [head[:-1]] + [r[:-1] for r in rows]  # the last column is the link to the history
        assert csv_rows(auditor.get(f"/audit/cases.csv{query}")) == screen
        response = auditor.get(f"/audit/cases.xlsx{query}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        assert xlsx_rows(response.get_data()) == screen
        assert not [s for s in SECRETS if s in response.get_data(as_text=False).decode("latin-1")]
    assert "110105********002X" in auditor.get("/audit/cases.csv?party=张三").get_data().decode("utf-8-sig")


def test_a_history_export_is_the_history_on_the_screen(system, auditor):
    case_id = system.cases["neighbours"]
    head, rows = table(auditor.page(f"/audit/cases/{case_id}"), "audit-history")
    assert csv_rows(auditor.get(f"/audit/cases/{case_id}/history.csv")) == [head] + rows
    assert xlsx_rows(auditor.get(f"/audit/cases/{case_id}/history.xlsx").get_data()) == [head] + rows


def test_the_ledger_export_is_the_ledger_on_the_screen_with_money_that_sums(system, auditor):
    from openpyxl import load_workbook
    head, rows = table(auditor.page("/audit/ledger"), "audit-ledger")
    assert csv_rows(auditor.get("/audit/ledger.csv")) == [head] + rows
    data = auditor.get("/audit/ledger.xlsx").get_data()
    assert xlsx_rows(data) == [head] + rows
    amounts = [row[5].value for row in load_workbook(io.BytesIO(data), read_only=True).worksheets[0].iter_rows(min_row=2)]
    assert round(sum(amounts) * 100) == ledger_sums(system)[1]


def test_an_export_in_english_is_the_english_screen(system, auditor):
    head, rows = table(auditor.page("/audit?lang=en&party=张三"), "audit-results")
    assert head[0] == "Case number"
    assert csv_rows(auditor.get("/audit/cases.csv?party=张三")) == [head[:-1]] + [r[:-1] for r in rows]


# --- the case file -----------------------------------------------------------------------------------------------------
def test_the_case_file_follows_the_checklist_and_prints_on_a4(system, auditor):
    case_id = system.cases["neighbours"]
    page = auditor.page(f"/audit/cases/{case_id}/file")
    order = ["登记表", "权利义务告知书", "当事人身份证明", "调解笔录", "调解协议（如有）", "回访记录（达成协议的）",
             "证据材料", "调查记录", "授权委托书", "履行凭证", "司法确认文书"]
    headings = re.findall(r'<h2 id="h-item-\w+">\d+\. ([^<]+)</h2>', page)
    assert headings == order
    assert "卷宗目录" in page and "办理经过" in page and "✓ 哈希链完整" in page
    assert "110105********002X" in page and not [s for s in SECRETS if s in page]
    assert "双方同意疏通排水沟" in page  # the agreement's text, under 调解笔录
    css = auditor.get("/static/audit.css").get_data(as_text=True)
    assert "@media print" in css and "size: A4" in css
    assert 'href="/static/audit.css"' in page
    # A petition keeps no checklist: its file is its registration and history.
    petition = auditor.page(f"/audit/cases/{system.cases['petition']}/file")
    assert "卷宗目录" not in petition and "登记的情况" in petition and "王五" in petition
