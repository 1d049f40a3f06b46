"""The dashboard's counts kept as cases change (engine/tally.py's `case_tally`), so its figures over
the whole county read a row per unit and period instead of every case.

`registered`: cases registered per month (Asia/Shanghai, "2026-11"), unit holding the case now and
the category named at registration (`data.category`, which only the registration forms set; 其他
"other" when none), what `dashboard_figures.by_category_and_month` reads. A case counts once, in
the month it was registered; when it changes hands (escalation, transfer) its count moves with it.
Each is counted again under the unit `ALL` (migration 0013), which no move changes: the county reads
a row per month and category.
Written by the engine's case listener (`register`, installed by workflows.build_system), built for
existing cases by migration 0011 (the same count) and afresh by `rebuild`, which a seeder that
copies cases in bulk calls after loading (bench/seed_cases.py does).

`steps`: the steps with a due time completed (the count), and of them those completed by their due
instant (the row's part), per unit that worked the step, step name (the key) and period, each
counted twice: under its month ("2026-11") and under its day ("2026-11-05"), so that a range of
days reads its whole months' rows and the days of the months it cuts (`dashboard_figures.on_time`).
Written by the engine's task listener when a step is completed, built by migration 0011 and by
`rebuild` (until migration 0027 the on-time steps were rows of their own, `steps_on_time`).
The same steps are counted again as `steps_under` under every unit above the one that worked the
step (its town, the county) and under the unit `ALL`, so the county's figures by town read a row
per town, step and period (built by migration 0013 and by `rebuild`).

`closed`: closed disputes per outcome (the key, '' for none), unit holding the case and period of
closing, each counted under its month and its day as the steps are (what `dashboard_figures.fengqiao`
reads), and also under the unit `ALL` (every unit's sum: the county reads a row per outcome and
period). Written by the case listener when a dispute is closed (the count moves if a closed case
changes hands or its outcome changes), built for existing cases by migration 0013 and by `rebuild`.

`petitions_open`: open petitions per owner (the key, '' for none), unit holding the case (and ALL)
and period of registration: '' (all of them), its month and its day; `petitions_flagged` the same
of those marked backlog (flag `backlog`), by month and day only. The backlog by owner leader
(`petitions`) is every open petition less those registered within the backlog period that are not
marked: it reads the owners' totals and the rows of the last backlog period's days and months
(and the cases of its first day, cut by the instant). Written by the case listener as petitions
are registered, change owner, flags or unit, and close; built by migration 0013 and by `rebuild`."""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from engine import tally
from engine.calendar import ZONE
from engine.store import Case, CaseTally, HumanTask, OrgUnit

REGISTERED = "registered"
STEPS = "steps"  # count: done; part: of them on time
STEPS_UNDER = "steps_under"  # the same counted again under every unit above the one that worked the step, and ALL
CLOSED = "closed"
UNCATEGORIZED = "other"  # a case registered without a category counts as 其他
NO_UNIT = ""
ALL = "*"  # the unit of the counts summed over every unit (no unit code holds '*')
DISPUTE_TYPE = "mediation"  # whose closings the Fengqiao figure counts
PETITION_TYPE = "petition"  # whose open cases the backlog figure counts
PETITIONS_OPEN, PETITIONS_FLAGGED = "petitions_open", "petitions_flagged"
BACKLOG_FLAG = "backlog"
EVER = ""  # the period of a count over every registration date


def month_of(at: datetime) -> str:
    return at.astimezone(ZONE).strftime("%Y-%m")


def category_of(data: Mapping[str, Any] | None) -> str:
    value = (data or {}).get("category")
    return UNCATEGORIZED if value is None else str(value)


def unit_of(jurisdiction: str | None) -> str:
    return jurisdiction or NO_UNIT


def closed_keys(case_type: str, status: str | None, outcome: str | None, closed_at: datetime | None,
                jurisdiction: str | None) -> list[tuple[str, str, str, str]]:
    """What a case adds to the closed disputes: nothing unless it is a closed dispute; else its
    month and its day of closing, under its unit and under ALL."""
    if case_type != DISPUTE_TYPE or status != "closed" or closed_at is None:
        return []
    local = closed_at.astimezone(ZONE)
    return [(CLOSED, period, unit, outcome or "") for unit in (unit_of(jurisdiction), ALL)
            for period in (local.strftime("%Y-%m"), local.strftime("%Y-%m-%d"))]


def petition_keys(case_type: str, status: str | None, owner: str | None, flags, created_at: datetime,
                  jurisdiction: str | None) -> list[tuple[str, str, str, str]]:
    """What a case adds to the open petitions: nothing unless it is an open petition; else its
    count over all time, its month and its day of registration, under its unit and ALL, keyed by
    its owner; and if marked backlog, its month and day again as flagged."""
    if case_type != PETITION_TYPE or status != "open":
        return []
    local = created_at.astimezone(ZONE)
    month, day = local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")
    flagged = BACKLOG_FLAG in (flags or ())
    return [key for unit in (unit_of(jurisdiction), ALL)
            for key in ((PETITIONS_OPEN, EVER, unit, owner or ""), (PETITIONS_OPEN, month, unit, owner or ""),
                        (PETITIONS_OPEN, day, unit, owner or ""),
                        *(((PETITIONS_FLAGGED, month, unit, owner or ""), (PETITIONS_FLAGGED, day, unit, owner or ""))
                          if flagged else ()))]


def _counted_alike(before, case: Mapping[str, Any]) -> bool:
    """Whether the case adds to the same counts as before: every column the keys above read is the same."""
    return (before.type == case["type"] and before.status == case.get("status")
            and unit_of(before.jurisdiction) == unit_of(case.get("jurisdiction"))
            and before.outcome == case.get("outcome") and before.closed_at == case.get("closed_at")
            and before.owner == case.get("owner") and tuple(before.flags or ()) == tuple(case.get("flags") or ()))


def on_case_saved(session, before, case: dict[str, Any]) -> None:
    """The engine's case listener: count a new case; move its count when its unit changed; count a
    dispute closed (and move that count when the closed case changes)."""
    if before is not None and _counted_alike(before, case):
        return  # most commands: a step of an open case, nothing that a count depends on has moved
    key = (month_of(case["created_at"]), category_of(case.get("data")))
    deltas: Counter = Counter()
    if before is None:
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
        deltas[(REGISTERED, key[0], ALL, key[1])] += 1
    elif unit_of(before.jurisdiction) != unit_of(case.get("jurisdiction")):
        deltas[(REGISTERED, key[0], unit_of(before.jurisdiction), key[1])] -= 1
        deltas[(REGISTERED, key[0], unit_of(case.get("jurisdiction")), key[1])] += 1
    deltas.update(closed_keys(case["type"], case.get("status"), case.get("outcome"), case.get("closed_at"),
                              case.get("jurisdiction")))
    deltas.update(petition_keys(case["type"], case.get("status"), case.get("owner"), case.get("flags"),
                                case["created_at"], case.get("jurisdiction")))
    if before is not None:
        deltas.subtract(closed_keys(before.type, before.status, before.outcome, before.closed_at, before.jurisdiction))
        deltas.subtract(petition_keys(before.type, before.status, before.owner, before.flags, case["created_at"],
                                      before.jurisdiction))
    tally.add(session, deltas)


def step_keys(unit: str | None, step: str, due_at: datetime | None, done_at: datetime,
              above: Sequence[str] = ()) -> list[tuple[str, str, str, str]]:
    """What a completed step adds to (its count; its part too when `on_time`): nothing without a due
    time; else its month and its day, under its unit, and under each unit `above` it and ALL."""
    if due_at is None:
        return []
    local = done_at.astimezone(ZONE)
    periods = (local.strftime("%Y-%m"), local.strftime("%Y-%m-%d"))
    return [*((STEPS, period, unit_of(unit), step) for period in periods),
            *((STEPS_UNDER, period, upper, step) for period in periods for upper in (*above, ALL))]


def on_time(due_at: datetime | None, done_at: datetime) -> bool:
    return due_at is not None and done_at <= due_at


def ancestors(parents: Mapping[str, str | None] | Any, unit: str | None) -> list[str]:
    """The units above `unit` (its parent, the parent's parent …): `parents` maps a code to its
    parent's, or is a session to look them up in. Units are only ever added below existing ones, so
    a unit's ancestors never change."""
    found, current = [], unit
    while current:
        parent = (parents.get(current) if isinstance(parents, Mapping)
                  else parents.scalar(select(OrgUnit.parent).where(OrgUnit.code == current)))
        if not parent or parent in found:
            return found
        found.append(parent)
        current = parent
    return found


def on_task_completed(session, task: Mapping[str, Any], at: datetime) -> None:
    """The engine's task listener: count a completed step with a due time."""
    if task.get("due_at") is None:
        return
    counts = Counter(step_keys(task.get("org_unit"), task["name"], task.get("due_at"), at,
                               ancestors(session, task.get("org_unit"))))
    tally.add(session, counts, counts if on_time(task.get("due_at"), at) else None)


def periods(session, first: date, stop: date, figure: str = STEPS) -> list[str]:
    """The periods covering the days first … stop (exclusive): each whole month as a month; a month
    the range cuts as a month too when nothing of that month was counted in `figure` outside the
    range (its day rows say so: today's month up to today, say), else its days one by one."""
    found, day = [], first
    while day < stop:
        month_start = day.replace(day=1)
        following = date(day.year + (day.month == 12), day.month % 12 + 1, 1)
        last = min(following, stop)
        if (day == month_start and following <= stop) or not _done_outside(session, figure, month_start, day, last, following):
            found.append(day.strftime("%Y-%m"))
        else:
            found.extend((day + timedelta(days=i)).isoformat() for i in range((last - day).days))
        day = last
    return found


def _done_outside(session, figure: str, month_start: date, first: date, stop: date, following: date) -> bool:
    """Whether `figure` counted something of the month before `first` or on or after `stop` (day rows)."""
    outside = []
    if first > month_start:
        outside.append((month_start.isoformat(), first.isoformat()))
    if stop < following:  # up to the month's last day row ("2026-11-32" sorts after them, before "2026-12")
        outside.append((stop.isoformat(), month_start.strftime("%Y-%m-32")))
    return any(session.scalar(select(CaseTally.period).where(
        CaseTally.figure == figure, CaseTally.period >= low, CaseTally.period < high).limit(1)) is not None
        for low, high in outside)


def steps(session, units: set[str] | None, first: date, stop: date, *, rolled: Sequence[str] | None = None
          ) -> list[tuple[str, str | None, int, int]]:
    """(step, unit, completed, on time) per step and unit of the steps with a due time completed on
    the days first … stop (exclusive), of `units` (None: all). For all units, `rolled` may name the
    whole county's unit and the units below it: then a unit of `rolled[1:]` stands for itself and
    every unit below it (read from the rows kept under it), the first for itself alone, and no unit
    stands for the steps of no unit."""
    found_periods = periods(session, first, stop)
    if units is None and rolled:
        found = _steps_rolled(session, found_periods, rolled[0], list(rolled[1:]))
        if found is not None:
            return found
    query = (select(CaseTally.key, CaseTally.unit, func.sum(CaseTally.count), func.sum(CaseTally.part))
             .where(CaseTally.figure == STEPS, CaseTally.period.in_(found_periods))
             .group_by(CaseTally.key, CaseTally.unit))
    if units is not None:
        query = query.where(CaseTally.unit.in_(sorted(units)))
    return _steps_found(session.execute(query))


def _steps_found(rows) -> list[tuple[str, str | None, int, int]]:
    return [(step, unit or None, int(done), int(ok)) for step, unit, done, ok in rows if done]


def _steps_rolled(session, found_periods: list[str], own: str, below: list[str]):
    """The steps per step and unit of `below` with its whole subtree, of `own` itself and of no unit;
    None when they do not add up to every step (ALL): a step of a unit outside the tree, say."""
    def summed(figure: str, units: set[str]):
        return (select(CaseTally.key, CaseTally.unit, func.sum(CaseTally.count), func.sum(CaseTally.part))
                .where(CaseTally.figure == figure, CaseTally.period.in_(found_periods),
                       CaseTally.unit.in_(sorted(units)))
                .group_by(CaseTally.key, CaseTally.unit))
    rows = [*session.execute(summed(STEPS, {own, NO_UNIT, *below})), *session.execute(summed(STEPS_UNDER, {ALL, *below}))]
    found = _steps_found(r for r in rows if r[1] != ALL)
    total = _steps_found(r for r in rows if r[1] == ALL)
    summed_up: Counter = Counter()
    for step, _unit, done, ok in found:
        summed_up[(step, "done")] += done
        summed_up[(step, "ok")] += ok
    if summed_up != Counter({k: n for step, _u, done, ok in total for k, n in (((step, "done"), done), ((step, "ok"), ok))
                             if n}):
        return None
    return found


def closed(session, units: set[str] | None, first: date, stop: date) -> dict[str, int]:
    """Closed disputes per outcome ('' for none) closed on the days first … stop (exclusive), held by
    `units` (None: all, read from the ALL rows)."""
    query = (select(CaseTally.key, func.sum(CaseTally.count))
             .where(CaseTally.figure == CLOSED, CaseTally.period.in_(periods(session, first, stop, CLOSED)))
             .group_by(CaseTally.key))
    query = query.where(CaseTally.unit == ALL) if units is None else query.where(CaseTally.unit.in_(sorted(units)))
    return {outcome: int(n) for outcome, n in session.execute(query) if n}


def petitions(session, units: set[str] | None, now: datetime, backlog_days: int) -> dict[str, list[int]]:
    """Open petitions held by `units` (None: all) per owner ('' for none): [open, backlog], backlog
    being marked so or registered before `now` less `backlog_days` days."""
    cutoff = now - timedelta(days=backlog_days)
    first, today = cutoff.astimezone(ZONE).date(), now.astimezone(ZONE).date()
    # The periods after the cutoff's day: the rest of its month day by day, then whole months.
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    recent = [(first + timedelta(days=i)).isoformat() for i in range(1, (min(following, today + timedelta(days=1))
                                                                        - first).days)]
    month = following
    while month <= today:
        recent.append(month.strftime("%Y-%m"))
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)

    def where(query):
        return query.where(CaseTally.unit == ALL) if units is None else query.where(CaseTally.unit.in_(sorted(units)))

    found: dict[str, list[int]] = {}
    for owner, n in session.execute(where(select(CaseTally.key, func.sum(CaseTally.count)).where(
            CaseTally.figure == PETITIONS_OPEN, CaseTally.period == EVER).group_by(CaseTally.key))):
        found[owner] = [int(n), int(n)]
    for figure, owner, n in session.execute(where(select(CaseTally.figure, CaseTally.key, func.sum(CaseTally.count))
                                                  .where(CaseTally.figure.in_((PETITIONS_OPEN, PETITIONS_FLAGGED)),
                                                         CaseTally.period.in_(recent))
                                                  .group_by(CaseTally.figure, CaseTally.key))):
        found.setdefault(owner, [0, 0])[1] += int(n) if figure == PETITIONS_FLAGGED else -int(n)
    # The cutoff's own day: its cases registered from the cutoff instant on.
    day_end = datetime.combine(first + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)
    query = select(Case.owner, Case.flags).where(Case.type == PETITION_TYPE, Case.status == "open",
                                                 Case.created_at >= cutoff, Case.created_at < day_end)
    if units is not None:
        query = query.where(Case.jurisdiction.in_(sorted(units)))
    for owner, flags in session.execute(query):
        if BACKLOG_FLAG not in (flags or ()):
            found.setdefault(owner or "", [0, 0])[1] -= 1
    return {owner: counts for owner, counts in found.items() if counts[0]}


def register(system) -> None:
    system.add_case_listener(on_case_saved)
    system.add_task_listener(on_task_completed)


def recount(session, *, chunk: int = 5000) -> Counter:
    """The counts from the case rows themselves (what `rebuild` writes; what tests compare with)."""
    counts: Counter = Counter()
    category = Case.data["category"].as_string()
    last = 0
    while True:
        rows = session.execute(select(Case.id, Case.jurisdiction, Case.created_at, category, Case.type, Case.status,
                                      Case.outcome, Case.closed_at, Case.owner, Case.flags)
                               .where(Case.id > last).order_by(Case.id).limit(chunk)).all()
        if not rows:
            return counts
        for _id, jurisdiction, created_at, cat, case_type, status, outcome, closed_at, owner, flags in rows:
            counts.update(petition_keys(case_type, status, owner, flags, created_at, jurisdiction))
            for unit in (unit_of(jurisdiction), ALL):
                counts[(REGISTERED, month_of(created_at), unit, UNCATEGORIZED if cat is None else cat)] += 1
            counts.update(closed_keys(case_type, status, outcome, closed_at, jurisdiction))
        last = rows[-1][0]


def recount_steps(session, *, chunk: int = 20000) -> tuple[Counter, Counter]:
    """The steps' counts (done) and parts (on time) from the task rows themselves."""
    parents = {code: parent for code, parent in session.execute(select(OrgUnit.code, OrgUnit.parent))}
    above: dict[str | None, list[str]] = {}
    counts: Counter = Counter()
    parts: Counter = Counter()
    last = 0
    while True:
        rows = session.execute(select(HumanTask.id, HumanTask.org_unit, HumanTask.name, HumanTask.due_at,
                                      HumanTask.completed_at)
                               .where(HumanTask.id > last, HumanTask.status == "completed",
                                      HumanTask.due_at.is_not(None))
                               .order_by(HumanTask.id).limit(chunk)).all()
        if not rows:
            return counts, parts
        for _id, unit, name, due_at, done_at in rows:
            if unit not in above:
                above[unit] = ancestors(parents, unit)
            found = step_keys(unit, name, due_at, done_at, above[unit])
            counts.update(found)
            if on_time(due_at, done_at):
                parts.update(found)
        last = rows[-1][0]


def rebuild(db) -> int:
    """Count every case and completed step afresh (`db`: the store's Database); returns how many cases
    were counted."""
    with db.write() as session:
        counts = recount(session)
        tally.replace(session, (REGISTERED, CLOSED, PETITIONS_OPEN, PETITIONS_FLAGGED), counts)
        tally.replace(session, (STEPS, STEPS_UNDER), *recount_steps(session))
    return sum(n for key, n in counts.items() if key[0] == REGISTERED and key[2] == ALL)


def registered(session, units: set[str] | None, months: list[str]) -> list[tuple[str, str, int]]:
    """(category, month, count) of the cases registered in `months` held by `units` (None: all, read
    from the ALL rows)."""
    query = (select(CaseTally.key, CaseTally.period, func.sum(CaseTally.count))
             .where(CaseTally.figure == REGISTERED, CaseTally.period.in_(months))
             .group_by(CaseTally.key, CaseTally.period))
    query = query.where(CaseTally.unit == ALL) if units is None else query.where(CaseTally.unit.in_(sorted(units)))
    return [(key, period, int(n)) for key, period, n in session.execute(query)]
