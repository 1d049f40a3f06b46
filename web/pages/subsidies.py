"""Subsidy review (`/subsidies`, 以案定补): the entries waiting for the justice office with the case
file beside the one opened; review, approve, reject with a reason, reverse after a spot check; the
quarter's payment batch (`/subsidies/batch`), printable. A mediator sees their own entries.

Every read and command is one call of `services.subsidies` (or `services.cases.get` for the case
file, masked as the case page is); whether the user may do a thing is its answer (403, 404, 409),
never decided here. Forms are plain POSTs that come back here; a refused one keeps what was typed.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from engine.errors import Conflict, InvalidInput, NotFound
from usecases.base import MAX_ID
from web.i18n import N_, _

from .case_words import (
    DIFFICULTY_WORDS,
    LEVEL_WORDS,
    SUBSIDY_STATUS_WORDS,
    Names,
    describe,
    form_schema,
    say,
    services,
    when,
    word,
    yuan,
)
from .cases import checklist_rows, party_rows, status_rows, subsidy_rows

bp = Blueprint("subsidies", __name__)

PAGE = 50
TABS = (("accrued", N_("待审核")), ("reviewed", N_("待批准")), ("approved", N_("已批准")),
        ("paid", N_("已发放")), ("rejected", N_("已驳回")), ("all", N_("全部")))
ACTIONS = {  # action: (use case method, the field it reads, whether it must be filled, button, done)
    "review": ("review", "note", False, N_("审核通过"), N_("已审核")),
    "approve": ("approve", "note", False, N_("批准"), N_("已批准")),
    "reject": ("reject", "reason", True, N_("驳回"), N_("已驳回")),
    "reverse": ("reverse", "reason", True, N_("冲销"), N_("已冲销")),
}
def _int(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        abort(404)
    return int(value)


def entry_rows(items: list[dict], names: Names, numbers: Mapping[int, str]) -> list[dict[str, Any]]:
    return [{"id": e["id"], "case_id": e["case_id"], "number": numbers.get(e["case_id"], str(e["case_id"])),
             "mediator": names.person(e.get("mediator")) or _("（无）"),
             "grade": " · ".join(w for w in (word(LEVEL_WORDS, e.get("level")),
                                             word(DIFFICULTY_WORDS, e.get("difficulty"))) if w),
             "amount": yuan(e.get("amount_fen")), "status": e.get("status"),
             "status_word": word(SUBSIDY_STATUS_WORDS, e.get("status")),
             "reason": say(e.get("reason") or ""), "status_reason": say(e.get("status_reason") or ""),
             "reverses": e.get("reverses"), "is_reversal": e.get("kind") == "reversal",
             "batch": e.get("batch") or "", "quarter": e.get("quarter"),
             "at": when(e.get("status_at"))} for e in items]


def case_file(case_id: int, names: Names) -> dict[str, Any] | None:
    """The case beside the entry: summary, level, the agreement, the checklist, the follow-up, the
    people (masked as on the case page), and every entry of its subsidy with its reversals."""
    try:
        view = services().cases.get(g.actor, case_id)
    except NotFound:
        return None
    data = view.get("data") or {}
    register = form_schema(view["type"], "register") or {}
    mediate = form_schema(view["type"], "mediate") or {}
    followup = form_schema(view["type"], "followup") or {}
    return {
        "view": view, "status": status_rows(view, names),
        "matter": describe(register, {k: data[k] for k in ("category", "summary") if k in data}, names),
        "agreement": describe(mediate, {k: data[k] for k in ("result", "agreement_form", "difficulty",
                                                             "agreement_text") if k in data}, names),
        "followup": describe(followup, {k: data[k] for k in ("performance", "satisfaction", "notes") if k in data},
                             names),
        "checklist": checklist_rows(view), "missing_reason": data.get("missing_reason"),
        "parties": party_rows(view["type"], view, names), "subsidy": subsidy_rows(view, names),
    }


def _list_page(*, entry_id: int | None = None, form_state: dict | None = None, status_code: int = 200):
    subsidies = services().subsidies
    queue = subsidies.queue_status(g.actor)
    tab = request.args.get("status") or (queue or "all")
    if tab not in dict(TABS):
        abort(404)
    after = _int(request.args.get("after"))
    items, next_id = subsidies.list(g.actor, status=None if tab == "all" else tab, after=after, limit=PAGE)
    names = Names.load(g.actor)
    chosen, chosen_case = None, None
    if entry_id is not None:
        chosen = subsidies.entry(g.actor, entry_id)  # missing, or not the reader's: the same 404
        chosen_case = case_file(chosen["case_id"], names)
    numbers = subsidies.entry_case_numbers([e["case_id"] for e in items] + ([chosen["case_id"]] if chosen else []))
    chosen_row = entry_rows([chosen], names, numbers)[0] if chosen else None
    actions = [(key, ACTIONS[key]) for key in chosen["may"]] if chosen else []
    return render_template("subsidies/list.html", tabs=TABS, tab=tab, queue=queue,
                           rows=entry_rows(items, names, numbers), next_id=next_id, after=after,
                           chosen=chosen_row, case=chosen_case, actions=actions,
                           form_state=form_state or {}, may_batch=subsidies.may_batch(g.actor)), status_code


@bp.get("/subsidies")
def subsidy_list():
    return _list_page(entry_id=_int(request.args.get("entry")))


@bp.post("/subsidies/<id:entry_id>/<action>")
def act(entry_id: int, action: str):
    if action not in ACTIONS:
        abort(404)
    method, field, _required, _button, done = ACTIONS[action]
    typed = request.form.get(field, "")
    try:
        getattr(services().subsidies, method)(g.actor, entry_id, typed)
    except InvalidInput as problem:
        message = say(problem.fields.get("reason") or problem.message)
        return _list_page(entry_id=entry_id, form_state={"action": action, "value": typed, "error": message,
                                                         "summary": say(problem.message)}, status_code=400)
    except Conflict as problem:
        return _list_page(entry_id=entry_id, form_state={"action": action, "value": typed, "error": "",
                                                         "summary": say(problem.message)}, status_code=409)
    flash(_("第 {id} 号补贴记录{done}。", id=entry_id, done=_(done)))
    back = {"entry": entry_id}
    if request.form.get("status"):
        back["status"] = request.form["status"]
    return redirect(url_for("subsidies.subsidy_list", **back), 303)


# --- the quarter's payment batch --------------------------------------------------------------
def _batch_page(quarter: str | None, *, message: str = "", status_code: int = 200):
    info = services().subsidies.batch_info(g.actor, quarter)
    names = Names.load(g.actor)
    batch = info["batch"]
    rows = []
    if batch is not None:
        numbers = services().subsidies.entry_case_numbers([e["case_id"] for e in batch.entries])
        rows = entry_rows(batch.entries, names, numbers)
    return render_template("subsidies/batch.html", info=info, quarter=info["quarter"], batch=batch, rows=rows,
                           total=yuan(batch.total_fen) if batch else "",
                           made_at=when(batch.created_at.isoformat()) if batch else "",
                           made_by=names.person(batch.created_by) if batch else "",
                           ends=when(info["ends_at"].isoformat(), date_only=True), message=message,
                           payable_total=yuan(info["payable"]["total_fen"]) if info["payable"] else ""), status_code


@bp.get("/subsidies/batch")
def batch_page():
    quarter = (request.args.get("quarter") or "").strip() or None
    try:
        return _batch_page(quarter)
    except InvalidInput as problem:
        return _batch_page(None, message=say(problem.message), status_code=400)


@bp.post("/subsidies/batch")
def make_batch():
    quarter = (request.form.get("quarter") or "").strip()
    try:
        batch = services().subsidies.batch(g.actor, quarter or None)
    except InvalidInput as problem:
        return _batch_page(None, message=say(problem.message), status_code=400)
    except Conflict as problem:
        return _batch_page(quarter, message=say(problem.message), status_code=409)
    if batch.created:
        flash(_("{quarter} 发放批次已生成：{count} 条，合计 {total}。", quarter=batch.key, count=len(batch.entries),
                total=yuan(batch.total_fen)))
    else:
        flash(_("{quarter} 的发放批次此前已生成，以下为该批次。", quarter=batch.key))
    return redirect(url_for("subsidies.batch_page", quarter=batch.key), 303)
