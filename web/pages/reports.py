"""The quarterly statistics (季度统计): `/reports/mediation` (矛盾纠纷调解) and `/reports/petition` (信访事项),
for a quarter and a unit, as tables on screen and the same tables as XLSX and CSV (`.xlsx`, `.csv`
beside each address, with the same query).

One call of `services.reports.mediation` / `.petition` per page (SQL aggregates, scoped to the
reader's unit by the application layer); this module only lays the numbers out. The screen, the
spreadsheet and the CSV take their rows from the same `_tables`, so what is downloaded is what is
shown. The form is a plain GET: a view is a bookmarkable address and works without script.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, render_template, request, url_for

from engine.calendar import ZONE
from engine.errors import InvalidInput
from web.i18n import N_, _

from . import xlsx_stream
from .case_words import choice_title, form_schema, is_english, say, services, when, yuan
from .dashboard import _unit_titles, percent

bp = Blueprint("reports", __name__)

FIELDS = ("quarter", "unit")
MEDIATION_COLUMNS = (
    ("received", N_("受理")), ("mediated", N_("调解")), ("succeeded", N_("调解成功")), ("failed", N_("调解不成")),
    ("written", N_("书面协议")), ("oral", N_("口头协议")), ("confirmation_applied", N_("申请司法确认")),
    ("confirmation_confirmed", N_("司法确认有效")), ("court_referrals", N_("移送法院")),
    ("agreed_village", N_("村级达成协议")), ("agreed_town", N_("镇级达成协议")), ("agreed_county", N_("县级达成协议")),
    ("subsidy_paid_entries", N_("补贴发放笔数")), ("subsidy_paid_fen", N_("补贴发放金额")),
)
CATEGORY_COLUMNS = MEDIATION_COLUMNS[:4]
PETITION_COLUMNS = (
    ("received", N_("登记")), ("channel_letter", N_("来信")), ("channel_visit", N_("来访")),
    ("channel_online", N_("网上")), ("channel_phone", N_("电话")), ("kind_complaint_request", N_("申诉求决")),
    ("kind_suggestion", N_("意见建议")), ("kind_accusation", N_("检举控告")), ("repeat", N_("重复信访")),
    ("repeat_rate", N_("重复信访率")), ("acceptance_decided", N_("作出受理决定")),
    ("accepted_within_deadline", N_("按期作出受理决定")), ("acceptance_rate", N_("按期受理率")),
    ("handled", N_("出具处理意见")), ("handled_on_time", N_("按期出具")), ("on_time_rate", N_("按期办结率")),
    ("backlog_opened", N_("新增积案")), ("backlog_resolved", N_("化解积案")),
)
TITLES = {"mediation": N_("矛盾纠纷调解季度统计"), "petition": N_("信访事项季度统计")}
STEMS = {"mediation": "mediation-report", "petition": "petition-report"}

# What each figure counts (shown under the tables, and in the README).
MEDIATION_NOTES = (
    (N_("受理"), N_("本季度登记的纠纷。")),
    (N_("调解"), N_("本季度完成过一次调解（任一层级，无论结果）的纠纷，每件计一次。")),
    (N_("调解成功"), N_("本季度达成调解协议的纠纷，每件计一次。")),
    (N_("调解不成"), N_("本季度结案而未达成协议的纠纷：当事人拒绝调解，或调解不成转入诉讼。撤回的不计。")),
    (N_("书面协议、口头协议"), N_("本季度达成的协议按形式计数；司法确认被驳回后重新达成的协议另计一份。")),
    (N_("申请司法确认、司法确认有效"), N_("本季度当事人申请司法确认的次数，和本季度法院确认有效的次数。")),
    (N_("移送法院"), N_("本季度移送法院（诉调对接）的纠纷。")),
    (N_("村级、镇级、县级达成协议"), N_("本季度达成的协议按达成时所在层级计数（小事不出村、大事不出镇）。")),
    (N_("补贴发放"), N_("本季度状态变为“已发放”的以案定补记录（含冲正记录），金额单位为元。")),
)
PETITION_NOTES = (
    (N_("登记"), N_("本季度登记的信访事项，按来信、来访、网上、电话和按申诉求决、意见建议、检举控告分列。")),
    (N_("重复信访率"), N_("本季度登记的信访事项中标记为重复信访的比例。")),
    (N_("按期受理率"), N_("本季度作出受理决定的信访事项中，在期限内（登记后 15 日，期限最后一日为法定节假日的顺延）作出决定的比例。")),
    (N_("按期办结率"), N_("本季度出具处理意见的信访事项中，在办理期限内（受理后 60 日，经批准延期的按延长后的期限）出具的比例。")),
    (N_("新增积案"), N_("本季度成为积案的信访事项：被信访部门标记为积案，或登记后超过积案天数仍未办结，以先到者为准。")),
    (N_("化解积案"), N_("本季度办结（结案）的积案。")),
)


def _number(value: Any) -> str:
    return "" if value is None else str(value)


def _cell(key: str, value: Any) -> Any:
    """A figure as the screen shows it (and the CSV writes it)."""
    if key.endswith("_rate"):
        return percent(value)
    if key.endswith("_fen"):
        return yuan(value)
    return _number(value)


def _unit_label(row: Mapping[str, Any]) -> str:
    if row.get("own"):
        return _("{name}（本级）", name=row.get("name") or "")
    return row.get("name") or _("（未定单位）")


def _category_titles() -> Mapping[str, Any]:
    schema = form_schema("mediation", "register") or {}
    return schema.get("properties", {}).get("category") or {}


def _tables(kind: str, report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The report's tables: caption, header, body rows and total row, each row its label and raw values
    with their keys (the screen and CSV say them with `_cell`, the XLSX keeps numbers numbers)."""
    columns = MEDIATION_COLUMNS if kind == "mediation" else PETITION_COLUMNS
    unit_table = {"id": "by-unit", "caption": _("各单位"), "first": _("单位"), "columns": columns,
                  "rows": [(_unit_label(r), r) for r in report["rows"]], "total": (_("合计"), report["total"])}
    tables = [unit_table]
    if kind == "mediation":
        titles = _category_titles()
        rows = [(choice_title(titles, r["category"]), r) for r in report["by_category"]]
        total = {key: sum(r[key] for r in report["by_category"]) for key, _title in CATEGORY_COLUMNS}
        tables.append({"id": "by-category", "caption": _("按纠纷类别"), "first": _("纠纷类别"),
                       "columns": CATEGORY_COLUMNS, "rows": rows, "total": (_("合计"), total)})
    return tables


def _typed() -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in FIELDS}


def _read(kind: str, typed: Mapping[str, str]) -> dict[str, Any]:
    read = services().reports.mediation if kind == "mediation" else services().reports.petition
    return read(g.actor, quarter=typed["quarter"] or None, unit=typed["unit"] or None)


def _page(kind: str):
    typed = _typed()
    try:
        report = _read(kind, typed)
    except InvalidInput as problem:
        # The form comes back with what was typed and the message beside the field; no figures.
        errors = {k: say(v) for k, v in problem.fields.items()} or {"": say(problem.message)}
        units = services().reports.units(g.actor, kind)
        # The summary says the whole message, linking to the field it is about.
        summary = [(next(iter(problem.fields), ""), say(problem.message))]
        return render_template("reports/index.html", kind=kind, title=_(TITLES[kind]), r=None, typed=typed,
                               errors=errors, units=units, unit_titles=_unit_titles(units),
                               summary=summary, notes=_notes(kind)), 400
    typed = {"quarter": report["quarter"], "unit": report["unit"]["code"]}
    return render_template("reports/index.html", kind=kind, title=_(TITLES[kind]), r=report, typed=typed, errors={},
                           summary=[], units=report["units"], unit_titles=_unit_titles(report["units"]),
                           tables=_tables(kind, report), cell=_cell, when=when, notes=_notes(kind),
                           downloads=[(fmt, url_for(f"reports.{kind}_export", kind=fmt, **typed))
                                      for fmt in ("xlsx", "csv")])


def _notes(kind: str) -> list[tuple[str, str]]:
    return [(_(term), _(text)) for term, text in (MEDIATION_NOTES if kind == "mediation" else PETITION_NOTES)]


@bp.get("/reports/mediation")
def mediation():
    return _page("mediation")


@bp.get("/reports/petition")
def petition():
    return _page("petition")


@bp.get("/reports/mediation.<any(csv, xlsx):kind>")
def mediation_export(kind: str):
    return _export("mediation", kind)


@bp.get("/reports/petition.<any(csv, xlsx):kind>")
def petition_export(kind: str):
    return _export("petition", kind)


# --- downloads: the screen's tables, one after another on one sheet ---------------------------------------
def _heading(kind: str, report: Mapping[str, Any]) -> list[str]:
    """The first row: what, when, where; as wide as the widest table (a sheet's rows are cut to its first)."""
    width = 1 + len(MEDIATION_COLUMNS if kind == "mediation" else PETITION_COLUMNS)
    words = [_(TITLES[kind]), _("{quarter}（{start} 至 {end}）", quarter=report["quarter"], start=report["from"],
                                 end=report["to"]), report["unit"]["name"] or report["unit"]["code"]]
    return words + [""] * (width - len(words))


def _lines(kind: str, report: Mapping[str, Any], *, spreadsheet: bool) -> Iterator[list[Any]]:
    """Every row of the download: a heading, then each table (caption, header, rows, total), a blank
    line between."""
    yield _heading(kind, report)
    for table in _tables(kind, report):
        yield []
        yield [table["caption"]]
        yield [table["first"], *(_(title) for _key, title in table["columns"])]
        for label, values in [*table["rows"], table["total"]]:
            line: list[Any] = [label]
            for key, _title in table["columns"]:
                value = values.get(key)
                if spreadsheet and key.endswith("_fen"):
                    line.append(xlsx_stream.Money(value))
                elif spreadsheet and isinstance(value, int) and not key.endswith("_rate"):
                    line.append(value)
                else:
                    line.append(_cell(key, value))
            yield line


def _export(kind: str, fmt: str):
    report = _read(kind, _typed())  # a bad quarter or unit: the error page, in the user's language
    filename = f"{STEMS[kind]}-{report['quarter']}-{report['unit']['code']}-{datetime.now(ZONE):%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        body, mimetype = _csv(list(_lines(kind, report, spreadsheet=False))), "text/csv; charset=utf-8"
    else:
        money = '#,##0.00" yuan"' if is_english() else '#,##0.00" 元"'
        # A few dozen rows: said now, in the request (the words need its language), then streamed.
        heading, *lines = _lines(kind, report, spreadsheet=True)
        body = xlsx_stream.stream(report["quarter"], heading, lines, money_format=money)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _csv(lines: list[list[Any]]) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    for line in lines:
        writer.writerow(line)
    yield "\ufeff".encode() + out.getvalue().encode("utf-8")  # the BOM: spreadsheet programs then read UTF-8
