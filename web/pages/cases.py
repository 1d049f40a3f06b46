"""Registering a case (`/cases/new?type=mediation|petition`), its receipt, and the case page (`/cases/<id>`).

This module only translates. Every read and command is a call of `services.cases` (or
`services.people`) with `g.actor`; whether the user may see or do a thing is their answer (the view's
`may`, NotFound, Forbidden), never decided here. How things are said — codes in words, fen in 元,
times in Shanghai — is `case_words.py`; the history as sentences is `case_timeline.py`.
"""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from markupsafe import Markup

from engine.errors import Conflict, InvalidInput, NotFound
from usecases.authorization import ROLE_TITLES
from web.i18n import _

from .case_timeline import (
    timeline,
)
from .case_words import (
    _AMOUNT,
    DEADLINE_WORDS,
    DIFFICULTY_WORDS,
    FIELD_TITLES,
    FLAG_WORDS,
    LEVEL_WORDS,
    MAX_AMOUNT_FEN,
    NOT_TYPED_AT_REGISTRATION,
    OUTCOME_WORDS,
    REGISTER_TITLES,
    STATUS_WORDS,
    SUBSIDY_STATUS_WORDS,
    TYPE_WORDS,
    WARNING_WORDS,
    Names,
    describe,
    field_title,
    form_schema,
    is_english,
    listing,
    role_title,
    say,
    sep,
    services,
    title_of,
    value_text,
    when,
    word,
    yuan,
)
from .diagram import parse_diagram, render_diagram
from .documents import document_links
from .forms import field_error_summary, read_form, render_fields

bp = Blueprint("cases", __name__)

REGISTER_TYPES = ("mediation", "petition")
_CARRIED_CONTROLS = {"csrf_token", "_add", "_remove", "_edit", "_seen", "_confirm"}

# --- registering -------------------------------------------------------------------------------
def _optional(schema: dict) -> None:
    """GOV.UK marks the optional fields, not the required ones: "（选填）" after each optional title."""
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        items = sub.get("items") if sub.get("type") == "array" else None
        if isinstance(items, dict) and items.get("type") == "object" and not items.get("title"):
            # The add button is named after the item ("添加信访材料"), which must not read "（选填）".
            items.update({k: sub[k] for k in ("title", "x-title-en") if sub.get(k)})
        if name not in required:
            for key in ("title", "x-title-en"):
                if sub.get(key):
                    sub[key] = sub[key] + _("（选填）")
        target = sub.get("items") if sub.get("type") == "array" else sub
        if isinstance(target, dict) and "properties" in target:
            _optional(target)


def _retitle(schema: dict, name: str, title: str) -> None:
    for prop, sub in schema.get("properties", {}).items():
        if prop == name:
            sub["title"] = sub["x-title-en"] = title
        target = sub.get("items") if sub.get("type") == "array" else sub
        if isinstance(target, dict) and "properties" in target:
            _retitle(target, name, title)


def register_schema(case_type: str) -> dict:
    """The register form as this page shows it: the amount in 元 (typed as text, converted to fen
    here), units chosen by name, optional fields marked."""
    original = form_schema(case_type, "register")
    if not original:
        abort(404)
    schema = copy.deepcopy(original)
    properties = schema.setdefault("properties", {})
    for name in NOT_TYPED_AT_REGISTRATION:
        properties.pop(name, None)
    # Titles speak of choosing from a list, not of codes (the page offers the units by name).
    for name in ("residence_org", "respondent_unit"):
        _retitle(schema, name, _(FIELD_TITLES[name]))
    if "amount_fen" in properties:
        properties["amount_fen"] = {"title": _(FIELD_TITLES["amount_fen"]), "x-title-en": _(FIELD_TITLES["amount_fen"]),
                                    "type": "string", "maxLength": 20,
                                    "description": _("以元为单位，可写两位小数，如 1200.50；不涉及金额的不填")}
    _optional(schema)
    return schema


def _amount_in_fen(data: dict, errors: dict[str, str]) -> None:
    """The amount as typed in 元 ("1200.50", "1,200.5元") → integer fen, or a message beside it."""
    typed = data.pop("amount_fen", None)
    if typed is None:
        return
    text = re.sub(r"[,，\s]", "", str(typed)).removesuffix("元")
    match = _AMOUNT.fullmatch(text)
    if not match:
        errors["amount_fen"] = _("请填写金额，如 1200.50")
        return
    fen = int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))
    if fen > MAX_AMOUNT_FEN:
        errors["amount_fen"] = _("金额不能超过 100 亿元")
        return
    data["amount_fen"] = fen


def unit_options(names: Names) -> dict[str, list[tuple[str, str]]]:
    """The choices of unit fields: villages town by town for a residence, any unit for the unit
    complained about. (A plain <select>: works without script and with every screen reader.)"""
    units = sorted(names.units.values(), key=lambda u: u["code"])
    order = {"county": 0, "town": 1, "village": 2}
    towns = [u for u in units if u["level"] == "town"]
    villages: list[tuple[str, str]] = []
    for town in towns:
        villages += [(u["code"], names.unit_in_town(u["code"])) for u in units
                     if u["level"] == "village" and u.get("parent") == town["code"]]
    placed = {code for code, _title in villages}
    villages += [(u["code"], names.unit_in_town(u["code"])) for u in units
                 if u["level"] == "village" and u["code"] not in placed]
    every = [(u["code"], names.unit_in_town(u["code"])) for u in sorted(
        units, key=lambda u: (order.get(u["level"], 3), names.unit_in_town(u["code"])))]
    return {"parties.residence_org": villages, "petitioners.residence_org": villages,
            "residence_org": villages, "respondent_unit": every}


def _first_values(case_type: str) -> dict:
    if case_type == "mediation":
        # The usual dispute has one applicant and one respondent: the sides come pre-chosen.
        return {"parties": [{"side": "applicant"}, {"side": "respondent"}]}
    return {}


def error_rows(errors: Mapping[str, str], schema: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(field id, "title：message") for the error summary at the top of a form."""
    rows = []
    for ident, title, message in field_error_summary(errors, schema, "en" if is_english() else "zh",
                                                     prefix=prefix):
        rows.append((ident, f"{title}{sep()}{message}" if title else say(message)))
    return rows


def _register_page(case_type: str, schema: dict, values: Mapping, errors: Mapping[str, str], names: Names,
                   *, seen: str = "", status: int = 200):
    fields = render_fields(schema, values, errors, lang="en" if is_english() else "zh",
                           options=unit_options(names))
    # The amount is typed as text (a number input would silently drop "abc"); a phone still gets
    # its numeric keyboard with a decimal point.
    fields = Markup(str(fields).replace('id="f-amount_fen" name="amount_fen" type="text"',
                                        'id="f-amount_fen" name="amount_fen" type="text" inputmode="decimal"', 1))
    return render_template("cases/new.html", case_type=case_type, title=_(REGISTER_TITLES[case_type]),
                           fields=fields, errors=error_rows(errors, schema), seen=seen), status


def _carried(form) -> list[tuple[str, str]]:
    """The posted form, to carry in hidden fields through a confirmation page."""
    return [(k, v) for k, v in form.items(multi=True) if k not in _CARRIED_CONTROLS]


def _finding(found: Mapping) -> str:
    """What the same-party check found, so a warning the clerk has seen is not shown again."""
    return ",".join(str(c["id"]) for c in found.get("cases", [])) + f"|{found.get('others', 0)}"


def _may_register(case_type: str) -> bool:
    # The application layer's answer (the navigation's areas come from its authorization table).
    return f"register_{case_type}" in services().areas(g.actor)


@bp.route("/cases/new", methods=["GET", "POST"])
def new_case():
    case_type = request.args.get("type", "")
    if case_type not in REGISTER_TYPES:
        abort(404)
    if not _may_register(case_type):
        abort(403)
    schema = register_schema(case_type)
    names = Names.load(g.actor)
    if request.method == "GET":
        return _register_page(case_type, schema, _first_values(case_type), {}, names)

    form = request.form
    reading = read_form(schema, form)
    seen = form.get("_seen", "")
    if reading.action or "_edit" in form:  # a party added or removed, or back from the warning
        return _register_page(case_type, schema, reading.raw, {}, names, seen=seen)
    data, errors = dict(reading.data), dict(reading.errors)
    _amount_in_fen(data, errors)
    if errors:
        return _register_page(case_type, schema, reading.raw, errors, names, seen=seen, status=400)

    found = services().cases.same_parties(g.actor, data)
    finding = _finding(found)
    if (found["cases"] or found["others"]) and seen != finding:
        return render_template("cases/same_parties.html", case_type=case_type,
                               title=_(REGISTER_TITLES[case_type]), found=found, finding=finding,
                               carried=_carried(form), names=names)
    try:
        view = services().cases.register(g.actor, case_type, data)
    except InvalidInput as problem:
        errors = dict(problem.fields) or {"": problem.message}
        return _register_page(case_type, schema, reading.raw, errors, names, seen=finding, status=400)
    return redirect(url_for("cases.receipt", case_id=view["id"]), 303)


# --- the receipt -------------------------------------------------------------------------------
def party_rows(case_type: str, view: Mapping, names: Names) -> list[dict]:
    """The people of the case by list (当事人, 信访人): title, column titles and rows of words."""
    schema = form_schema(case_type, "register") or {}
    data = view.get("data") or {}
    tables = []
    for key, sub in schema.get("properties", {}).items():
        items = sub.get("items", {}) if sub.get("type") == "array" else {}
        if "id_number" not in items.get("properties", {}):
            continue
        rows = [r for r in data.get(key) or [] if isinstance(r, Mapping)]
        columns = [c for c in items["properties"] if any(r.get(c) not in (None, "") for r in rows)]
        tables.append({"key": key, "title": title_of(sub, key),
                       "columns": [field_title(items["properties"][c], c) for c in columns],
                       "rows": [[_party_value(items["properties"][c], c, r.get(c), names) for c in columns]
                                for r in rows]})
    return tables


def _party_value(schema: Mapping, key: str, value: Any, names: Names) -> str:
    if value in (None, ""):
        return _("未填")
    if key == "residence_org":
        return names.unit_in_town(value)
    return value_text(schema, key, value, names)


@bp.get("/cases/<id:case_id>/receipt")
def receipt(case_id: int):
    view = services().cases.get(g.actor, case_id)
    names = Names.load(g.actor)
    due = min((d["due_at"] for d in view.get("deadlines") or [] if d.get("due_at")), default=None)
    return render_template("cases/receipt.html", case=view, names=names,
                           type_title=word(TYPE_WORDS, view["type"]), level=word(LEVEL_WORDS, view.get("level")),
                           unit=names.unit(view.get("jurisdiction")), due=when(due), due_iso=due,
                           registered=when(view.get("created_at")), parties=party_rows(view["type"], view, names),
                           summary=(view.get("data") or {}).get("summary"),
                           confidential=say((view.get("data") or {}).get("confidential") or ""))


# --- the case page -----------------------------------------------------------------------------
@dataclass
class MessageForm:
    name: str
    title: str
    fields: Markup
    errors: list[tuple[str, str]]
    general: str = ""


def message_forms(view: Mapping, names: Names, state: Mapping[str, tuple[Mapping, Mapping, str]]) -> list[MessageForm]:
    """The small forms of the messages the user may send to this open case."""
    if view.get("status") != "open":
        return []
    forms = []
    for name in (view.get("may") or {}).get("messages") or []:
        schema = form_schema(view["type"], f"message_{name}")
        if schema is None:
            continue
        values, errors, general = state.get(name, ({}, {}, ""))
        forms.append(MessageForm(name, title_of(schema, name),
                                 render_fields(schema, values, errors, lang="en" if is_english() else "zh",
                                               prefix=f"{name}-", options=unit_options(names)),
                                 error_rows(errors, schema, prefix=f"{name}-"), general))
    return forms


def diagram_model(case_id: int) -> dict:
    info = services().cases.diagram(g.actor, case_id)
    bpmn = info.get("bpmn")
    done, current = set(info.get("done") or ()), set(info.get("current") or ())
    model = {"version": info.get("version"), "svg": None, "current_names": []}
    if not bpmn:
        return model
    parsed = parse_diagram(bpmn)
    if parsed is None:
        model["svg"] = render_diagram(bpmn)
        return model
    # A path was taken when it leads from a passed step to one passed or open now.
    taken = {e.element_id for e in parsed.edges if e.kind == "sequenceFlow" and e.source in done
             and (e.target in done or e.target in current)}
    lanes = {code: titles[1 if is_english() else 0] for code, titles in ROLE_TITLES.items()}
    svg = str(render_diagram(bpmn, current=current, done=done, taken=taken, lane_titles=lanes,
                             title=_("案件流程图（第 {version} 版）", version=info.get("version"))))
    # Drawn at its natural size (12 px text) inside a box that scrolls: shrunk to a phone's width
    # the labels would be unreadable (see web/pages/diagram.py).
    size = re.search(r'data-width="(\d+)" data-height="(\d+)"', svg)
    if size:
        svg = svg.replace('width="100%"', f'width="{size.group(1)}" height="{size.group(2)}"', 1)
    model["svg"] = Markup(svg)
    model["current_names"] = [say(s.name) or s.element_id for s in parsed.shapes
                              if s.element_id in current and s.kind not in ("boundaryEvent",)]
    return model


def status_rows(view: Mapping, names: Names) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [(_("案件编号"), view.get("number")), (_("类型"), word(TYPE_WORDS, view["type"]))]
    status = word(STATUS_WORDS, view.get("status"))
    if view.get("outcome"):
        status = f"{status}{sep()}{word(OUTCOME_WORDS, view['outcome'])}"
    rows.append((_("状态"), status))
    if view.get("level"):
        rows.append((_("层级"), word(LEVEL_WORDS, view["level"])))
    rows.append((_("承办单位"), names.unit(view.get("jurisdiction"))))
    if view.get("definition_version"):
        rows.append((_("流程版本"), _("第 {version} 版", version=view["definition_version"])))
    if view.get("owner_leader") or view["type"] == "petition":
        owner = names.person(view.get("owner_leader")) or _("尚未指定")
        if view.get("owner_since"):
            owner = _("{name}（{since}起）", name=owner, since=when(view["owner_since"], date_only=True))
        rows.append((_("包案领导"), owner))
    if view.get("flags"):
        rows.append((_("标记"), listing(word(FLAG_WORDS, f) for f in view["flags"])))
    rows.append((_("登记"), _("{who}，{at}", who=names.person(view.get("registered_by")),
                             at=when(view.get("created_at")))))
    if view.get("closed_at"):
        rows.append((_("结案时间"), when(view["closed_at"])))
    return rows


def detail_rows(view: Mapping, names: Names) -> list[tuple[str, str]]:
    """What was registered, apart from the people: category, summary, source, amount …"""
    schema = form_schema(view["type"], "register") or {}
    data = view.get("data") or {}
    shown = {}
    for key, sub in schema.get("properties", {}).items():
        items = sub.get("items", {}) if sub.get("type") == "array" else {}
        if "id_number" in items.get("properties", {}) or key not in data:
            continue
        shown[key] = data[key]
    rows = describe(schema, shown, names)
    if data.get("triage_reason"):
        rows.append((_("定级理由"), say(str(data["triage_reason"]))))
    return rows


def checklist_rows(view: Mapping) -> list[tuple[str, bool, bool]] | None:
    """The case-file items (卷宗) as confirmed at archiving: (title, present, required); None when
    the case type keeps no file."""
    schema = form_schema(view["type"], "archive") or {}
    items = schema.get("properties", {}).get("checklist")
    if not items:
        return None
    done = (view.get("data") or {}).get("checklist") or {}
    if not done:
        return []
    required = set(items.get("required", ()))
    return [(title_of(sub, key), done.get(key) is True, key in required)
            for key, sub in items.get("properties", {}).items()]


def subsidy_rows(view: Mapping, names: Names) -> list[dict]:
    """Ledger entries, each reversal shown on the entry it reverses (nothing is ever edited)."""
    entries = view.get("subsidy") or []
    by_id = {e["id"]: e for e in entries}
    rows = []
    for e in entries:
        if e.get("kind") == "reversal" and e.get("reverses") in by_id:
            continue
        reversal = by_id.get(e.get("reversed_by"))
        rows.append({
            "mediator": names.person(e.get("mediator")) or _("（无）"),
            "grade": " · ".join(w for w in (word(LEVEL_WORDS, e.get("level")),
                                            word(DIFFICULTY_WORDS, e.get("difficulty"))) if w),
            "amount": yuan(e.get("amount_fen")),
            "status": word(SUBSIDY_STATUS_WORDS, e.get("status")),
            "reason": listing([say(e.get("reason") or ""), say(e.get("status_reason") or "")]),
            "batch": e.get("batch") or "", "reversal": None if reversal is None else {
                "amount": yuan(reversal.get("amount_fen")), "reason": say(reversal.get("reason") or ""),
                "at": when(reversal.get("created_at"))},
            "is_reversal": e.get("kind") == "reversal"})
    return rows


def court_steps(view: Mapping, names: Names) -> list[tuple[str, list[tuple[str, str]]]] | None:
    """The court steps (司法确认, 诉调对接), each (title of its form, rows); None for a case type
    without them."""
    case_type, data = view["type"], view.get("data") or {}
    confirmation = form_schema(case_type, "judicial_confirmation")
    referral = form_schema(case_type, "refer_to_court")
    if not confirmation and not referral:
        return None
    steps = []
    # The court is asked in both steps; which one it belongs to follows from the referral.
    if data.get("applied") is not None and confirmation:
        shown = {"applied": data["applied"]}
        if data.get("applied") and data.get("court") and not data.get("referral_kind"):
            shown["court"] = data["court"]
        steps.append((title_of(confirmation, "judicial_confirmation"), describe(confirmation, shown, names)))
    if isinstance(data.get("court_confirmation"), Mapping):
        schema = form_schema(case_type, "message_court_confirmation")
        steps.append((title_of(schema, "court_confirmation"), describe(schema, data["court_confirmation"], names)))
    if data.get("referral_kind") and referral:
        shown = {"court": data.get("court"), "referral_kind": data["referral_kind"]}
        steps.append((title_of(referral, "refer_to_court"), describe(referral, shown, names)))
    if isinstance(data.get("court_result"), Mapping):
        schema = form_schema(case_type, "message_court_result")
        steps.append((title_of(schema, "court_result"), describe(schema, data["court_result"], names)))
    return steps


def link_rows(view: Mapping) -> list[dict]:
    rows = []
    for link in view.get("links") or []:
        what = word(TYPE_WORDS, link.get("type"))
        said = (_("本案转出的{what}", what=what) if link.get("direction") == "opened"
                else _("转出本案的{what}", what=what))
        state = word(STATUS_WORDS, link.get("status"))
        if link.get("outcome"):
            state = f"{state}{sep()}{word(OUTCOME_WORDS, link['outcome'])}"
        rows.append({"said": said, "number": link.get("number"), "case_id": link.get("case_id"), "state": state})
    if view.get("repeat_of"):
        try:  # linked only when the reader may open it: its number is the earlier case's own business
            earlier = services().cases.get(g.actor, view["repeat_of"])
        except NotFound:
            return rows
        rows.append({"said": _("重复信访：先前的信访事项"), "number": earlier.get("number"),
                     "case_id": earlier["id"], "state": word(STATUS_WORDS, earlier.get("status"))})
    return rows


def deadline_rows(view: Mapping) -> list[dict]:
    return [{"what": word(DEADLINE_WORDS, d.get("kind")), "due": when(d.get("due_at")), "due_iso": d.get("due_at"),
             "warning": d.get("warning_level") or "normal",
             "warning_word": word(WARNING_WORDS, d.get("warning_level") or "normal"),
             "estimated": d.get("estimated")} for d in view.get("deadlines") or []]


def task_rows(view: Mapping, names: Names) -> list[dict]:
    return [{"id": t["id"], "title": (t.get("title_en") if is_english() else t.get("title_zh")) or t.get("name"),
             "unit": names.unit(t.get("org_unit")), "assignee": names.person(t.get("assignee")),
             "role": role_title(t.get("role")), "due": when(t.get("due_at")),
             "warning": t.get("warning_level") or "normal",
             "warning_word": word(WARNING_WORDS, t.get("warning_level") or "normal")} for t in view.get("tasks") or []]


def _render_case(view: Mapping, *, unmasked: bool = False, message_state=None, errors=(), status: int = 200):
    names = Names.load(g.actor)
    case_id = view["id"]
    history = services().cases.history(g.actor, case_id)
    return render_template(
        "cases/case.html", case=view, names=names, unmasked=unmasked, errors=list(errors),
        type_title=word(TYPE_WORDS, view["type"]), status_rows=status_rows(view, names),
        warning=view.get("warning_level") or "normal",
        warning_word=word(WARNING_WORDS, view.get("warning_level") or "normal"),
        parties=party_rows(view["type"], view, names), details=detail_rows(view, names),
        confidential=say((view.get("data") or {}).get("confidential") or ""),
        deadlines=deadline_rows(view), tasks=task_rows(view, names),
        links=link_rows(view), checklist=checklist_rows(view),
        missing_reason=(view.get("data") or {}).get("missing_reason"),
        subsidy=subsidy_rows(view, names), court=court_steps(view, names),
        messages=message_forms(view, names, message_state or {}),
        diagram=diagram_model(case_id), timeline=timeline(view, history, names),
        documents=document_links(case_id)), status


@bp.get("/cases/<id:case_id>")
def case_page(case_id: int):
    return _render_case(services().cases.get(g.actor, case_id))


@bp.post("/cases/<id:case_id>/unmasked")
def unmasked(case_id: int):
    """A handler's look at the full ID numbers and phones: a POST, because the look is recorded."""
    view = services().cases.unmasked(g.actor, case_id)
    body, status = _render_case(view, unmasked=True)
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"  # never kept by the browser or a proxy
    return response


@bp.post("/cases/<id:case_id>/messages/<name>")
def message(case_id: int, name: str):
    """A message from the case page (the court's answer, a withdrawal, a review request): the form,
    then a page to check it, then the message."""
    view = services().cases.get(g.actor, case_id)
    schema = form_schema(view["type"], f"message_{name}")
    if schema is None:
        abort(404)
    if name not in (view.get("may") or {}).get("messages", []):
        abort(403)
    prefix = f"{name}-"
    reading = read_form(schema, request.form, prefix=prefix)
    if reading.action:
        return _render_case(view, message_state={name: (reading.raw, {}, "")})
    # A required field left empty is said before the check page, not after it: the engine checks
    # everything again when the message is sent.
    errors = {**{key: _("请填写{what}", what=title_of(sub, key))
                 for key, sub in schema.get("properties", {}).items()
                 if key in schema.get("required", ()) and key not in reading.data}, **reading.errors}
    if errors:
        return _render_case(view, message_state={name: (reading.raw, errors, "")},
                            errors=error_rows(errors, schema, prefix), status=400)
    names = Names.load(g.actor)
    if "_confirm" not in request.form:
        return render_template("cases/confirm_message.html", case=view, name=name, title=title_of(schema, name),
                               rows=describe(schema, reading.data, names), carried=_carried(request.form))
    try:
        services().cases.send_message(g.actor, case_id, name, reading.data)
    except InvalidInput as problem:
        errors = dict(problem.fields) or {"": problem.message}
        return _render_case(view, message_state={name: (reading.raw, errors, "")},
                            errors=error_rows(errors, schema, prefix), status=400)
    except Conflict as problem:
        said = say(problem.message)
        return _render_case(services().cases.get(g.actor, case_id), message_state={name: (reading.raw, {}, said)},
                            errors=[(f"message-{name}", said)], status=409)
    flash(_("已记录：{what}", what=title_of(schema, name)), "notice")
    return redirect(url_for("cases.case_page", case_id=case_id), 303)


