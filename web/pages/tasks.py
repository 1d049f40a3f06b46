"""我的待办 (`/tasks`) and the task pages (`/tasks/<id>`): HTTP and HTML around the task use cases.

Every read and command goes through the application layer's services as the signed-in user
(`g.actor`). What a user may see or do is the services' answer (a task's `may`, NotFound for what
they may not see); this module only turns it into pages and forms and back. A step's form is
drawn from its JSON Schema by `forms.render_fields` and read back by `forms.read_form`, so a
refused submission comes back with the person's input and the engine's messages beside the fields.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.errors import Conflict, InvalidInput
from usecases.authorization import ROLE_TITLES
from web.i18n import N_, _, current_language, localized, url_with
from web.security import safe_next

from . import lookups
from .forms import field_error_summary, read_form, render_fields

bp = Blueprint("tasks", __name__)

ZONE = ZoneInfo("Asia/Shanghai")  # the pages show every time as the county's clocks do
SERVICES = "fengqiao"
HISTORY_SHOWN = 8
EXTENSION_PREFIX = "ext-"  # the extension form's inputs, kept apart from the step form's on one page

LEVEL_NAMES = {"village": N_("村级"), "town": N_("镇级"), "county": N_("县级"), "court": N_("法院")}
WARNING_WORDS = {"normal": N_("正常"), "warning": N_("临期"), "overdue": N_("逾期")}
CASE_TYPES = {"mediation": N_("矛盾纠纷调解"), "petition": N_("信访事项")}
TASK_STATES = {"ready": N_("待办理"), "completed": N_("已办结"), "cancelled": N_("已取消")}
SIDES = {"applicant": N_("申请人"), "respondent": N_("被申请人")}
OUTCOMES = {"resolved_village": N_("村级化解"), "resolved_town": N_("镇级化解"), "resolved_county": N_("县级化解"),
            "court": N_("转法院处理"), "refused": N_("当事人拒绝调解"), "withdrawn": N_("申请人撤回"),
            "resolved": N_("已化解"), "not_accepted": N_("不予受理"), "final": N_("终结"),
            "mediation": N_("转人民调解")}

# The extension asks for more than days and a reason, and what depends on the case type (DOMAIN.md
# §2: both parties' consent for a mediation level; §3: the head's approval for petition handling).
# No form schema describes it, so the pages know these two; other steps offer no extension form.
EXTENDABLE = {("mediation", "mediate"): "parties_consent", ("petition", "handle"): "approved_by"}


def services():
    return current_app.extensions[SERVICES]


# --- words and times ------------------------------------------------------------------------------
def _half(zh: str, en: str) -> str:
    return en if current_language() == "en" and en else zh


def _capital(text: str) -> str:
    # The BPMN files' English step names are lower case ("mediate at village"); a heading is not.
    return text[:1].upper() + text[1:] if current_language() == "en" else text


def step_title(task: Mapping[str, Any]) -> str:
    return _capital(_half(task.get("title_zh") or task.get("name") or "", task.get("title_en") or ""))


def level_name(level: str | None) -> str:
    return _(LEVEL_NAMES[level]) if level in LEVEL_NAMES else (level or "")


def role_name(role: str | None) -> str:
    zh, en = ROLE_TITLES.get(role or "", (role or "", role or ""))
    return _half(zh, en)


def _word(table: Mapping[str, str], code: str | None) -> str:
    return _(table[code]) if code in table else (code or "")


def _local(iso_time: str | None) -> datetime | None:
    return datetime.fromisoformat(iso_time).astimezone(ZONE) if iso_time else None


def show_time(iso_time: str | None) -> str:
    when = _local(iso_time)
    return when.strftime("%Y-%m-%d %H:%M") if when else ""


def due_words(iso_time: str | None, now: datetime) -> dict[str, str]:
    """A due time as the county reads it (2026-09-16 23:59), with 今天 or 明天 when it is that close."""
    when = _local(iso_time)
    if when is None:
        return {"text": _("无期限"), "day": "", "iso": ""}
    today = now.astimezone(ZONE).date()
    day = {today: _("今天"), today + timedelta(days=1): _("明天")}.get(when.date(), "")
    return {"text": when.strftime("%Y-%m-%d %H:%M"), "day": day, "iso": iso_time}


def mark(level: str | None) -> dict[str, str]:
    """The deadline mark: its class (colour) and, always, its word."""
    level = level if level in WARNING_WORDS else "normal"
    return {"cls": f"mark-{level}", "word": _(WARNING_WORDS[level])}


def money(fen: Any) -> str:
    if isinstance(fen, bool) or not isinstance(fen, int):
        return ""
    sign, fen = ("-", -fen) if fen < 0 else ("", fen)
    return _("{amount} 元", amount=f"{sign}{fen // 100}.{fen % 100:02d}")


def _names(names: list[str]) -> str:
    return (", " if current_language() == "en" else "、").join(names)


# --- the worklist ----------------------------------------------------------------------------------
def _filter_choice(name: str, allowed) -> str | None:
    value = request.args.get(name) or None
    return value if value in allowed else None  # a hand-made address with an unknown value: no filter


def _page_number() -> int:
    text = request.args.get("page", "")
    return int(text) if text.isdigit() and 1 <= int(text) <= 100000 else 1


@bp.get("/tasks")
def worklist():
    step = (request.args.get("step") or "").strip()[:64] or None
    level = _filter_choice("level", LEVEL_NAMES.keys() - {"court"})
    warning = _filter_choice("warning", WARNING_WORDS)
    page = _page_number()
    tasks = services().tasks
    found = tasks.worklist_page(g.actor, step=step, level=level, warning=warning, page=page)
    if page > found.pages:  # past the end (the list shrank since the link was made): its last page
        found = tasks.worklist_page(g.actor, step=step, level=level, warning=warning, page=found.pages)
    now = tasks.now()
    rows = [_worklist_row(item, now) for item in found.items]
    pager = {"page": found.page, "pages": found.pages,
             "previous": url_with(page=str(found.page - 1)) if found.page > 1 else None,
             "next": url_with(page=str(found.page + 1)) if found.page < found.pages else None}
    steps = [(key, localized(title) or key) for key, title in found.steps]
    if step and step not in {key for key, _title in steps}:
        steps.append((step, step))  # keep the chosen filter visible even when no task has that step now
    return render_template(
        "tasks/list.html", rows=rows, total=found.total, more=found.more, pager=pager, steps=steps,
        levels=[(code, level_name(code)) for code in ("village", "town", "county")],
        warnings=[(code, _(word)) for code, word in WARNING_WORDS.items()],
        chosen={"step": step or "", "level": level or "", "warning": warning or ""},
        filtered=bool(step or level or warning), here=request.full_path.rstrip("?"),
        nav_counts={"tasks": tasks.count(g.actor)})


def _worklist_row(item: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    parties = item.get("parties")
    # What the user may do with each task is the application layer's answer; it checks again on the click.
    may = item.get("may") or {}
    return {"id": item["id"], "number": item.get("case_number") or "", "title": step_title(item),
            "case_type": _word(CASE_TYPES, item.get("case_type")), "level": level_name(item.get("level")),
            "parties": _names(parties) if parties else "", "withheld": parties is None,
            "due": due_words(item.get("due_at"), now), "mark": mark(item.get("warning_level")),
            "claimable": bool(may.get("claim")), "releasable": bool(may.get("unclaim"))}


# --- claiming and releasing --------------------------------------------------------------------------
def _after(view: Mapping[str, Any], task_id: int) -> tuple[str, str]:
    """(step title, case number) of the task in a command's case view, for the confirmation."""
    task = next((t for t in view.get("tasks") or [] if t.get("id") == task_id), None)
    return (step_title(task) if task else _("此事项")), view.get("number") or ""


def _assignment(task_id: int, command: str, said: str):
    back = safe_next(request.form.get("next"), default=url_for("tasks.worklist"))
    try:
        view = getattr(services().tasks, command)(g.actor, task_id)
    except Conflict as e:  # someone was quicker, or the task was done meanwhile: say so where they were
        flash(localized(e.message), "error")
        return redirect(back, code=303)
    title, number = _after(view, task_id)
    flash(_(said, title=title, number=number))
    return redirect(back, code=303)


@bp.post("/tasks/<id:task_id>/claim")
def claim(task_id: int):
    return _assignment(task_id, "claim", N_("已认领：“{title}”（{number}）"))


@bp.post("/tasks/<id:task_id>/unclaim")
def unclaim(task_id: int):
    return _assignment(task_id, "unclaim", N_("已退回：“{title}”（{number}），同单位的同事可以认领。"))


# --- the task page -------------------------------------------------------------------------------------
def _read_version() -> int | None:
    text = request.form.get("version", "").strip()
    return int(text) if text.isdigit() else None


@bp.route("/tasks/<id:task_id>", methods=["GET", "POST"])
def task_page(task_id: int):
    if request.method == "GET":
        return _render(task_id)
    task = services().tasks.get(g.actor, task_id)
    schema = task.get("form") or {}
    reading = read_form(schema, request.form)
    read = _read_version()
    if reading.action:  # a row added or removed: the same form again, nothing submitted
        return _render(task_id, task=task, values=reading.raw, version=read)
    if reading.errors:
        return _render(task_id, task=task, values=reading.raw, errors=reading.errors, version=read, status=400)
    try:
        view = services().tasks.complete(g.actor, task_id, reading.data, read)
    except InvalidInput as e:
        return _render(task_id, task=task, values=reading.raw, errors=_field_errors(e), version=read, status=400)
    except Conflict as e:
        return _render(task_id, values=reading.raw, conflict=localized(e.message), status=409)
    flash(_("已提交：“{title}”（{number}）", title=step_title(task),
            number=view.get("number") or task.get("case_number") or ""))
    return redirect(url_for("tasks.worklist"), code=303)


@bp.post("/tasks/<id:task_id>/extend")
def extend(task_id: int):
    task = services().tasks.get(g.actor, task_id)
    case = services().cases.get(g.actor, task["case_id"])
    schema = extension_schema(case.get("type"), task.get("name"))
    if schema is None:
        abort(404)  # no extension form is offered for this step: as if the address did not exist
    reading = read_form(schema, request.form, prefix=EXTENSION_PREFIX)
    read = _read_version()
    if reading.errors:
        return _render(task_id, task=task, ext_values=reading.raw, ext_errors=reading.errors, version=read,
                       status=400)
    asked = {"days": reading.data.get("days"), "reason": reading.data.get("reason", ""), "version": read}
    extra = EXTENDABLE[(case.get("type"), task.get("name"))]
    asked[extra] = reading.data.get(extra, False if extra == "parties_consent" else None)
    try:
        view = services().tasks.extend(g.actor, task_id, asked)
    except InvalidInput as e:
        return _render(task_id, task=task, ext_values=reading.raw, ext_errors=_field_errors(e), version=read,
                       status=400)
    except Conflict as e:
        return _render(task_id, ext_values=reading.raw, conflict=localized(e.message), ext_conflict=True,
                       status=409)
    fresh = next((t for t in view.get("tasks") or [] if t.get("id") == task_id), {})
    flash(_("已延长期限：“{title}”现在的期限是 {due}。", title=step_title(task),
            due=show_time(fresh.get("due_at")) or _("无期限")))
    return redirect(url_for("tasks.task_page", task_id=task_id), code=303)


def _field_errors(e: InvalidInput) -> dict[str, str]:
    """The engine's field messages, or its one message when it names no field (shown at the top)."""
    return dict(e.fields) if e.fields else {"_": e.message}


def extension_schema(case_type: str | None, step: str | None) -> dict | None:
    """The extension request as a form schema, so it is drawn and read like every other form."""
    extra = EXTENDABLE.get((case_type or "", step or ""))
    if extra is None:
        return None
    properties: dict[str, Any] = {
        "days": {"title": "延长天数", "x-title-en": "Days to add", "type": "integer", "minimum": 1,
                 "description": "从现在的期限起算，按工作日历顺延 / counted on from the current due date"},
        "reason": {"title": "延期理由", "x-title-en": "Reason for the extension", "type": "string",
                   "maxLength": 2000},
    }
    if extra == "parties_consent":
        properties["parties_consent"] = {"title": "双方当事人同意延期", "x-title-en": "Both parties agree to the extension",
                                         "type": "boolean"}
    else:
        properties["approved_by"] = {"title": "批准延期的负责人", "x-title-en": "Head who approved the extension",
                                     "type": "string"}
    return {"type": "object", "properties": properties}


def _options(schema: Mapping[str, Any], task: Mapping[str, Any], case: Mapping[str, Any]
             ) -> dict[str, list[tuple[str, str]]]:
    """Select options for the fields that take an org unit or a username (by their names in the
    forms), keyed by dotted path without list indices as render_fields wants them."""
    people, units = lookups.users(), lookups.org_units()
    unit_names = {u["code"]: u["name"] for u in units}

    def person(u):
        shown = u["display_name"] if u["display_name"] and u["display_name"] != u["username"] else ""
        name = f"{shown}（{u['username']}）" if shown else u["username"]
        return u["username"], f"{name} · {unit_names.get(u['org_unit'], u['org_unit'] or '')}"

    # Who may mediate this step: the people of the task's own role and unit (the engine checks it).
    colleagues = [person(u) for u in people if task.get("role") in u["roles"] and u["org_unit"] == task.get("org_unit")]
    everyone = [person(u) for u in people]
    villages = [(u["code"], u["name"]) for u in units if u["level"] == "village"]
    all_units = [(u["code"], f"{u['name']}（{u['code']}）") for u in units]
    by_name = {"mediators": colleagues, "leader": everyone, "approved_by": everyone,
               "transfer_to": all_units, "residence_org": villages}
    found: dict[str, list[tuple[str, str]]] = {}

    def walk(node: Mapping[str, Any], path: tuple[str, ...]):
        for name, sub in (node.get("properties") or {}).items():
            here = (*path, name)
            if name in by_name and "enum" not in sub:
                found[".".join(here)] = by_name[name]
            walk(sub, here)
            walk(sub.get("items") or {}, here)

    walk(schema, ())
    return found


def _render(task_id: int, *, task: Mapping[str, Any] | None = None, values: Mapping | None = None,
            errors: Mapping[str, str] | None = None, ext_values: Mapping | None = None,
            ext_errors: Mapping[str, str] | None = None, conflict: str | None = None,
            ext_conflict: bool = False, version: int | None = None, status: int = 200):
    """The task page: the step's form (with the input and messages given), and beside it the case,
    its deadline, its recent history and the extension form. After a conflict everything is read
    afresh, so the person sees the case as it is now; a refused form keeps the `version` its sender
    read, so a change made meanwhile is still caught when they submit again."""
    s = services()
    if task is None or conflict:
        task = s.tasks.get(g.actor, task_id)
    case = s.cases.get(g.actor, task["case_id"])
    lang = current_language()
    may = task.get("may") or {}
    is_open = task.get("status") == "ready"
    schema = task.get("form") or {}
    workable = is_open and bool(may.get("complete"))
    options = _options(schema, task, case) if workable else {}
    errors = dict(errors or {})
    summary = field_error_summary(errors, schema, lang) if errors else []
    fields = render_fields(schema, values or {}, errors, lang=lang, options=options) if workable else None

    ext_schema = extension_schema(case.get("type"), task.get("name")) if is_open and may.get("extend") else None
    ext_fields, ext_errors = None, dict(ext_errors or {})
    if ext_schema is not None:
        ext_fields = render_fields(ext_schema, ext_values or {}, ext_errors, lang=lang, prefix=EXTENSION_PREFIX,
                                   options=_options(ext_schema, task, case))
        summary += field_error_summary(ext_errors, ext_schema, lang, prefix=EXTENSION_PREFIX)
    now = s.tasks.now()
    return render_template(
        "tasks/detail.html", task=task, case=case, version=case["version"] if version is None else version,
        title=step_title(task), may=may, is_open=is_open,
        workable=workable, fields=fields, error_summary=summary, conflict=conflict, ext_conflict=ext_conflict,
        ext_fields=ext_fields, ext_open=bool(ext_errors or ext_conflict),
        state=_word(TASK_STATES, task.get("status")), state_label=_capital(_word(TASK_STATES, task.get("status"))),
        role=role_name(task.get("role")),
        level=level_name(task.get("level")), due=due_words(task.get("due_at"), now),
        mark=mark(task.get("warning_level")), assignee=_person_name(task.get("assignee")),
        mine=task.get("assignee") == g.actor.username, facts=_case_facts(case),
        history=_history(case), here=request.path,
        nav_counts={"tasks": s.tasks.count(g.actor)}), status


# --- the case beside the form ------------------------------------------------------------------------
def _people_by_name() -> dict[str, str]:
    if "task_people" not in g:
        g.task_people = lookups.names()
    return g.task_people


def _units_by_code() -> dict[str, str]:
    if "task_units" not in g:
        g.task_units = {u["code"]: u["name"] for u in lookups.org_units()}
    return g.task_units


def _person_name(username: str | None) -> str:
    if not username:
        return ""
    if username in ("system", "cli"):
        return _("系统")
    return _people_by_name().get(username, username)


def _unit_name(code: str | None) -> str:
    return _units_by_code().get(code or "", code or "")


def _choice_title(schema: Mapping[str, Any] | None, code: Any) -> str:
    """An enumeration's title from the case type's own form, as forms.py shows them."""
    titles = ((schema or {}).get("x-enum-titles") or {})
    zh = titles.get(str(code))
    if current_language() == "en":
        return f"{zh} ({code})" if zh else str(code)
    return zh or str(code)


def _case_facts(case: Mapping[str, Any]) -> dict[str, Any]:
    """What the summary beside the form says: the case's number, kind, level, unit, parties and matter."""
    data = case.get("data") or {}
    register = services().cases.form(g.actor, case.get("type"), "register") or {}
    fields = register.get("properties") or {}
    people = []
    if not case.get("identity_withheld"):
        for party in data.get("parties") or data.get("petitioners") or []:
            if not isinstance(party, Mapping):
                continue
            bits = [b for b in (_word(SIDES, party.get("side")) if party.get("side") else "",
                                party.get("phone") or "", party.get("id_number") or "") if b]
            people.append({"name": party.get("name") or "", "details": " · ".join(bits)})
    return {"number": case.get("number"), "type": _word(CASE_TYPES, case.get("type")),
            "level": level_name(case.get("level")), "unit": _unit_name(case.get("jurisdiction")),
            "status": case.get("status"), "outcome": _word(OUTCOMES, case.get("outcome")) if case.get("outcome") else "",
            "category": _choice_title(fields.get("category"), data["category"]) if data.get("category") else "",
            "summary": data.get("summary") or "", "people": people, "withheld": bool(case.get("identity_withheld")),
            "owner": _person_name(case.get("owner_leader")),
            "amount": money(data.get("amount_fen")) if data.get("amount_fen") else "",
            "flags": case.get("flags") or []}


def _step_name(case_type: str | None, step: str | None) -> str:
    if not step:
        return ""
    cache = g.setdefault("task_step_titles", {})
    if (case_type, step) not in cache:
        form = services().cases.form(g.actor, case_type, step) or {}
        cache[(case_type, step)] = _half(form.get("title") or step, form.get("x-title-en") or "")
    return cache[(case_type, step)]


def _history(case: Mapping[str, Any]) -> list[dict[str, str]]:
    """The last few events of the case in plain words: who, when, what."""
    events = services().cases.history(g.actor, case["id"])[-HISTORY_SHOWN:]
    return [{"who": _person_name(e.get("actor")), "when": show_time(e.get("at")), "iso": e.get("at") or "",
             "what": _event_words(case.get("type"), e.get("kind") or "", e.get("data") or {})}
            for e in reversed(events)]


EVENT_WORDS = {
    "case_created": N_("登记了案件"),
    "triaged": N_("分流到{level}调解"),
    "task_opened": N_("开始办理“{step}”"),
    "task_completed": N_("办结了“{step}”"),
    "task_claimed": N_("认领了“{step}”"),
    "task_unclaimed": N_("退回了“{step}”"),
    "task_assigned": N_("把“{step}”交给了{to}"),
    "task_cancelled": N_("取消了“{step}”"),
    "escalated": N_("升级到{to}"),
    "escalated_deadline": N_("因期限已过，升级到{to}"),
    "deadline_extended": N_("延长了期限 {days} 天，至 {to}"),
    "deadline_breached": N_("记录了超期（期限 {due}）"),
    "message_received": N_("收到消息“{name}”"),
    "owner_changed": N_("把包案领导改为{to}"),
    "subsidy_recorded": N_("记录了以案定补，共 {total}"),
    "pii_viewed": N_("查看了当事人的完整身份信息"),
    "case_closed": N_("办结了案件：{outcome}"),
    "agreement_reached": N_("记录了达成的调解协议"),
    "jurisdiction_changed": N_("把管辖单位改为{to}"),
    "transferred": N_("把案件转送到{to}"),
    "backlog_marked": N_("标记为信访积案"),
    "repeat_linked": N_("关联为重复信访（较早的是 {number}）"),
    "earlier_petitions_linked": N_("关联了同一信访人的较早信访"),
    "mediation_opened": N_("转人民调解，调解案件 {number}"),
}


def _event_words(case_type: str | None, kind: str, data: Mapping[str, Any]) -> str:
    step = _step_name(case_type, data.get("step")) if data.get("step") else ""
    fill = {"step": step, "number": data.get("number") or "", "name": data.get("name") or ""}
    if kind == "escalated":
        kind = "escalated_deadline" if data.get("reason") == "deadline" else kind
        fill["to"] = level_name(data.get("to"))
    elif kind == "triaged":
        fill["level"] = level_name(data.get("level"))
    elif kind in ("task_assigned", "owner_changed"):
        fill["to"] = _person_name(data.get("to")) or _("（无）")
    elif kind in ("jurisdiction_changed", "transferred"):
        fill["to"] = _unit_name(data.get("to"))
    elif kind == "deadline_extended":
        fill.update(days=str(data.get("days", "")), to=show_time(data.get("to")))
    elif kind == "deadline_breached":
        fill["due"] = show_time(data.get("due_at"))
    elif kind == "subsidy_recorded":
        fill["total"] = money(data.get("total_fen")) or money(0)
    elif kind == "case_closed":
        fill["outcome"] = _word(OUTCOMES, data.get("outcome")) or _("（无）")
    if kind not in EVENT_WORDS:
        return kind  # a kind these pages do not know yet: its code, rather than nothing
    return _(EVENT_WORDS[kind], **{k: v for k, v in fill.items() if "{" + k + "}" in EVENT_WORDS[kind]})
