"""The county dashboard (全县概况): the figures county leaders, offices and auditors watch, for a date
range and a unit, computed by SQL aggregates (workflows/dashboard_figures.py) and rolled up here by
the org tree: the county's figures by town, a town's by village."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from engine.application import Actor
from engine.calendar import ZONE, iso
from engine.errors import InvalidInput
from engine.ledger import quarter_of
from workflows import dashboard_figures as figures

from . import authorization as authz
from .base import UseCases
from .relations import (
    OrgTree,
    dashboard_scope,
    dashboard_units,
    tasks_in_units_sql,
)

MAX_MONTHS = 60
DEFAULT_MONTHS = 12


def _day(value: Any, name: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(ZONE).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"日期“{value}”格式不对，应写成 2026-01-31 / {name}: write the date as 2026-01-31",
                           fields={name: "日期应为 YYYY-MM-DD / a date as YYYY-MM-DD"}) from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZONE)


def _month_starts(first: date, last: date) -> list[datetime]:
    """The first instant of each month from `first`'s to `last`'s, and of the month after."""
    starts, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        starts.append(_midnight(date(year, month, 1)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    starts.append(_midnight(date(year, month, 1)))
    return starts


def _quarters(first: date, last: date) -> list[str]:
    found = []
    for start in _month_starts(first, last)[:-1]:
        quarter = quarter_of(start)
        if quarter not in found:
            found.append(quarter)
    return found


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


class Dashboard(UseCases):
    def figures(self, actor: Actor, *, start: Any = None, end: Any = None, unit: Any = None) -> dict[str, Any]:
        """The dashboard's figures for the days `start` to `end` (inclusive, Asia/Shanghai; default the
        twelve months up to today) and `unit` (default the actor's own): flows over the range (closed
        disputes, steps done, subsidy per quarter, cases registered), snapshots as of now (overdue
        steps, backlog)."""
        authz.require("dashboard.read", actor, {"anywhere"})
        if unit is not None and not isinstance(unit, str):
            raise InvalidInput("单位应为单位代码 / unit must be an org unit code", fields={"unit": "单位代码 / a unit code"})
        now = self.now()
        today = now.astimezone(ZONE).date()
        last = _day(end, "to") or today
        first = _day(start, "from")
        if first is None:
            back = (last.year * 12 + last.month - 1) - (DEFAULT_MONTHS - 1)
            first = date(back // 12, back % 12 + 1, 1)
        if first > last:
            raise InvalidInput("开始日期不能晚于结束日期 / the start date is after the end date",
                               fields={"from": "应早于结束日期 / must not be after the end date"})
        if (last.year - first.year) * 12 + last.month - first.month >= MAX_MONTHS:
            raise InvalidInput(f"时间范围最长 {MAX_MONTHS} 个月 / at most {MAX_MONTHS} months at a time",
                               fields={"from": f"范围不超过 {MAX_MONTHS} 个月 / at most {MAX_MONTHS} months"})
        begin, stop = _midnight(first), _midnight(last + timedelta(days=1))
        with self.db.read() as session:
            tree = OrgTree.load(session)
            chosen, units = dashboard_scope(tree, actor, unit or None)
            roll = _Rollup(tree, chosen)
            closed = figures.fengqiao(session, units, begin, stop)
            task_units = tasks_in_units_sql(units)
            steps = figures.on_time(session, units, begin, stop, rolled=roll.rows() if units is None else None)
            titles = figures.step_titles(session, sorted({s[0] for s in steps}))
            late = figures.overdue(session, task_units, now)
            owners = figures.backlog(session, units, now, backlog_days=self.system.settings.backlog_days)
            quarters = _quarters(first, last)
            money = figures.subsidy_by_quarter(session, units, quarters)
            months = _month_starts(first, last)
            categories = figures.by_category_and_month(session, units, months)
            choices = self._choices(tree, actor)
        return {
            "from": first.isoformat(), "to": last.isoformat(), "as_of": iso(now),
            "unit": {"code": chosen, "name": tree.name(chosen), "level": tree.level(chosen)},
            "units": choices,
            "fengqiao": _fengqiao(closed),
            "on_time_by_step": _on_time_by_step(steps, titles),
            "on_time_by_unit": _on_time_by_unit(steps, roll),
            "overdue_by_unit": _overdue_by_unit(late, roll),
            "backlog_by_leader": [{"leader": r["leader"], "display_name": r["display_name"], "open": r["open"],
                                   "backlog": r["backlog"], "overdue": r["overdue"]} for r in owners],
            "subsidy_by_quarter": _subsidy(money, quarters),
            "cases_by_category_month": _categories(categories, months),
        }

    def units(self, actor: Actor) -> list[dict[str, Any]]:
        """The units the actor may choose on the dashboard."""
        authz.require("dashboard.read", actor, {"anywhere"})
        with self.db.read() as session:
            return self._choices(OrgTree.load(session), actor)

    def _choices(self, tree: OrgTree, actor: Actor) -> list[dict[str, Any]]:
        """The units the actor may choose: their own and those below it (everyone's, for whoever reads all)."""
        codes = dashboard_units(tree, actor)
        order = {"county": 0, "town": 1, "village": 2}
        return [{"code": c, "name": tree.name(c), "level": tree.level(c), "parent": tree.units[c].parent}
                for c in sorted(codes, key=lambda c: (order.get(tree.level(c) or "", 3), c))]


class _Rollup:
    """Which row of a per-unit table a unit's figures go to: the chosen unit's own row, or the row of
    its child the unit is under (the county by town, a town by village)."""

    def __init__(self, tree: OrgTree, chosen: str):
        self.tree, self.chosen = tree, chosen
        self.children = sorted(c for c, u in tree.units.items() if u.parent == chosen)
        self._memo: dict[str | None, str | None] = {}

    def row_of(self, code: str | None) -> str | None:
        if code not in self._memo:
            found, current = code, code
            while current is not None and current != self.chosen:
                unit = self.tree.units.get(current)
                if unit is None:
                    break
                if unit.parent == self.chosen:
                    found = current
                    break
                current = unit.parent
            self._memo[code] = found
        return self._memo[code]

    def rows(self) -> list[str]:
        return [self.chosen, *self.children]

    def named(self, code: str | None) -> dict[str, Any]:
        own = code == self.chosen and self.tree.level(code) != "village"
        return {"unit": code, "name": self.tree.name(code) or code, "own": own}


def _fengqiao(closed: dict[str, int]) -> dict[str, Any]:
    total = sum(closed.values())
    rows = []
    for outcome in (*figures.RESOLVED_AT, *figures.OTHER_OUTCOMES,
                    *sorted(o for o in closed if o not in figures.RESOLVED_AT and o not in figures.OTHER_OUTCOMES)):
        count = closed.get(outcome, 0)
        rows.append({"outcome": outcome, "level": figures.RESOLVED_AT.get(outcome), "count": count,
                     "share": _rate(count, total)})
    resolved = sum(closed.get(o, 0) for o in figures.RESOLVED_AT)
    return {"closed": total, "resolved": resolved, "resolved_share": _rate(resolved, total), "rows": rows}


def _on_time_by_step(steps, titles: dict[str, str]) -> list[dict[str, Any]]:
    by_step: dict[str, dict[str, Any]] = {}
    for name, _unit, count, ok in steps:
        row = by_step.setdefault(name, {"step": name, "title": titles.get(name, name), "completed": 0, "on_time": 0})
        row["completed"] += count
        row["on_time"] += ok
    for row in by_step.values():
        row["late"] = row["completed"] - row["on_time"]
        row["rate"] = _rate(row["on_time"], row["completed"])
    return sorted(by_step.values(), key=lambda r: (-r["completed"], r["step"]))


def _on_time_by_unit(steps, roll: _Rollup) -> list[dict[str, Any]]:
    rows = {code: {**roll.named(code), "completed": 0, "on_time": 0} for code in roll.rows()}
    for _name, unit, count, ok in steps:
        code = roll.row_of(unit)
        row = rows.setdefault(code, {**roll.named(code), "completed": 0, "on_time": 0})
        row["completed"] += count
        row["on_time"] += ok
    for row in rows.values():
        row["late"] = row["completed"] - row["on_time"]
        row["rate"] = _rate(row["on_time"], row["completed"])
    return list(rows.values())


def _overdue_by_unit(late, roll: _Rollup) -> list[dict[str, Any]]:
    rows = {code: {**roll.named(code), "overdue": 0} for code in roll.rows()}
    for unit, count in late:
        code = roll.row_of(unit)
        rows.setdefault(code, {**roll.named(code), "overdue": 0})["overdue"] += count
    return list(rows.values())


def _subsidy(money, quarters: list[str]) -> list[dict[str, Any]]:
    found = {q: (n, total, paid, rejected) for q, n, total, paid, rejected in money}
    rows = []
    for quarter in quarters:
        entries, amount, paid, rejected = found.get(quarter, (0, 0, 0, 0))
        rows.append({"quarter": quarter, "entries": entries, "amount_fen": amount, "paid_fen": paid,
                     "rejected_fen": rejected})
    return rows


def _categories(counts, months: list[datetime]) -> dict[str, Any]:
    labels = [m.strftime("%Y-%m") for m in months[:-1]]
    rows: dict[str, list[int]] = {}
    for category, index, count in counts:
        rows.setdefault(category, [0] * len(labels))[index] += count
    ordered = sorted(rows.items(), key=lambda kv: (-sum(kv[1]), kv[0]))
    return {"months": labels, "rows": [{"category": c, "counts": v, "total": sum(v)} for c, v in ordered],
            "totals": [sum(v[i] for v in rows.values()) for i in range(len(labels))]}
