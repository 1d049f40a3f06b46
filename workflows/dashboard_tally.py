"""The dashboard's counts kept as cases change (engine/tally.py's `case_tally`), so its figures over
the whole county read a row per unit and period instead of every case.

`registered`: cases registered per month (Asia/Shanghai, "2026-11"), unit holding the case now and
the category named at registration (`data.category`, which only the registration forms set; 其他
"other" when none), what `dashboard_figures.by_category_and_month` reads. A case counts once, in
the month it was registered; when it changes hands (escalation, transfer) its count moves with it.
Written by the engine's case listener (`register`, installed by workflows.build_system), built for
existing cases by migration 0011 (the same count) and afresh by `rebuild`, which a seeder that
copies cases in bulk calls after loading (bench/seed_cases.py does)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from engine import tally
from engine.calendar import ZONE
from engine.store import Case, CaseTally

REGISTERED = "registered"
UNCATEGORIZED = "other"  # a case registered without a category counts as 其他
NO_UNIT = ""


def month_of(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%Y-%m")


def category_of(data: Mapping[str, Any] | None) -> str:
    value = (data or {}).get("category")
    return UNCATEGORIZED if value is None else str(value)


def unit_of(jurisdiction: str | None) -> str:
    return jurisdiction or NO_UNIT


def on_case_saved(session, before, case: dict[str, Any]) -> None:
    """The engine's case listener: count a new case; move its count when its unit changed."""
    key = (month_of(case["created_at"]), category_of(case.get("data")))
    deltas: Counter = Counter()
    if before is None:
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
    elif unit_of(before.jurisdiction) != unit_of(case.get("jurisdiction")):
        deltas[(REGISTERED, key[0], unit_of(before.jurisdiction), key[1])] -= 1
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
    tally.add(session, deltas)


def register(system) -> None:
    system.add_case_listener(on_case_saved)


def recount(session, *, chunk: int = 5000) -> Counter:
    """The counts from the case rows themselves (what `rebuild` writes; what tests compare with)."""
    counts: Counter = Counter()
    category = Case.data["category"].as_string()
    last = 0
    while True:
        rows = session.execute(select(Case.id, Case.jurisdiction, Case.created_at, category)
                               .where(Case.id > last).order_by(Case.id).limit(chunk)).all()
        if not rows:
            return counts
        for _id, jurisdiction, created_at, cat in rows:
            counts[(REGISTERED, month_of(created_at), unit_of(jurisdiction), UNCATEGORIZED if cat is None else cat)] += 1
        last = rows[-1][0]


def rebuild(db) -> int:
    """Count every case afresh (`db`: the store's Database); returns how many cases were counted."""
    with db.write() as session:
        counts = recount(session)
        tally.replace(session, REGISTERED, counts)
    return sum(counts.values())


def registered(session, units: set[str] | None, months: list[str]) -> list[tuple[str, str, int]]:
    """(category, month, count) of the cases registered in `months` held by `units` (None: all)."""
    query = (select(CaseTally.key, CaseTally.period, func.sum(CaseTally.count))
             .where(CaseTally.figure == REGISTERED, CaseTally.period.in_(months))
             .group_by(CaseTally.key, CaseTally.period))
    if units is not None:
        query = query.where(CaseTally.unit.in_(sorted(units)))
    return [(key, period, int(n)) for key, period, n in session.execute(query)]
