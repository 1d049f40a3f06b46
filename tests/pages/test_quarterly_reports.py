"""The quarterly statistics (/reports/mediation, /reports/petition and GET /api/v1/reports/…): every
figure equals a count made in plain Python from what the scenario of tests/pages/reports_world.py
did (its own log and the cases' read models), never through the SQL that draws the tables; the
API, the CSV and the XLSX say what the screen says; who may read which unit; errors in the
reader's language. On SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import openpyxl
import pytest

from tests.api.conftest import API
from tests.conftest import PG_URL, fresh_postgres_schema
from tests.pages.app import page_app
from tests.pages.conftest import PageUser
from tests.pages.reports_world import build, expected_mediation, expected_petition
from usecases.reports import CATEGORY_FIGURES, MEDIATION_FIGURES, PETITION_FIGURES

QUARTERS = ("2026Q3", "2026Q4")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world(request, tmp_path_factory):
    """The two quarters, played once per store for every test of this module (they only read)."""
    if request.param == "sqlite":
        found = build(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'fengqiao.db'}")
        yield found
        found.system.close()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        found = build(url)
        yield found
        found.system.close()


@pytest.fixture(scope="module")
def app(world):
    return page_app(world.system)


def signed_in(app, username: str) -> PageUser:
    ui = PageUser(app)
    ui.login(username)
    return ui


def api(app, world, username: str, path: str, **params):
    return app.test_client().get(API + path, query_string=params,
                                 headers={"Authorization": f"Bearer {world.tokens[username]}"})


def nonzero(figures: dict, names) -> dict:
    return {n: figures[n] for n in names if figures.get(n)}


# ------------------------------------------------------------------------------ the figures
@pytest.mark.parametrize("quarter", QUARTERS)
@pytest.mark.parametrize("reader, unit", [("jcounty1", "qh"), ("jtown1", "dz"), ("admin1", "xz"),
                                          ("auditor1", "dz-lc")])
def test_the_mediation_figures_equal_the_counts_of_what_was_done(world, reader, unit, quarter):
    report = world.services.reports.mediation(world.actors[reader], quarter=quarter, unit=unit)
    want = expected_mediation(world, quarter, unit)
    assert report["quarter"] == quarter and report["unit"]["code"] == unit
    rows = {r["unit"]: nonzero(r, MEDIATION_FIGURES) for r in report["rows"]}
    assert {k: v for k, v in rows.items() if v} == want["rows"]
    assert nonzero(report["total"], MEDIATION_FIGURES) == want["total"]
    assert {r["category"]: nonzero(r, CATEGORY_FIGURES) for r in report["by_category"]
            if nonzero(r, CATEGORY_FIGURES)} == want["categories"]
    # The rows are the unit's own and one per unit directly below it, and add up to the total.
    below = {"qh": {"dz", "xz"}, "dz": {"dz-lc", "dz-sq"}, "xz": {"xz-hx"}, "dz-lc": set()}[unit]
    assert {r["unit"] for r in report["rows"]} == {unit} | below
    for name in MEDIATION_FIGURES:
        assert sum(r[name] for r in report["rows"]) == report["total"][name]


def test_the_scenario_reaches_every_mediation_figure(world):
    """Each figure is nonzero in one quarter or the other (so every comparison above compares)."""
    seen = set()
    for quarter in QUARTERS:
        seen |= set(expected_mediation(world, quarter, "qh")["total"])
    assert seen == set(MEDIATION_FIGURES)
    q4 = expected_mediation(world, "2026Q4", "qh")["total"]
    assert q4["subsidy_paid_fen"] == 5000 and q4["court_referrals"] == 1 and q4["confirmation_confirmed"] == 1


@pytest.mark.parametrize("quarter", QUARTERS)
@pytest.mark.parametrize("reader, unit", [("officer1", "qh"), ("tofficer1", "dz"), ("xofficer1", "xz"),
                                          ("leader_wang", "dz")])
def test_the_petition_figures_equal_the_counts_of_what_was_done(world, reader, unit, quarter):
    report = world.services.reports.petition(world.actors[reader], quarter=quarter, unit=unit)
    want = expected_petition(world, quarter, unit)
    counted = [f for f in PETITION_FIGURES if not f.endswith("_rate")]
    rows = {r["unit"]: nonzero(r, counted) for r in report["rows"]}
    assert {k: v for k, v in rows.items() if v} == want["rows"]
    total = want["total"]
    assert nonzero(report["total"], counted) == total
    received = total.get("received", 0)
    assert report["total"]["repeat_rate"] == (round(total.get("repeat", 0) / received, 4) if received else None)
    decided = total.get("acceptance_decided", 0)
    assert report["total"]["acceptance_rate"] == (
        round(total.get("accepted_within_deadline", 0) / decided, 4) if decided else None)
    handled = total.get("handled", 0)
    assert report["total"]["on_time_rate"] == (round(total.get("handled_on_time", 0) / handled, 4) if handled else None)


def test_the_scenario_reaches_every_petition_figure(world):
    seen = set()
    for quarter in QUARTERS:
        seen |= set(expected_petition(world, quarter, "qh")["total"])
    assert seen == {f for f in PETITION_FIGURES if not f.endswith("_rate")}
    q4 = expected_petition(world, "2026Q4", "qh")["total"]
    # P2 decided late, P4 handled late; P1, P3, P4, P5 became backlog (P3, P5 marked; P1, P4 aged); P5 closed.
    assert (q4["acceptance_decided"], q4["accepted_within_deadline"]) == (3, 2)
    assert (q4["handled"], q4["handled_on_time"]) == (2, 1)
    assert (q4["backlog_opened"], q4["backlog_resolved"]) == (4, 1)
    assert q4["repeat"] == 1


# ------------------------------------------------------------------------------ the same on every channel
class Tables(HTMLParser):
    """The page's report tables: {table id: [[cell text, …] per row]} (header, body and total rows)."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "report-table" in (attrs.get("class") or ""):
            self._table = attrs["id"]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def screen_tables(html: str) -> list[list[list[str]]]:
    parser = Tables()
    parser.feed(html)
    return list(parser.tables.values())


def download_tables(rows: list[list[str]]) -> list[list[list[str]]]:
    """The tables of a download: after the heading, blocks separated by an empty row, each a caption
    row then the table."""
    blocks, current = [], None
    for row in rows[1:]:
        if not any(row):
            current = []
            blocks.append(current)
        else:
            current.append(row)
    def trimmed(row):  # a sheet's rows are as wide as its widest; a table's as wide as its header
        row = list(row)
        while row and row[-1] == "":
            row.pop()
        return row
    return [[trimmed(r) for r in block[1:]] for block in blocks]


def xlsx_text(value, fen: bool) -> str:
    if value is None:
        return ""
    if fen and isinstance(value, (int, float)):
        return f"{value:,.2f} 元"
    return str(value)


@pytest.mark.parametrize("kind, reader, unit", [("mediation", "jcounty1", "qh"), ("mediation", "jtown1", "dz"),
                                                ("petition", "officer1", "qh"), ("petition", "tofficer1", "dz")])
def test_the_api_the_csv_and_the_spreadsheet_say_what_the_screen_says(app, world, kind, reader, unit):
    ui = signed_in(app, reader)
    for quarter in QUARTERS:
        html = ui.page(f"/reports/{kind}?quarter={quarter}&unit={unit}")
        screen = screen_tables(html)
        assert screen and all(len(t) > 2 for t in screen)

        answer = api(app, world, reader, f"/reports/{kind}", quarter=quarter, unit=unit)
        assert answer.status_code == 200, answer.get_json()
        report = answer.get_json()
        read = getattr(world.services.reports, kind)
        assert report == read(world.actors[reader], quarter=quarter, unit=unit)
        # The screen's unit table is the API's rows and total, figure by figure, as people read them.
        header, *body = screen[0]
        keys = column_keys(kind)
        assert len(header) == len(keys) + 1
        for row, values in zip(body, [*report["rows"], report["total"]], strict=True):
            assert row[1:] == [shown(key, values[key]) for key in keys]
        assert body[-1][0] == "合计"

        got_csv = ui.get(f"/reports/{kind}.csv?quarter={quarter}&unit={unit}")
        assert got_csv.status_code == 200 and got_csv.mimetype == "text/csv"
        text = got_csv.get_data().decode("utf-8-sig")
        assert download_tables(list(csv.reader(io.StringIO(text)))) == screen

        got_xlsx = ui.get(f"/reports/{kind}.xlsx?quarter={quarter}&unit={unit}")
        assert got_xlsx.status_code == 200
        assert f"-report-{quarter}-{unit}-" in got_xlsx.headers["Content-Disposition"]
        sheet = openpyxl.load_workbook(io.BytesIO(got_xlsx.get_data())).active
        rows = [list(r) for r in sheet.iter_rows(values_only=True)]
        assert rows[0][:3] == [{"mediation": "矛盾纠纷调解季度统计", "petition": "信访事项季度统计"}[kind],
                               f"{quarter}（{report['from']} 至 {report['to']}）", report["unit"]["name"]]
        fen_columns = {i for i, cell in enumerate(rows[3]) if cell == "补贴发放金额"}
        as_text = [[xlsx_text(v, i in fen_columns) for i, v in enumerate(r)] for r in rows]
        assert download_tables(as_text) == screen
        # Counts are numbers in the sheet (they sum), money a number of yuan; shares stay as shown.
        total_row = next(r for r in rows if r[0] == "合计")
        for key, value in zip(column_keys(kind), total_row[1:], strict=False):
            if key.endswith("_fen"):
                assert value == report["total"][key] / 100
            elif not key.endswith("_rate"):
                assert value == report["total"][key] and isinstance(value, int)


def column_keys(kind: str) -> list[str]:
    from web.pages.reports import MEDIATION_COLUMNS, PETITION_COLUMNS
    return [k for k, _t in (MEDIATION_COLUMNS if kind == "mediation" else PETITION_COLUMNS)]


def shown(key: str, value) -> str:
    """A figure as a person reads it: a count, a share in per cent with one decimal, money in 元."""
    if key.endswith("_rate"):
        return "—" if value is None else f"{value * 100:.1f}%"
    if key.endswith("_fen"):
        return f"{value // 100:,}.{value % 100:02d} 元"
    return str(value)


# ------------------------------------------------------------------------------ who may see which unit
def test_a_village_mediator_may_not_read_the_statistics(app, world):
    ui = signed_in(app, "vmed1")
    for path in ("/reports/mediation", "/reports/petition", "/reports/mediation.xlsx", "/reports/petition.csv"):
        assert ui.get(path).status_code == 403, path
    for path in ("/reports/mediation", "/reports/petition"):
        answer = api(app, world, "vmed1", path)
        assert answer.status_code == 403 and answer.get_json()["error"]["code"] == "forbidden"
    assert "/reports/mediation" not in ui.page("/")


def test_each_report_is_for_its_own_offices(app, world):
    assert api(app, world, "jtown1", "/reports/petition").status_code == 403
    assert api(app, world, "tofficer1", "/reports/mediation").status_code == 403
    assert api(app, world, "leader_wang", "/reports/mediation").status_code == 200
    assert api(app, world, "leader_wang", "/reports/petition").status_code == 200
    justice = signed_in(app, "jtown1")
    home = justice.page("/")
    assert "/reports/mediation" in home and "/reports/petition" not in home
    assert 'href="/reports/mediation"' in justice.page("/subsidies")  # where the justice office works
    assert 'href="/reports/petition"' in signed_in(app, "tofficer1").page("/petitions/board")


def test_a_town_justice_officer_sees_their_town_and_its_villages_only(app, world):
    answer = api(app, world, "jtown1", "/reports/mediation", quarter="2026Q4")
    assert answer.status_code == 200
    report = answer.get_json()
    assert report["unit"]["code"] == "dz"  # by default their own unit
    assert [r["unit"] for r in report["rows"]] == ["dz", "dz-lc", "dz-sq"]
    assert {u["code"] for u in report["units"]} == {"dz", "dz-lc", "dz-sq"}
    assert api(app, world, "jtown1", "/reports/mediation", unit="dz-sq").status_code == 200
    for unit in ("xz", "xz-hx", "qh"):
        refused = api(app, world, "jtown1", "/reports/mediation", unit=unit)
        assert refused.status_code == 400 and "只能查看本单位及下级单位" in refused.get_json()["error"]["message"]
    page = signed_in(app, "jtown1").get("/reports/mediation?unit=xz")
    assert page.status_code == 400 and "只能选择本单位或下级单位" in page.get_data(as_text=True)


def test_a_bad_quarter_or_unit_is_said_plainly_in_the_readers_language(app, world):
    answer = api(app, world, "jcounty1", "/reports/mediation", quarter="2026Q5")
    assert answer.status_code == 400 and "quarter" in answer.get_json()["error"]["fields"]
    answer = api(app, world, "jcounty1", "/reports/mediation", unit="nowhere")
    assert answer.status_code == 400 and "没有单位" in answer.get_json()["error"]["message"]
    ui = signed_in(app, "jcounty1")
    page = ui.get("/reports/mediation?quarter=26Q4")
    html = page.get_data(as_text=True)
    assert page.status_code == 400 and "应写成 2026Q4" in html and 'value="26Q4"' in html  # what was typed stays
    assert ui.get("/reports/mediation.xlsx?quarter=26Q4").status_code == 400
    english = ui.get("/reports/mediation?quarter=26Q4&lang=en").get_data(as_text=True)
    assert "write it as 2026Q4" in english and "应写成" not in english


def test_the_pages_in_english(app, world):
    ui = signed_in(app, "jcounty1")
    html = ui.page("/reports/mediation?quarter=2026Q4&lang=en")
    assert "Quarterly dispute mediation statistics" in html and "Received" in html and "Total" in html
    assert "调解成功" not in html
    ui = signed_in(app, "leader_wang")
    html = ui.page("/reports/petition?quarter=2026Q4&lang=en")
    assert "Quarterly petition statistics" in html and "Backlog resolved" in html
    sheet = openpyxl.load_workbook(io.BytesIO(ui.get("/reports/petition.xlsx?quarter=2026Q4").get_data())).active
    assert sheet["A1"].value == "Quarterly petition statistics"


# ------------------------------------------------------------------------------ after packing
def test_every_report_is_the_same_once_the_closed_cases_histories_are_packed(world):
    """The reports read events across cases in SQL (agreements, judicial confirmations, the court's
    answers, backlog marks): those stay rows when a closed case's history is packed (engine/history.py),
    so packing every closed case changes no figure. (The module's world stays packed: the figures
    after this test are the packed store's, the same.)"""
    from sqlalchemy import func, select

    from engine.store import Case, CaseEvent, CaseHistory

    def reports():
        found = {}
        for quarter in QUARTERS:
            for reader, unit in [("jcounty1", "qh"), ("jtown1", "dz"), ("auditor1", "dz-lc")]:
                found["mediation", quarter, unit] = world.services.reports.mediation(world.actors[reader],
                                                                                     quarter=quarter, unit=unit)
            for reader, unit in [("officer1", "qh"), ("tofficer1", "dz"), ("xofficer1", "xz")]:
                found["petition", quarter, unit] = world.services.reports.petition(world.actors[reader],
                                                                                   quarter=quarter, unit=unit)
        return found

    before = reports()
    with world.system.db.read() as s:
        rows_before = s.scalar(select(func.count()).select_from(CaseEvent))
        closed = s.scalar(select(func.count()).select_from(Case).where(Case.status != "open"))
    packed = world.system.pack_closed()
    assert packed.cases == closed > 0 and packed.events > 0
    with world.system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseHistory)) == closed
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == rows_before - packed.events
    assert reports() == before
    assert world.system.pack_closed().events == 0  # nothing new to pack
