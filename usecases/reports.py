"""The quarterly statistics (季度统计): disputes (`mediation`) and petitions (`petition`) for one quarter
and one unit, by unit (the chosen unit's own row, then one row per unit directly below it, then the
total) — figures from SQL aggregates (workflows/quarterly_reports.py), rolled up here by the org tree.

Quarters are Asia/Shanghai's (2026Q4 = 1 October to 31 December local). The unit defaults to the
reader's own; a reader may choose their own unit or one below it (whoever reads every case: any),
as on the dashboard. Every figure counts the cases the chosen unit or a unit below it holds now.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from engine.application import Actor
from engine.calendar import ZONE, iso
from engine.errors import InvalidInput
from engine.ledger import normal_quarter, quarter_end, quarter_of, quarter_start
from workflows import quarterly_reports as q

from . import authorization as authz
from .base import UseCases
from .dashboard import Dashboard, _rate, _Rollup
from .relations import OrgTree, cases_in_units_sql, dashboard_scope

MEDIATION_FIGURES = ("received", "mediated", "succeeded", "failed", "written", "oral", "confirmation_applied",
                     "confirmation_confirmed", "court_referrals", "agreed_village", "agreed_town", "agreed_county",
                     "subsidy_paid_entries", "subsidy_paid_fen")
CATEGORY_FIGURES = ("received", "mediated", "succeeded", "failed")
PETITION_FIGURES = ("received", *(f"channel_{c}" for c in q.CHANNELS), *(f"kind_{k}" for k in q.KINDS), "repeat",
                    "repeat_rate", "acceptance_decided", "accepted_within_deadline", "acceptance_rate", "handled",
                    "handled_on_time", "on_time_rate", "backlog_opened", "backlog_resolved")


def _quarter(value: Any, now) -> str:
    if value is None or value == "":
        return quarter_of(now)
    if not isinstance(value, str):
        raise InvalidInput("季度应写成 2026Q4 / the quarter is written as 2026Q4", fields={"quarter": "如 2026Q4 / e.g. 2026Q4"})
    return normal_quarter(value.strip())


class Reports(UseCases):
    def mediation(self, actor: Actor, *, quarter: Any = None, unit: Any = None) -> dict[str, Any]:
        """The quarter's dispute statistics (DOMAIN.md §2, §4) for `unit` and the units below it."""
        authz.require("report.mediation", actor, {"anywhere"})
        with self.db.read() as session:
            report, roll, visible, start, end = self._frame(session, actor, quarter, unit)
            rows = {code: {**roll.named(code), **dict.fromkeys(MEDIATION_FIGURES, 0)} for code in roll.rows()}
            categories = {c: {"category": c, **dict.fromkeys(CATEGORY_FIGURES, 0)} for c in q.CATEGORIES}

            def add(unit_code, figure, count, category=None):
                code = roll.row_of(unit_code)
                rows.setdefault(code, {**roll.named(code), **dict.fromkeys(MEDIATION_FIGURES, 0)})[figure] += count
                if category is not None:
                    categories.setdefault(category, {"category": category, **dict.fromkeys(CATEGORY_FIGURES, 0)})
                    categories[category][figure] += count

            for figure, read in (("received", q.disputes_received), ("mediated", q.disputes_mediated),
                                 ("succeeded", q.disputes_succeeded), ("failed", q.disputes_failed)):
                for unit_code, category, count in read(session, visible, start, end):
                    add(unit_code, figure, count, category)
            for unit_code, form, level, count in q.agreements(session, visible, start, end):
                if form in q.AGREEMENT_FORMS:
                    add(unit_code, form, count)
                if level in q.LEVELS:
                    add(unit_code, f"agreed_{level}", count)
            for unit_code, applied, confirmed in q.confirmations(session, visible, start, end):
                add(unit_code, "confirmation_applied", applied)
                add(unit_code, "confirmation_confirmed", confirmed)
            for unit_code, count in q.court_referrals(session, visible, start, end):
                add(unit_code, "court_referrals", count)
            for unit_code, entries, fen in q.subsidy_paid(session, visible, start, end):
                add(unit_code, "subsidy_paid_entries", entries)
                add(unit_code, "subsidy_paid_fen", fen)
        units = list(rows.values())
        total = {figure: sum(r[figure] for r in units) for figure in MEDIATION_FIGURES}
        return {**report, "rows": units, "total": total, "by_category": list(categories.values())}

    def petition(self, actor: Actor, *, quarter: Any = None, unit: Any = None) -> dict[str, Any]:
        """The quarter's petition statistics (DOMAIN.md §3, §5) for `unit` and the units below it."""
        authz.require("report.petition", actor, {"anywhere"})
        counted = [f for f in PETITION_FIGURES if not f.endswith("_rate")]
        with self.db.read() as session:
            report, roll, visible, start, end = self._frame(session, actor, quarter, unit)
            rows = {code: {**roll.named(code), **dict.fromkeys(counted, 0)} for code in roll.rows()}

            def add(unit_code, figure, count):
                code = roll.row_of(unit_code)
                rows.setdefault(code, {**roll.named(code), **dict.fromkeys(counted, 0)})[figure] += count

            for unit_code, channel, kind, count, repeat in q.petitions_received(session, visible, start, end):
                add(unit_code, "received", count)
                add(unit_code, "repeat", repeat)
                if channel in q.CHANNELS:
                    add(unit_code, f"channel_{channel}", count)
                if kind in q.KINDS:
                    add(unit_code, f"kind_{kind}", count)
            for step, done, in_time in ((q.DECIDE_ACCEPTANCE, "acceptance_decided", "accepted_within_deadline"),
                                        (q.HANDLE, "handled", "handled_on_time")):
                for unit_code, count, ok in q.petition_steps_on_time(session, visible, step, start, end):
                    add(unit_code, done, count)
                    add(unit_code, in_time, ok)
            for unit_code, opened, resolved in q.backlog_turns(session, visible, start, end, self.now(),
                                                               backlog_days=self.system.settings.backlog_days):
                add(unit_code, "backlog_opened", opened)
                add(unit_code, "backlog_resolved", resolved)
        units = [_petition_rates(r) for r in rows.values()]
        total = _petition_rates({figure: sum(r[figure] for r in units) for figure in counted})
        return {**report, "rows": units, "total": total, "backlog_days": self.system.settings.backlog_days}

    def units(self, actor: Actor, kind: str) -> list[dict[str, Any]]:
        """The units the actor may choose on report `kind` (mediation, petition)."""
        authz.require(f"report.{kind}", actor, {"anywhere"})
        with self.db.read() as session:
            return _choices(self, OrgTree.load(session), actor)

    def _frame(self, session, actor: Actor, quarter: Any, unit: Any):
        if unit is not None and not isinstance(unit, str):
            raise InvalidInput("单位应为单位代码 / unit must be an org unit code", fields={"unit": "单位代码 / a unit code"})
        now = self.now()
        chosen_quarter = _quarter(quarter, now)
        start, end = quarter_start(chosen_quarter), quarter_end(chosen_quarter)
        tree = OrgTree.load(session)
        chosen, units = dashboard_scope(tree, actor, unit or None)
        report = {"quarter": chosen_quarter, "from": start.astimezone(ZONE).date().isoformat(),
                  "to": (end - timedelta(days=1)).astimezone(ZONE).date().isoformat(), "as_of": iso(now),
                  "unit": {"code": chosen, "name": tree.name(chosen), "level": tree.level(chosen)},
                  "units": _choices(self, tree, actor)}
        return report, _Rollup(tree, chosen), cases_in_units_sql(units), start, end


# The units a reader may choose are the dashboard's (the same scope rule): its method, shared.
_choices = Dashboard._choices


def _petition_rates(row: dict[str, Any]) -> dict[str, Any]:
    row["repeat_rate"] = _rate(row["repeat"], row["received"])
    row["acceptance_rate"] = _rate(row["accepted_within_deadline"], row["acceptance_decided"])
    row["on_time_rate"] = _rate(row["handled_on_time"], row["handled"])
    return row
