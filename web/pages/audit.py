"""The auditors' pages (`/audit`): finding cases, a case's history with its hash-chain verification,
the verification of the whole store, the subsidy ledger with totals, exports of each as CSV and
XLSX, and a printable case file (卷宗). Read-only for every case.

This module only translates: every read is a call of `services.audit` with `g.actor` (the
application layer decides who may, and masks personal data as the case page does). Each table is
described once (`Column`s) and drawn from the same cells on the screen and in the exports, so an
export says exactly what the screen says. Exports stream: the use cases yield rows 1,000 at a time,
CSV goes out a couple of hundred rows per chunk, and XLSX is written as it is sent (`xlsx_stream`: a
zip built sequentially), so 100,000 rows never sit in memory and the download never falls silent
for longer than reading a page of rows takes."""
from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from flask import (
    Blueprint,
    Response,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from engine.errors import InvalidInput
from usecases.base import MAX_ID
from web.i18n import N_, _

from . import xlsx_stream
from .case_timeline import say_event, timeline
from .case_words import (
    LEVEL_WORDS,
    OUTCOME_WORDS,
    STATUS_WORDS,
    SUBSIDY_STATUS_WORDS,
    TYPE_WORDS,
    ZONE,
    Names,
    choice_title,
    form_schema,
    is_english,
    listing,
    say,
    sep,
    services,
    title_of,
    when,
    word,
    yuan,
)
from .cases import detail_rows, party_rows, status_rows, subsidy_rows

bp = Blueprint("audit", __name__)

SEARCH_FIELDS = ("number", "party", "category", "unit", "type", "status", "outcome", "registered_from",
                 "registered_to")
LEDGER_FIELDS = ("mediator", "unit", "quarter", "status")
REFRESH_SECONDS = 2


# --- one description of each table, for the screen and the exports ----------------------------
@dataclass(frozen=True)
class Column:
    title: str  # marked Chinese, translated when shown
    cell: Callable[[Mapping[str, Any], Names], str]
    fen: Callable[[Mapping[str, Any]], int | None] | None = None  # money: XLSX keeps the number
    # What the cell depends on when that is one or two codes (a unit, a status): an export then words
    # each code once, not once per row.
    key: Callable[[Mapping[str, Any]], Any] | None = None


def _parties(row: Mapping[str, Any], names: Names) -> str:
    if row.get("identity_withheld"):
        return _("（保密）")
    people = []
    for person in row.get("parties") or []:
        bits = [person.get("name") or ""]
        bits += [person[key] for key in ("id_number", "phone") if person.get(key)]
        people.append(" ".join(b for b in bits if b))
    return ("; " if is_english() else "；").join(people)


def _category(row: Mapping[str, Any], names: Names) -> str:
    code = row.get("category")
    if not code:
        return ""
    schema = (form_schema(row["type"], "register") or {}).get("properties", {}).get("category")
    return choice_title(schema, code)


def _state(row: Mapping[str, Any], names: Names) -> str:
    text = word(STATUS_WORDS, row.get("status"))
    if row.get("outcome"):
        text = f"{text}{sep()}{word(OUTCOME_WORDS, row['outcome'])}"
    return text


CASE_COLUMNS = (
    Column(N_("案件编号"), lambda r, n: r.get("number") or ""),
    Column(N_("类型"), lambda r, n: word(TYPE_WORDS, r.get("type")), key=lambda r: r.get("type")),
    Column(N_("当事人"), _parties),
    Column(N_("类别"), _category, key=lambda r: (r.get("type"), r.get("category"))),
    Column(N_("承办单位"), lambda r, n: n.unit_in_town(r.get("jurisdiction")), key=lambda r: r.get("jurisdiction")),
    Column(N_("登记时间"), lambda r, n: when(r.get("created_at"))),
    Column(N_("状态"), _state, key=lambda r: (r.get("status"), r.get("outcome"))),
    Column(N_("结案时间"), lambda r, n: when(r.get("closed_at"))),
)

HISTORY_COLUMNS = (
    Column(N_("序号"), lambda r, n: str(r["seq"])),
    Column(N_("时间"), lambda r, n: when(r.get("at"))),
    Column(N_("操作人"), lambda r, n: n.person(r.get("actor"))),
    Column(N_("事项"), lambda r, n: r["what"]),
    Column(N_("详情"), lambda r, n: listing(f"{label}{sep()}{value}" for label, value in r["details"])),
    Column(N_("哈希"), lambda r, n: r.get("hash") or ""),
    Column(N_("哈希链"), lambda r, n: _("✓ 正确") if r.get("chain_ok") else _("✗ 断开")),
)

LEDGER_COLUMNS = (
    Column(N_("记录号"), lambda r, n: str(r["id"])),
    Column(N_("案件编号"), lambda r, n: r.get("case_number") or ""),
    Column(N_("调解员"), lambda r, n: n.person(r.get("mediator")) or _("（无）"), key=lambda r: r.get("mediator")),
    Column(N_("承办单位"), lambda r, n: n.unit_in_town(r.get("case_jurisdiction")),
           key=lambda r: r.get("case_jurisdiction")),
    Column(N_("层级"), lambda r, n: word(LEVEL_WORDS, r.get("level")), key=lambda r: r.get("level")),
    Column(N_("金额"), lambda r, n: yuan(r.get("amount_fen")), fen=lambda r: r.get("amount_fen")),
    Column(N_("状态"), lambda r, n: word(SUBSIDY_STATUS_WORDS, r.get("status")), key=lambda r: r.get("status")),
    Column(N_("季度"), lambda r, n: r.get("quarter") or ""),
    Column(N_("发放批次"), lambda r, n: r.get("batch") or ""),
    Column(N_("说明"), lambda r, n: listing([say(r.get("reason") or ""), say(r.get("status_reason") or "")]),
           key=lambda r: (r.get("reason"), r.get("status_reason"))),
    Column(N_("记账时间"), lambda r, n: when(r.get("created_at"))),
)


def cells(columns: Iterable[Column], row: Mapping[str, Any], names: Names) -> list[str]:
    return [c.cell(row, names) for c in columns]


MEMO_SIZE = 10_000  # words kept per column of an export (codes repeat; free text may not)


def cell_makers(columns: Iterable[Column], names: Names) -> list[Callable[[Mapping[str, Any]], str]]:
    """Each column's cell for an export, the same text as `cells`; a column with a `key` remembers the
    words of each key it has met (up to MEMO_SIZE), so 100,000 rows word a few dozen codes."""
    makers = []
    for column in columns:
        if column.key is None:
            makers.append(lambda row, cell=column.cell: cell(row, names))
            continue

        def remembered(row, cell=column.cell, key=column.key, memo={}):  # noqa: B006 - one memo per column
            found = key(row)
            text = memo.get(found)
            if text is None:
                text = cell(row, names)
                if len(memo) >= MEMO_SIZE:
                    memo.clear()
                memo[found] = text
            return text
        makers.append(remembered)
    return makers


def headers(columns: Iterable[Column]) -> list[str]:
    return [_(c.title) for c in columns]


# --- small helpers ------------------------------------------------------------------------------
def _cursor(name: str) -> int | None:
    text = request.args.get(name, "")
    return int(text) if text.isdigit() and 1 <= int(text) <= MAX_ID else None


def _typed(fields: Iterable[str]) -> dict[str, str]:
    return {name: request.args.get(name, "").strip() for name in fields if request.args.get(name, "").strip()}


def _query(values: Mapping[str, str], **more: Any) -> str:
    pairs = {**values, **{k: v for k, v in more.items() if v is not None}}
    return ("?" + urlencode(pairs)) if pairs else ""


def _errors(problem: InvalidInput, titles: Mapping[str, str]) -> list[tuple[str, str]]:
    """(field id, "title：message") for the error summary; the message itself beside the field."""
    rows = [(f"f-{name}", f"{_(titles.get(name, name))}{sep()}{say(message)}")
            for name, message in (problem.fields or {}).items()]
    return rows or [("", say(problem.message))]


def _unit_choices(names: Names) -> list[tuple[str, str]]:
    order = {"county": 0, "town": 1, "village": 2}
    units = sorted(names.units.values(), key=lambda u: (order.get(u["level"], 3), u["code"]))
    return [(u["code"], names.unit_in_town(u["code"])) for u in units]


def _download_name(stem: str, extension: str) -> str:
    return f"{stem}-{datetime.now(ZONE):%Y%m%d-%H%M}.{extension}"


# --- the start page: finding cases ----------------------------------------------------------------
SEARCH_TITLES = {"number": N_("案件编号"), "party": N_("当事人"), "category": N_("类别"), "unit": N_("承办单位"),
                 "type": N_("类型"), "status": N_("状态"), "outcome": N_("结果"), "registered_from": N_("登记日期从"),
                 "registered_to": N_("登记日期到")}


def _search_form(names: Names) -> dict[str, Any]:
    choices = services().audit.search_choices(g.actor)
    categories = []
    for code in choices["categories"]:
        schema = None
        for case_type in choices["types"]:
            schema = (form_schema(case_type, "register") or {}).get("properties", {}).get("category")
            if schema and code in (schema.get("enum") or []):
                break
        categories.append((code, choice_title(schema, code)))
    return {"types": [(t, word(TYPE_WORDS, t)) for t in choices["types"]], "categories": categories,
            "units": _unit_choices(names), "statuses": [(s, word(STATUS_WORDS, s)) for s in STATUS_WORDS],
            "outcomes": [(o, word(OUTCOME_WORDS, o)) for o in OUTCOME_WORDS]}


@bp.get("/audit")
def search():
    names = Names.load(g.actor)
    typed = _typed(SEARCH_FIELDS)
    form = _search_form(names)
    try:
        found = services().audit.search(g.actor, after=_cursor("after"), before=_cursor("before"), **typed)
    except InvalidInput as problem:
        return render_template("audit/search.html", form=form, typed=typed, rows=None, found=None,
                               errors=_errors(problem, SEARCH_TITLES), field_errors=problem.fields or {},
                               headers=headers(CASE_COLUMNS), export="", pager={}), 400
    rows = [{"id": item["id"], "cells": cells(CASE_COLUMNS, item, names)} for item in found.items]
    pager = {"next": url_for("audit.search") + _query(typed, after=found.next_after) if found.next_after else None,
             "previous": url_for("audit.search") + _query(typed, before=found.previous_before)
             if found.previous_before else None,
             "first": url_for("audit.search") + _query(typed) if (_cursor("after") or _cursor("before")) else None}
    return render_template("audit/search.html", form=form, typed=typed, rows=rows, found=found, errors=[],
                           field_errors={}, headers=headers(CASE_COLUMNS), export=_query(typed), pager=pager)


@bp.get("/audit/cases.<any(csv, xlsx):kind>")
def search_export(kind: str):
    typed = _typed(SEARCH_FIELDS)
    rows = services().audit.search_rows(g.actor, **typed)  # checked now: a refusal is a page, not a file
    return _export(kind, _("案件查询"), CASE_COLUMNS, rows, "audit-cases")


# --- one case: its history and its verification -------------------------------------------------------
def _history_rows(found: Mapping[str, Any], names: Names) -> list[dict[str, Any]]:
    case = found["case"]
    titles = {t["id"]: (t.get("title_en") if is_english() else t.get("title_zh")) for t in case.get("tasks") or []}
    rows = []
    for event in found["events"]:
        data = event.get("data") or {}
        what, details = say_event(case["type"], event.get("kind") or "", data, names,
                                  titles.get(data.get("task_id")) if isinstance(data, Mapping) else None)
        rows.append({**event, "what": what, "details": details, "at_text": when(event.get("at"))})
    return rows


def _verification_words(verification: Mapping[str, Any]) -> dict[str, str]:
    broken = verification.get("break")
    if broken is None:
        return {"ok": "yes", "title": _("✓ 哈希链完整"),
                "text": _("全部 {n} 条记录重新计算哈希后与保存的一致，没有被改动、删除或调换顺序。",
                          n=verification.get("events_checked", 0))}
    where = (_("第 {seq} 条记录", seq=broken["seq"]) if broken.get("seq") is not None else _("记录链末尾"))
    return {"ok": "no", "title": _("✗ 哈希链断开"),
            "text": _("从{where}起校验不通过：{reason}", where=where, reason=say(broken.get("reason") or ""))}


@bp.get("/audit/cases/<id:case_id>")
def case_history(case_id: int):
    found = services().audit.case_history(g.actor, case_id)
    names = Names.load(g.actor)
    case = found["case"]
    history = _history_rows(found, names)
    return render_template("audit/case.html", case=case, names=names, type_title=word(TYPE_WORDS, case["type"]),
                           status_rows=status_rows(case, names), verification=found["verification"],
                           verdict=_verification_words(found["verification"]), headers=headers(HISTORY_COLUMNS),
                           rows=[{"event": e, "cells": cells(HISTORY_COLUMNS, e, names)} for e in history])


@bp.get("/audit/cases/<id:case_id>/history.<any(csv, xlsx):kind>")
def history_export(case_id: int, kind: str):
    found = services().audit.history_rows(g.actor, case_id)
    names = Names.load(g.actor)
    rows = _history_rows(found, names)
    return _export(kind, _("案件历史"), HISTORY_COLUMNS, iter(rows), f"audit-history-{found['case']['number']}")


# --- the printable case file (卷宗) ------------------------------------------------------------------
# What the system itself holds for an item of the case-file checklist (DOMAIN.md §2): the steps whose
# recorded results are that paper. Items not listed are papers only confirmed at archiving.
FILE_ITEM_STEPS = {"mediation_record": ("mediate",), "followup_record": ("followup",),
                   "judicial_confirmation_papers": ("judicial_confirmation", "court_confirmation")}
FILE_ITEM_EVENTS = {"agreement": ("agreement_reached",)}


def _file_items(case: Mapping[str, Any], history: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The checklist's items in its order, each with whether it is in the file and what the history
    records of it; None for a case type that keeps no checklist."""
    schema = form_schema(case["type"], "archive") or {}
    checklist = schema.get("properties", {}).get("checklist")
    if not checklist:
        return None
    done = (case.get("data") or {}).get("checklist") or {}
    required = set(checklist.get("required", ()))
    items = []
    for key, sub in checklist.get("properties", {}).items():
        steps, kinds = FILE_ITEM_STEPS.get(key, ()), FILE_ITEM_EVENTS.get(key, ())
        records = [e for e in history if e["kind"] in kinds or (
            e["kind"] in ("task_completed", "message_received")
            and ((e.get("data") or {}).get("step") in steps or (e.get("data") or {}).get("name") in steps))]
        state = ("present" if done.get(key) is True else "missing" if key in required else "absent") if done else "open"
        items.append({"key": key, "title": title_of(sub, key), "required": key in required, "state": state,
                      "records": records})
    return items


@bp.get("/audit/cases/<id:case_id>/file")
def case_file(case_id: int):
    found = services().audit.case_file(g.actor, case_id)
    names = Names.load(g.actor)
    case = found["case"]
    history = _history_rows(found, names)
    return render_template("audit/file.html", case=case, names=names, type_title=word(TYPE_WORDS, case["type"]),
                           status_rows=status_rows(case, names), parties=party_rows(case["type"], case, names),
                           details=detail_rows(case, names), items=_file_items(case, history),
                           missing_reason=(case.get("data") or {}).get("missing_reason"),
                           subsidy=subsidy_rows(case, names), timeline=timeline(case, found["events"], names),
                           verdict=_verification_words(found["verification"]),
                           printed_at=when(services().audit.now().isoformat()),
                           printed_by=names.person(g.actor.username))


# --- the whole store's verification ---------------------------------------------------------------------
@bp.get("/audit/verify")
def verification():
    run = services().audit.verification(g.actor)
    running = run is not None and run["status"] == "running"
    return render_template("audit/verify.html", run=run, running=running, refresh=REFRESH_SECONDS if running else None,
                           started=when(run["started_at"]) if run else "", finished=when(run["finished_at"]) if run else "",
                           names=Names.load(g.actor))


@bp.post("/audit/verify")
def start_verification():
    services().audit.start_verification(g.actor)
    return redirect(url_for("audit.verification"), 303)


# --- the subsidy ledger ---------------------------------------------------------------------------------
LEDGER_TITLES = {"mediator": N_("调解员"), "unit": N_("承办单位"), "quarter": N_("季度"), "status": N_("状态")}


def _ledger_form(names: Names) -> dict[str, Any]:
    mediators = [(username, names.person(username)) for username in services().audit.ledger_mediators(g.actor)]
    return {"mediators": mediators, "units": _unit_choices(names),
            "statuses": [(s, word(SUBSIDY_STATUS_WORDS, s)) for s in SUBSIDY_STATUS_WORDS]}


@bp.get("/audit/ledger")
def ledger():
    names = Names.load(g.actor)
    typed = _typed(LEDGER_FIELDS)
    form = _ledger_form(names)
    try:
        found = services().audit.ledger(g.actor, after=_cursor("after"), **typed)
    except InvalidInput as problem:
        return render_template("audit/ledger.html", form=form, typed=typed, rows=None, totals=None,
                               errors=_errors(problem, LEDGER_TITLES), field_errors=problem.fields or {},
                               headers=headers(LEDGER_COLUMNS), export="", pager={}), 400
    rows = [cells(LEDGER_COLUMNS, item, names) for item in found["items"]]
    totals = found["totals"]
    by_status = [(word(SUBSIDY_STATUS_WORDS, s), v["count"], yuan(v["amount_fen"])) for s, v in totals["by_status"].items()]
    pager = {"next": url_for("audit.ledger") + _query(typed, after=found["next"]) if found["next"] else None,
             "first": url_for("audit.ledger") + _query(typed) if _cursor("after") else None}
    return render_template("audit/ledger.html", form=form, typed=typed, rows=rows, errors=[], field_errors={},
                           totals={"count": totals["count"], "amount": yuan(totals["amount_fen"]), "by_status": by_status},
                           headers=headers(LEDGER_COLUMNS), export=_query(typed), pager=pager)


@bp.get("/audit/ledger.<any(csv, xlsx):kind>")
def ledger_export(kind: str):
    rows = services().audit.ledger_rows(g.actor, **_typed(LEDGER_FIELDS))
    return _export(kind, _("补贴台账"), LEDGER_COLUMNS, rows, "audit-ledger")


# --- exports: streamed, never held in memory -------------------------------------------------------------
def _export(kind: str, sheet: str, columns: tuple[Column, ...], rows: Iterator[Mapping[str, Any]], stem: str):
    names = Names.load(g.actor)  # read now, in the request: the stream reuses it
    filename = _download_name(stem, kind)
    if kind == "csv":
        body, mimetype = _csv(columns, rows, names), "text/csv; charset=utf-8"
    else:
        body = _xlsx(sheet, columns, rows, names)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = Response(stream_with_context(body), mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _csv(columns, rows, names: Names) -> Iterator[bytes]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers(columns))
    yield "\ufeff".encode() + out.getvalue().encode("utf-8")  # the BOM: spreadsheet programs then read UTF-8
    out.seek(0)
    out.truncate()
    makers = cell_makers(columns, names)
    for number, row in enumerate(rows, start=1):
        writer.writerow([make(row) for make in makers])
        if number % 200 == 0:  # a chunk of rows at a time: fewer, larger writes
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def _xlsx(sheet: str, columns, rows, names: Names) -> Iterator[bytes]:
    """The sheet written as it is sent (`xlsx_stream`): money stays a number, so it sums, shown as the
    screen shows it; the first bytes leave with the first rows."""
    money = '#,##0.00" yuan"' if is_english() else '#,##0.00" 元"'
    cells_of = list(zip(cell_makers(columns, names), [c.fen for c in columns], strict=True))

    def lines():
        for row in rows:
            line = []
            for make, fen in cells_of:
                amount = fen(row) if fen else None
                line.append(xlsx_stream.Money(amount) if isinstance(amount, int) else make(row))
            yield line

    return xlsx_stream.stream(sheet, headers(columns), lines(), money_format=money)
