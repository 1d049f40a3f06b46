"""The petition office's pages: the board (`/petitions/board`, 信访工作台), the petitions behind each of
its figures (`/petitions`), and naming or changing a petition's owner leader with the reason
(`/petitions/<id>/owner`).

Every figure and list is the application layer's answer (`services.petitions`): the board counts,
the list shows exactly what a figure counts (the same conditions), and who may change an owner is
each row's `may_set_owner`. This module turns query strings into filters and answers into pages.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.errors import Conflict, InvalidInput
from usecases.authorization import REFUSALS
from usecases.base import MAX_ID
from web.i18n import N_, _, localized
from web.security import safe_next

from . import error_page
from .case_words import FLAG_WORDS, TYPE_WORDS, say, when, word
from .tasks import due_words, mark, step_title

bp = Blueprint("petitions", __name__)

PAGE = 50
NEEDS_OWNER_SHOWN = 10
MAX_REASON = 2000

STAGE_WORDS = {"acceptance": N_("待作出受理决定"), "mediation": N_("转人民调解中"),
               "leader_assignment": N_("待指定包案领导"), "handling": N_("办理中"),
               "review_window": N_("复查申请期内"), "review": N_("复查中"),
               "rereview_window": N_("复核申请期内"), "rereview": N_("复核中"), "closed": N_("已结案")}
ACTION_WORDS = {"interview": N_("约谈"), "circular": N_("通报"), "listed": N_("挂牌督办")}
# The board's figures: (query parameter and its value, the use case's measure, the column heading).
MEASURES = (("", "open", N_("在办")), ("due_within=7", "due_within_7_days", N_("7 天内到期")),
            ("overdue=1", "overdue", N_("已逾期")), ("backlog=1", "backlog", N_("积案")))
NEEDS_OWNER = ("needs_owner=1", "needs_owner", N_("须指定包案领导"))
# The board's filters: query parameter → flag code.
FLAG_FILTERS = (("repeat", "repeat", N_("重复信访")), ("group", "group", N_("群体事项")),
                ("final", "final_matter", N_("已终结事项")))


def services():
    return current_app.extensions["fengqiao"]


def stage_word(stage: Any, status: Any = None) -> str:
    if stage in STAGE_WORDS:
        return _(STAGE_WORDS[stage])
    return _("已结案") if status == "closed" else (_("办理中") if status == "open" else str(stage or ""))


def flag_words(flags) -> list[str]:
    return [word(FLAG_WORDS, f) for f in flags or []]




# --- the filters ---------------------------------------------------------------------------------
def chosen_filters() -> dict[str, Any]:
    """The board's filters from the query string: flags by their checkboxes, the unit by its code.
    An unknown unit is refused by the use case (400 page); an unknown parameter is ignored."""
    flags = [code for param, code, _title in FLAG_FILTERS if request.args.get(param) == "1"]
    unit = (request.args.get("unit") or "").strip()[:64] or None
    return {"flags": flags, "unit": unit}


def filter_query(filters: Mapping[str, Any]) -> dict[str, str]:
    """The filters as query parameters again (for every link the board draws)."""
    query = {param: "1" for param, code, _t in FLAG_FILTERS if code in filters["flags"]}
    if filters.get("unit"):
        query["unit"] = filters["unit"]
    return query


def list_link(owner: str | None, measure_param: str, filters: Mapping[str, Any]) -> str:
    query = {"owner": owner or "none"}
    if measure_param:
        key, value = measure_param.split("=")
        query[key] = value
    query.update(filter_query(filters))
    return url_for("petitions.petition_list") + "?" + urlencode(query)


def unit_choices() -> list[tuple[str, str]]:
    from . import lookups
    units = lookups.org_units()
    names = {u["code"]: u["name"] for u in units}
    order = {"county": 0, "town": 1, "village": 2}
    shown = []
    for u in sorted(units, key=lambda u: (order.get(u["level"], 3), u["code"])):
        parent = names.get(u.get("parent") or "")
        label = f"{parent} · {u['name']}" if u["level"] == "village" and parent else u["name"]
        shown.append((u["code"], label))
    return shown


# --- the board -------------------------------------------------------------------------------------
@bp.get("/petitions/board")
def board():
    filters = chosen_filters()
    petitions = services().petitions
    found = petitions.board(g.actor, flags=filters["flags"], unit=filters["unit"])
    rows = []
    for item in found["items"]:
        leader = item["leader"]
        name = _("（无包案领导）") if leader is None else (item.get("display_name") or leader)
        cells = [{"count": item[measure], "title": _(title), "href": list_link(leader, param, filters)}
                 for param, measure, title in MEASURES]
        needs = None
        if leader is None:
            param, _measure, title = NEEDS_OWNER
            needs = {"count": item.get("needs_owner", 0), "title": _(title), "href": list_link(None, param, filters)}
        rows.append({"leader": leader, "name": name, "username": leader or "", "cells": cells, "needs": needs})
    needing, _next = petitions.board_cases(g.actor, unowned=True, measure="needs_owner", flags=filters["flags"],
                                           unit=filters["unit"], limit=NEEDS_OWNER_SHOWN)
    supervision = petitions.supervision(g.actor, unit=filters["unit"])
    now = petitions.now()
    here = request.full_path.rstrip("?")
    return render_template(
        "petitions/board.html", rows=rows, headings=[_(t) for _p, _m, t in MEASURES], as_of=when(found["as_of"]),
        flag_filters=[(param, _(title), code in filters["flags"]) for param, code, title in FLAG_FILTERS],
        units=unit_choices(), chosen_unit=filters["unit"] or "", filtered=bool(filters["flags"] or filters["unit"]),
        needing=[_petition_row(c, now) for c in needing], needing_total=rows[-1]["needs"]["count"] if rows else 0,
        needing_link=list_link(None, NEEDS_OWNER[0], filters),
        leaders=_leader_choices(), here=here,
        supervision_open=[_supervision_row(t, now) for t in supervision["open"]],
        supervision_done=[_supervision_row(t, now) for t in supervision["done"]])


def _supervision_row(task: Mapping[str, Any], now) -> dict[str, Any]:
    return {"id": task["id"], "case_id": task["case_id"], "number": task.get("case_number") or "",
            "title": step_title(task), "unit": task.get("org_unit_name") or task.get("org_unit") or "",
            "due": due_words(task.get("due_at"), now), "mark": mark(task.get("warning_level")),
            "action": word(ACTION_WORDS, task.get("action")), "notes": task.get("notes") or "",
            "by": task.get("completed_by") or "", "at": when(task.get("completed_at"))}


def _leader_choices() -> list[tuple[str, str]]:
    return [(u["username"], u["display_name"] if u["display_name"] == u["username"]
             else f"{u['display_name']}（{u['username']}）") for u in services().petitions.leaders(g.actor)]


# --- the petitions behind a figure ---------------------------------------------------------------
def _measure_from_query() -> tuple[str, str]:
    """(measure, its words) from the list's query string; the first one given counts."""
    for param, measure, title in (*MEASURES[1:], NEEDS_OWNER):
        key, value = param.split("=")
        if request.args.get(key) == value:
            return measure, _(title)
    return "open", _("在办")


@bp.get("/petitions")
def petition_list():
    filters = chosen_filters()
    measure, measure_words = _measure_from_query()
    owner = (request.args.get("owner") or "").strip()[:64] or None
    after_text = request.args.get("after", "")
    after = int(after_text) if after_text.isdigit() and 1 <= int(after_text) <= MAX_ID else None
    petitions = services().petitions
    items, next_id = petitions.board_cases(g.actor, owner=None if owner == "none" else owner,
                                           unowned=owner == "none", measure=measure, flags=filters["flags"],
                                           unit=filters["unit"], after=after, limit=PAGE)
    total = _figure(petitions, owner, measure, filters)
    now = petitions.now()
    leaders = dict(_leader_choices())
    said = [measure_words]
    if owner == "none":
        said.insert(0, _("无包案领导"))
    elif owner:
        said.insert(0, _("{name}包案", name=leaders.get(owner, owner)))
    said += [_(title) for param, code, title in FLAG_FILTERS if code in filters["flags"]]
    if filters["unit"]:
        said.append(dict(unit_choices()).get(filters["unit"], filters["unit"]))
    query = request.args.to_dict()
    query.pop("after", None)
    next_link = (url_for("petitions.petition_list") + "?" + urlencode({**query, "after": str(next_id)})
                 if next_id else None)
    return render_template("petitions/list.html", rows=[_petition_row(c, now) for c in items], total=total,
                           said=" · ".join(s for s in said if s), next_link=next_link, first_page=after is None,
                           first_link=url_for("petitions.petition_list") + ("?" + urlencode(query) if query else ""),
                           board_link=url_for("petitions.board") + (
                               "?" + urlencode(filter_query(filters)) if filter_query(filters) else ""),
                           leaders=list(leaders.items()), here=request.full_path.rstrip("?"))


def _figure(petitions, owner: str | None, measure: str, filters) -> int | None:
    """The board's figure the list is behind (what the board counts for that owner and measure)."""
    found = petitions.board(g.actor, flags=filters["flags"], unit=filters["unit"])
    for row in found["items"]:
        if (row["leader"] is None and owner == "none") or (owner and row["leader"] == owner):
            return row.get(measure)
    if owner is None:
        return sum(row.get(measure) or 0 for row in found["items"])
    return 0


def _petition_row(c: Mapping[str, Any], now) -> dict[str, Any]:
    steps = c.get("next_steps") or []
    first = steps[0] if steps else None
    parties = c.get("parties")
    return {"id": c["id"], "number": c["number"], "kind": word(TYPE_WORDS, c.get("type")),
            "parties": "、".join(parties) if parties else "", "withheld": parties is None,
            "flags": flag_words(c.get("flags")), "stage": stage_word(c.get("stage"), c.get("status")),
            "unit": c.get("jurisdiction_name") or c.get("jurisdiction") or "",
            "owner": c.get("owner_name") or "", "has_owner": bool(c.get("owner_leader")),
            "owner_username": c.get("owner_leader") or "",
            "next": step_title(first) if first else "", "due": due_words(first.get("due_at") if first else None, now),
            "mark": mark(first.get("warning_level") if first else None),
            "may_set_owner": bool(c.get("may_set_owner"))}


# --- naming the owner --------------------------------------------------------------------------------
@bp.route("/petitions/<id:case_id>/owner", methods=["GET", "POST"])
def owner(case_id: int):
    view = services().cases.get(g.actor, case_id)  # a case one may not read: the 404 page
    may = (view.get("may") or {}).get("set_owner")
    back = safe_next(request.values.get("next"), default=url_for("petitions.board"))
    if not may:
        return error_page(403, localized(REFUSALS["case.set_owner"]))
    if request.method == "GET":
        return _owner_form(view, back, {"leader": view.get("owner_leader") or "", "reason": ""}, {})
    values = {"leader": (request.form.get("leader") or "").strip(), "reason": (request.form.get("reason") or "").strip()}
    errors = {}
    if not values["leader"]:
        errors["leader"] = _("请选择包案领导")
    if not values["reason"]:
        errors["reason"] = _("请写明指定或更换包案领导的理由")
    elif len(values["reason"]) > MAX_REASON:
        errors["reason"] = _("理由不超过 2000 字")
    if not errors and values["leader"] == view.get("owner_leader"):
        errors["leader"] = _("此事项已由这位领导包案，请选择另一位领导")
    if errors:
        return _owner_form(view, back, values, errors, status=400)
    try:
        after = services().cases.set_owner(g.actor, case_id, values["leader"], values["reason"])
    except InvalidInput as e:
        fields = {k: say(v) for k, v in (e.fields or {}).items()} or {"_": say(e.message)}
        return _owner_form(view, back, values, fields, status=400)
    except Conflict as e:
        return _owner_form(services().cases.get(g.actor, case_id), back, values, {"_": localized(e.message)},
                           status=409)
    leaders = dict(_leader_choices())
    flash(_("已指定包案领导：{number} 由{name}包案。", number=after.get("number") or view.get("number") or "",
            name=leaders.get(values["leader"], values["leader"])))
    return redirect(back, code=303)


def _owner_form(view: Mapping[str, Any], back: str, values: Mapping[str, str], errors: Mapping[str, str],
                status: int = 200):
    leaders = _leader_choices()
    names = dict(leaders)
    titles = {"leader": _("包案领导"), "reason": _("理由")}
    summary = [(f"owner-{k}" if k in titles else "", titles.get(k, ""), v) for k, v in errors.items()]
    return render_template("petitions/owner.html", case=view, leaders=leaders, values=values, errors=errors,
                           error_summary=summary, back=back,
                           current=names.get(view.get("owner_leader") or "", view.get("owner_leader") or ""),
                           flags=flag_words(view.get("flags")),
                           stage=stage_word((view.get("data") or {}).get("stage"), view.get("status"))), status
