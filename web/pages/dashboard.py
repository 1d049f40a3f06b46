"""The county dashboard (`/dashboard`, 全县概况): the Fengqiao figure, on-time rates, overdue steps,
backlog, subsidy totals and cases by category and month, for a date range and a unit.

One call of `services.dashboard.figures` (SQL aggregates, scoped to the reader's unit by the
application layer); this module only says the numbers: a chart drawn as inline SVG (charts.py) and
the table of the same numbers under it. The form is a plain GET, so a view is a bookmarkable
address and works without script.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, g, render_template, request

from engine.errors import InvalidInput
from web.i18n import N_, _

from .case_words import (
    OUTCOME_WORDS,
    choice_title,
    form_schema,
    say,
    services,
    yuan,
)
from .charts import Bar, bars, columns

bp = Blueprint("dashboard", __name__)

LEVEL_RESOLVED = {"village": N_("村级化解"), "town": N_("镇级化解"), "county": N_("县级化解")}
FIELDS = ("from", "to", "unit")


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def _category_titles() -> Mapping[str, Any]:
    schema = form_schema("mediation", "register") or {}
    return schema.get("properties", {}).get("category") or {}


def _unit_label(row: Mapping[str, Any]) -> str:
    if row.get("own"):
        return _("{name}（本级）", name=row.get("name") or "")
    return row.get("name") or _("（未定单位）")


def charts(f: Mapping[str, Any]) -> dict[str, Any]:
    """Each figure as a chart (inline SVG) and the rows of its table."""
    fq = f["fengqiao"]
    outcome_rows = [(word_outcome(r["outcome"]), r["count"], percent(r["share"]), r["level"]) for r in fq["rows"]]
    fengqiao_chart = bars(_("已结纠纷的化解层级"), [
        Bar(label, (r["share"] or 0) * 100, f"{text}", "good" if level else "quiet")
        for (label, _count, text, level), r in zip(outcome_rows, fq["rows"])], scale=100, chart_id="chart-fengqiao")

    steps = f["on_time_by_step"]
    step_chart = bars(_("各环节按期办结率"), [
        Bar(say(r["title"]), (r["rate"] or 0) * 100, percent(r["rate"]), _tone(r["rate"])) for r in steps],
        scale=100, chart_id="chart-on-time-step")
    units = [r for r in f["on_time_by_unit"] if r["completed"] or not r.get("own")]
    unit_chart = bars(_("各单位按期办结率"), [
        Bar(_unit_label(r), (r["rate"] or 0) * 100, percent(r["rate"]), _tone(r["rate"])) for r in units],
        scale=100, chart_id="chart-on-time-unit")
    late = [r for r in f["overdue_by_unit"] if r["overdue"] or not r.get("own")]
    overdue_chart = bars(_("各单位当前逾期的环节"), [
        Bar(_unit_label(r), r["overdue"], str(r["overdue"]), "bad" if r["overdue"] else "quiet") for r in late],
        chart_id="chart-overdue")
    owners = f["backlog_by_leader"]
    backlog_chart = bars(_("各包案领导的信访积案"), [
        Bar(r["display_name"] if r["leader"] else _("（无包案领导）"), r["backlog"], str(r["backlog"]),
            "warn" if r["backlog"] else "quiet") for r in owners], chart_id="chart-backlog")
    money = f["subsidy_by_quarter"]
    subsidy_chart = bars(_("各季度以案定补金额（元）"), [
        Bar(r["quarter"], r["amount_fen"], yuan(r["amount_fen"]).replace(" 元", "").replace(" yuan", ""))
        for r in money], chart_id="chart-subsidy")
    cat = f["cases_by_category_month"]
    titles = _category_titles()
    months = cat["months"]
    short = [m[5:] if i and m[5:] != "01" else m[2:].replace("-", "/") for i, m in enumerate(months)]
    month_chart = columns(_("每月登记的案件"), short, cat["totals"], chart_id="chart-months", long_labels=months)
    category_chart = bars(_("各类别登记的案件"), [
        Bar(choice_title(titles, r["category"]), r["total"], str(r["total"])) for r in cat["rows"]],
        chart_id="chart-categories")
    return {"fengqiao": fengqiao_chart, "outcome_rows": outcome_rows, "step": step_chart, "unit": unit_chart,
            "overdue": overdue_chart, "backlog": backlog_chart, "subsidy": subsidy_chart, "months": month_chart,
            "categories": category_chart, "unit_rows": units, "overdue_rows": late,
            "category_rows": [(choice_title(titles, r["category"]), r["counts"], r["total"]) for r in cat["rows"]]}


def word_outcome(code: str) -> str:
    return _(OUTCOME_WORDS[code]) if code in OUTCOME_WORDS else (code or _("（未注明）"))


def _tone(rate: float | None) -> str:
    if rate is None:
        return "quiet"
    return "good" if rate >= 0.9 else "warn" if rate >= 0.7 else "bad"


def headline(f: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The Fengqiao figure in three numbers: (words, share, count) per level."""
    rows = {r["level"]: r for r in f["fengqiao"]["rows"] if r["level"]}
    return [(_(LEVEL_RESOLVED[level]), percent(rows[level]["share"]), str(rows[level]["count"]))
            for level in ("village", "town", "county") if level in rows]


@bp.get("/dashboard")
def dashboard():
    typed = {name: request.args.get(name, "").strip() for name in FIELDS}
    try:
        figures = services().dashboard.figures(g.actor, start=typed["from"] or None, end=typed["to"] or None,
                                               unit=typed["unit"] or None)
    except InvalidInput as problem:
        # The form comes back with what was typed and the message beside the field; no figures.
        errors = {k: say(v) for k, v in problem.fields.items()} or {"": say(problem.message)}
        units = services().dashboard.units(g.actor)
        return render_template("dashboard/index.html", f=None, typed=typed, errors=errors, units=units,
                               unit_titles=_unit_titles(units), summary=[(k, v) for k, v in errors.items()]), 400
    typed = {"from": figures["from"], "to": figures["to"], "unit": figures["unit"]["code"]}
    return render_template("dashboard/index.html", f=figures, typed=typed, errors={}, summary=[],
                           units=figures["units"], unit_titles=_unit_titles(figures["units"]),
                           c=charts(figures), headline=headline(figures), yuan=yuan, percent=percent)


def _unit_titles(units: list[dict]) -> dict[str, str]:
    names = {u["code"]: u["name"] for u in units}
    return {u["code"]: (f"{names.get(u['parent'], '')} · {u['name']}" if u["level"] == "village" and u["parent"] in names
                        else u["name"]) for u in units}
