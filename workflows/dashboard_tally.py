"""The dashboard's counts kept as cases change (engine/tally.py's `case_tally`), so its figures over
the whole county read a row per unit and period instead of every case.

`registered`: cases registered per month (Asia/Shanghai, "2026-11"), unit holding the case now and
the category named at registration (`data.category`, which only the registration forms set; 其他
"other" when none), what `dashboard_figures.by_category_and_month` reads. A case counts once, in
the month it was registered; when it changes hands (escalation, transfer) its count moves with it.
Written by the engine's case listener (`register`, installed by workflows.build_system), built for
existing cases by migration 0011 (the same count) and afresh by `rebuild`, which a seeder that
copies cases in bulk calls after loading (bench/seed_cases.py does).

`steps_done` / `steps_on_time`: the steps with a due time completed, and of them those completed by
their due instant, per unit that worked the step, step name (the key) and period, each counted
twice: under its month ("2026-11") and under its day ("2026-11-05"), so that a range of days reads
its whole months' rows and the days of the months it cuts (`dashboard_figures.on_time`). Written
by the engine's task listener when a step is completed, built by migration 0011 and by `rebuild`."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine import tally
from engine.calendar import ZONE
from engine.store import Case, CaseTally, HumanTask

REGISTERED = "registered"
STEPS_DONE, STEPS_ON_TIME = "steps_done", "steps_on_time"
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
    if before is not None and unit_of(before.jurisdiction) == unit_of(case.get("jurisdiction")):
        return  # most commands: nothing to count
    key = (month_of(case["created_at"]), category_of(case.get("data")))
    deltas: Counter = Counter()
    if before is None:
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
    elif unit_of(before.jurisdiction) != unit_of(case.get("jurisdiction")):
        deltas[(REGISTERED, key[0], unit_of(before.jurisdiction), key[1])] -= 1
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
    tally.add(session, deltas)


def step_keys(unit: str | None, step: str, due_at: datetime | None, done_at: datetime) -> list[tuple[str, str, str, str]]:
    """What a completed step adds to: nothing without a due time; else its month and its day."""
    if due_at is None:
        return []
    local = done_at.astimezone(ZONE)
    figures = (STEPS_DONE, STEPS_ON_TIME) if done_at <= due_at else (STEPS_DONE,)
    return [(figure, period, unit_of(unit), step) for figure in figures
            for period in (local.strftime("%Y-%m"), local.strftime("%Y-%m-%d"))]


def on_task_completed(session, task: Mapping[str, Any], at: datetime) -> None:
    """The engine's task listener: count a completed step with a due time."""
    tally.add(session, Counter(step_keys(task.get("org_unit"), task["name"], task.get("due_at"), at)))


def periods(session, first: date, stop: date) -> list[str]:
    """The periods covering the days first … stop (exclusive): each whole month as a month; a month
    the range cuts as a month too when no step of that month was completed outside the range (its
    day rows say so: today's month up to today, say), else its days one by one."""
    found, day = [], first
    while day < stop:
        month_start = day.replace(day=1)
        following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        last = min(following, stop)
        if (day == month_start and following <= stop) or not _done_outside(session, month_start, day, last, following):
            found.append(day.strftime("%Y-%m"))
        else:
            found.extend((day + timedelta(days=i)).isoformat() for i in range((last - day).days))
        day = last
    return found


def _done_outside(session, month_start: date, first: date, stop: date, following: date) -> bool:
    """Whether a step of the month was completed before `first` or on or after `stop` (day rows)."""
    outside = []
    if first > month_start:
        outside.append((month_start.isoformat(), first.isoformat()))
    if stop < following:  # up to the month's last day row ("2026-11-32" sorts after them, before "2026-12")
        outside.append((stop.isoformat(), month_start.strftime("%Y-%m-32")))
    return any(session.scalar(select(CaseTally.period).where(
        CaseTally.figure == STEPS_DONE, CaseTally.period >= low, CaseTally.period < high).limit(1)) is not None
        for low, high in outside)


def steps(session, units: set[str] | None, first: date, stop: date) -> list[tuple[str, str | None, int, int]]:
    """(step, unit, completed, on time) per step and unit of the steps with a due time completed on
    the days first … stop (exclusive), of `units` (None: all)."""
    query = (select(CaseTally.figure, CaseTally.key, CaseTally.unit, func.sum(CaseTally.count))
             .where(CaseTally.figure.in_((STEPS_DONE, STEPS_ON_TIME)), CaseTally.period.in_(periods(session, first, stop)))
             .group_by(CaseTally.figure, CaseTally.key, CaseTally.unit))
    if units is not None:
        query = query.where(CaseTally.unit.in_(sorted(units)))
    found: dict[tuple[str, str], list[int]] = {}
    for figure, step, unit, n in session.execute(query):
        found.setdefault((step, unit), [0, 0])[figure == STEPS_ON_TIME] += int(n)
    return [(step, unit or None, done, ok) for (step, unit), (done, ok) in found.items() if done]


def register(system) -> None:
    system.add_case_listener(on_case_saved)
    system.add_task_listener(on_task_completed)


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


def recount_steps(session, *, chunk: int = 20000) -> Counter:
    """The steps' counts from the task rows themselves."""
    counts: Counter = Counter()
    last = 0
    while True:
        rows = session.execute(select(HumanTask.id, HumanTask.org_unit, HumanTask.name, HumanTask.due_at,
                                      HumanTask.completed_at)
                               .where(HumanTask.id > last, HumanTask.status == "completed",
                                      HumanTask.due_at.is_not(None))
                               .order_by(HumanTask.id).limit(chunk)).all()
        if not rows:
            return counts
        for _id, unit, name, due_at, done_at in rows:
            counts.update(step_keys(unit, name, due_at, done_at))
        last = rows[-1][0]


def rebuild(db) -> int:
    """Count every case and completed step afresh (`db`: the store's Database); returns how many cases
    were counted."""
    with db.write() as session:
        counts = recount(session)
        tally.replace(session, (REGISTERED,), counts)
        tally.replace(session, (STEPS_DONE, STEPS_ON_TIME), recount_steps(session))
    return sum(counts.values())


def registered(session, units: set[str] | None, months: list[str]) -> list[tuple[str, str, int]]:
    """(category, month, count) of the cases registered in `months` held by `units` (None: all)."""
    query = (select(CaseTally.key, CaseTally.period, func.sum(CaseTally.count))
             .where(CaseTally.figure == REGISTERED, CaseTally.period.in_(months))
             .group_by(CaseTally.key, CaseTally.period))
    if units is not None:
        query = query.where(CaseTally.unit.in_(sorted(units)))
    return [(key, period, int(n)) for key, period, n in session.execute(query)]
