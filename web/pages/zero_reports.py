"""零上报 (`/reports/zero`): a month's reports of the villages of the user's town or county — reported with
cases (their count), reported zero (who, when), or missing (overdue after the 5th of the next month) —
with a month picker, and the one-click confirmation "本月无矛盾纠纷" for a village's own mediator.

What is listed and who may confirm is the application layer's answer (`services.zero_reports`); this
module turns it into a page and the form into a command. The start page shows the same button when
the mediator's village has a month due (`due_notice`)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

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

from engine.calendar import ZONE
from engine.errors import Conflict, InvalidInput
from web.i18n import N_, _, localized

bp = Blueprint("zero_reports", __name__)

STATUS_WORDS = {"cases": (N_("已上报（有案件）"), "mark-normal", "✔"), "zero": (N_("已零上报"), "mark-normal", "✔"),
                "missing": (N_("未上报"), "mark-warning", "✖"), "overdue": (N_("逾期未报"), "mark-overdue", "✖")}


def services():
    return current_app.extensions["fengqiao"]


def shown(value: str | None) -> str:
    if not value:
        return ""
    return datetime.fromisoformat(value).astimezone(ZONE).strftime("%Y-%m-%d %H:%M")


def status_of(row: dict[str, Any]) -> dict[str, str]:
    key = "overdue" if row["overdue"] else row["status"]
    word, cls, icon = STATUS_WORDS[key]
    return {"key": key, "word": _(word), "cls": cls, "icon": icon}


@bp.get("/reports/zero")
def zero_reports_page():
    return _render(request.args.get("month") or None, request.args.get("unit") or None)


def _render(month: str | None, unit: str | None, *, error: str | None = None, status: int = 200):
    reports = services().zero_reports
    try:
        view = reports.overview(g.actor, month=month, unit=unit)
    except InvalidInput as e:  # a mistyped month or unit in the address: the default month, with the message
        view = reports.overview(g.actor)
        error, status = localized(e.message), 400
    rows = [{**r, "mark": status_of(r), "reported_at_text": shown(r["reported_at"])} for r in view["villages"]]
    towns = len({r["town"] for r in rows}) > 1
    return render_template("zero_reports/page.html", view=view, rows=rows, towns=towns, error=error,
                           missing=[r for r in rows if r["status"] == "missing"],
                           may_confirm=set(view["may_confirm"])), status


@bp.post("/reports/zero/confirm")
def confirm():
    """The one click; a refused one comes back to the month's page with the reason."""
    unit = (request.form.get("unit") or "").strip()
    month = (request.form.get("month") or "").strip()
    back = request.form.get("back") or ""
    try:
        done = services().zero_reports.confirm(g.actor, unit, month)
    except (InvalidInput, Conflict) as e:
        return _render(month if month else None, None, error=localized(e.message),
                       status=400 if isinstance(e, InvalidInput) else 409)
    flash(_("已确认：{unit} {month} 无矛盾纠纷（零上报）", unit=done["unit_name"], month=done["month"]))
    if back == "home":
        return redirect(url_for("home.index"), code=303)
    return redirect(url_for("zero_reports.zero_reports_page", month=done["month"]), code=303)


def due_notice() -> list[dict[str, Any]]:
    """The months the signed-in mediator's village still has to report (for the start page)."""
    actor = g.get("actor")
    return services().zero_reports.due(actor) if actor is not None else []
