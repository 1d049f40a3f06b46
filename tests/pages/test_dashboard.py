"""The county dashboard (/dashboard and GET /api/v1/dashboard): every figure equals a count made here
in plain Python over the rows of the cases this test seeds, not through the SQL that draws them.

The world is the authorization matrix's (two towns, a village each, disputes and petitions), plus
a dispute refused at 柳村, one of another category at 河西村, and time moved on so open steps are
overdue and the petitions backlog.
"""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.calendar import ZONE
from engine.store import Case, HumanTask, LedgerEntry, LedgerEvent
from tests.api.test_authorization_matrix import world  # noqa: F401
from tests.mediation.conftest import COMPLETE_FILE, dispute
from tests.pages.conftest import PageUser

RESOLVED = {"resolved_village": "village", "resolved_town": "town", "resolved_county": "county"}


@pytest.fixture
def county(world):  # noqa: F811
    system, actors = world["system"], world["actors"]
    services = system.services
    refused = services.cases.register(actors["intake1"], "mediation", dispute(category="contract"))["id"]
    (task,) = services.tasks.worklist(actors["vmed1"], refused)
    services.tasks.complete(actors["vmed1"], task["id"], {"result": "refused"},
                            services.cases.get(actors["vmed1"], refused)["version"])
    (task,) = services.tasks.worklist(actors["vmed1"], refused)
    services.tasks.complete(actors["vmed1"], task["id"], {"checklist": COMPLETE_FILE},
                            services.cases.get(actors["vmed1"], refused)["version"])
    services.cases.register(actors["admin1"], "mediation", dispute(category="labour", parties=[
        {"side": "applicant", "name": "钱一", "residence_org": "xz-hx"},
        {"side": "respondent", "name": "冯二", "residence_org": "xz-hx"}]))
    system.clock.set(system.clock.now() + timedelta(days=100))  # no sweep: open steps stay open, overdue
    from web.app import create_app
    world["app"] = create_app(services=services)
    return world


def rows(system):
    with system.db.read() as s:
        cases = [dict(r._mapping) for r in s.execute(select(Case.id, Case.type, Case.status, Case.outcome,
                                                              Case.jurisdiction, Case.created_at, Case.closed_at,
                                                              Case.data, Case.owner, Case.flags))]
        tasks = [dict(r._mapping) for r in s.execute(select(HumanTask.case_id, HumanTask.name, HumanTask.org_unit,
                                                              HumanTask.status, HumanTask.due_at, HumanTask.completed_at))]
        entries = [dict(r._mapping) for r in s.execute(select(LedgerEntry))]
        entries = [{"quarter": e.quarter, "amount_fen": e.amount_fen, "case_id": e.case_id, "id": e.id,
                    "statuses": [ev.status for ev in s.scalars(select(LedgerEvent).where(LedgerEvent.entry_id == e.id))]}
                   for e in s.scalars(select(LedgerEntry))]
    return cases, tasks, entries


def expected(system, units: set[str] | None, top: dict[str, str]):
    """The figures, counted by hand. `units`: the scope (None: all); `top`: unit → its row."""
    cases, tasks, entries = rows(system)
    now = system.clock.now()
    first_day = (now.astimezone(ZONE).date().replace(day=1) - timedelta(days=330)).replace(day=1)
    inside = [c for c in cases if units is None or c["jurisdiction"] in units]
    closed = [c for c in inside if c["type"] == "mediation" and c["status"] == "closed"
              and c["closed_at"].astimezone(ZONE).date() >= first_day]
    outcomes = Counter(c["outcome"] for c in closed)
    done = [t for t in tasks if t["status"] == "completed" and t["due_at"] is not None
            and (units is None or t["org_unit"] in units)]
    by_step = {}
    for t in done:
        row = by_step.setdefault(t["name"], [0, 0])
        row[0] += 1
        row[1] += t["completed_at"] <= t["due_at"]
    overdue = Counter(top.get(t["org_unit"], t["org_unit"]) for t in tasks if t["status"] == "ready"
                      and t["due_at"] is not None and t["due_at"] < now and (units is None or t["org_unit"] in units))
    petitions = [c for c in inside if c["type"] == "petition" and c["status"] == "open"]
    backlog = sum(1 for c in petitions if "backlog" in (c["flags"] or []) or c["created_at"] < now - timedelta(days=90))
    case_ids = {c["id"] for c in inside}
    money = Counter()
    for e in entries:
        if e["case_id"] in case_ids and "rejected" not in e["statuses"]:
            money[e["quarter"]] += e["amount_fen"]
    categories = Counter(c["data"].get("category") or "other" for c in inside)
    return {"outcomes": outcomes, "closed": len(closed), "by_step": by_step, "overdue": overdue,
            "open_petitions": len(petitions), "backlog": backlog, "money": money, "categories": categories}


def check(figures, want):
    fq = figures["fengqiao"]
    assert fq["closed"] == want["closed"]
    got = {r["outcome"]: r["count"] for r in fq["rows"] if r["count"]}
    assert got == dict(want["outcomes"])
    for r in fq["rows"]:
        if want["closed"]:
            assert r["share"] == round(want["outcomes"].get(r["outcome"], 0) / want["closed"], 4)
    assert fq["resolved"] == sum(n for o, n in want["outcomes"].items() if o in RESOLVED)
    assert {r["step"]: [r["completed"], r["on_time"]] for r in figures["on_time_by_step"]} == want["by_step"]
    assert sum(r["completed"] for r in figures["on_time_by_unit"]) == sum(v[0] for v in want["by_step"].values())
    assert {r["unit"]: r["overdue"] for r in figures["overdue_by_unit"] if r["overdue"]} == dict(want["overdue"])
    owners = figures["backlog_by_leader"]
    assert sum(r["open"] for r in owners) == want["open_petitions"]
    assert sum(r["backlog"] for r in owners) == want["backlog"]
    assert {r["quarter"]: r["amount_fen"] for r in figures["subsidy_by_quarter"] if r["amount_fen"]} == \
        {q: v for q, v in want["money"].items() if v}
    cat = figures["cases_by_category_month"]
    assert {r["category"]: r["total"] for r in cat["rows"]} == dict(want["categories"])
    assert sum(cat["totals"]) == sum(want["categories"].values())


def test_the_county_figures_equal_the_counts_of_the_seeded_cases(county):
    system = county["system"]
    admin = county["people"]["admin"]
    answer = admin.get("/dashboard")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    figures = answer.get_json()
    # The county by town: each village's figures go to its town's row.
    top = {"qh": "qh", "dz": "dz", "dz-lc": "dz", "xz": "xz", "xz-hx": "xz"}
    want = expected(system, None, top)
    assert want["closed"] == 3 and want["outcomes"] == {"resolved_village": 2, "refused": 1}
    assert want["overdue"] and want["backlog"] == 2
    check(figures, want)
    assert [r["unit"] for r in figures["overdue_by_unit"]] == ["qh", "dz", "xz"]


def test_a_town_sees_itself_and_its_villages_only(county):
    system = county["system"]
    town = county["people"]["justice_officer"]  # jtown1 at 东镇
    figures = town.get("/dashboard").get_json()
    assert figures["unit"]["code"] == "dz"
    want = expected(system, {"dz", "dz-lc"}, {"dz": "dz", "dz-lc": "dz-lc"})
    assert want["closed"] == 2  # 柳村's settled dispute and its refusal; 河西村's is 西镇's
    check(figures, want)
    assert {u["code"] for u in figures["units"]} == {"dz", "dz-lc"}
    refused = town.get("/dashboard", unit="xz")
    assert refused.status_code == 400 and "unit" in refused.get_json()["error"]["fields"]
    village = town.get("/dashboard", unit="dz-lc").get_json()
    check(village, expected(system, {"dz-lc"}, {"dz-lc": "dz-lc"}))


def test_the_page_draws_each_figure_with_its_numbers_in_a_table(county):
    system = county["system"]
    person = PageUser(county["app"])
    person.login("admin1", "password1")
    page = person.page("/dashboard")
    want = expected(system, None, {"qh": "qh", "dz": "dz", "dz-lc": "dz", "xz": "xz", "xz-hx": "xz"})
    for chart in ("chart-fengqiao", "chart-on-time-step", "chart-on-time-unit", "chart-overdue", "chart-backlog",
                  "chart-subsidy", "chart-months", "chart-categories"):
        assert f'id="{chart}"' in page, chart
    assert page.count("<svg") >= 8 and page.count("<table") >= 7
    share = f"{want['outcomes']['resolved_village'] / want['closed'] * 100:.1f}%"
    assert share in page and "村级化解" in page
    assert f"期间已结纠纷 {want['closed']} 件" in page
    assert "100.00 元" in page  # the two settled disputes' subsidies, 50 元 each, in 2026Q3
    for label in ("开始日期", "结束日期", "单位"):
        assert f">{label}</label>" in page
    # A bad date comes back with the message beside it and what was typed kept.
    bad = person.get("/dashboard?from=2026-13-01&to=2026-12-01")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "2026-13-01" in text and "日期应为" in text
    english = person.page("/dashboard?lang=en")
    assert "Fengqiao" in english or "resolved" in english.lower()


def test_who_may_open_the_dashboard(county):
    for role, person in county["people"].items():
        answer = person.get("/dashboard")
        allowed = role in ("leader", "justice_officer", "petition_officer", "auditor", "admin")
        assert answer.status_code == (200 if allowed else 403), role
