"""The owner leader's page (`/leader`, 我包案的事项): the morning digest as it stands now, the cases the
leader owns with their stage, next step and days left, and their progress report (报告化解进展)
recorded right there, or on the step's own page (`/tasks/<id>`).

What is listed, and whether the report may be recorded, is the application layer's answer
(`services.leader`, `services.tasks`); this module turns it into a page and a form into a command.
"""
from __future__ import annotations

from collections.abc import Mapping
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

from engine.errors import Conflict, InvalidInput
from web.i18n import _, localized

from .case_words import DEADLINE_WORDS, say, when, word
from .petitions import flag_words, stage_word
from .tasks import due_words, mark, step_title

bp = Blueprint("leader", __name__)

MAX_NOTES = 4000


def services():
    return current_app.extensions["fengqiao"]


def days_left_words(days: int | None) -> str:
    if days is None:
        return _("无期限")
    if days > 0:
        return _("还剩 {n} 天", n=days)
    if days == 0:
        return _("今天到期")
    return _("已逾期 {n} 天", n=-days)


def _page_number() -> int:
    text = request.args.get("page", "")
    return int(text) if text.isdigit() and 1 <= int(text) <= 100000 else 1


@bp.get("/leader")
def leader_page():
    return _render()


def _render(*, report_values: Mapping[int, str] | None = None, report_errors: Mapping[int, str] | None = None,
            status: int = 200):
    leader = services().leader
    owned = leader.owned(g.actor, page=_page_number())  # not a leader: the 403 page
    if owned["page"] > owned["pages"]:
        owned = leader.owned(g.actor, page=owned["pages"])
    digest = leader.digest(g.actor)
    now = leader.now()
    rows = [_row(c, now) for c in owned["items"]]
    pager = {"page": owned["page"], "pages": owned["pages"],
             "previous": url_for("leader.leader_page", page=owned["page"] - 1) if owned["page"] > 1 else None,
             "next": url_for("leader.leader_page", page=owned["page"] + 1) if owned["page"] < owned["pages"] else None}
    return render_template(
        "leader/page.html", rows=rows, total=owned["total"], pager=pager, as_of=when(owned["as_of"]),
        digest=_digest(digest), report_values=report_values or {}, report_errors=report_errors or {},
        here=request.full_path.rstrip("?")), status


def _row(c: Mapping[str, Any], now) -> dict[str, Any]:
    steps = c.get("next_steps") or []
    first = steps[0] if steps else None
    return {"id": c["id"], "number": c["number"], "version": c.get("version"), "flags": flag_words(c.get("flags")),
            "stage": stage_word(c.get("stage"), c.get("status")), "unit": c.get("jurisdiction_name") or "",
            "steps": [{"title": step_title(s), "mark": mark(s.get("warning_level")),
                       "due": due_words(s.get("due_at"), now)} for s in steps],
            "next": step_title(first) if first else _("无"),
            "days_left": days_left_words(c.get("days_left")), "mark": mark(c.get("warning_level")),
            "report_task_id": c.get("report_task_id")}


def _digest(found: Mapping[str, Any]) -> dict[str, Any]:
    def item(entry: Mapping[str, Any]) -> dict[str, Any]:
        step = entry.get("step")
        return {"case_id": entry["case_id"], "number": entry.get("case_number") or "",
                "step": word(DEADLINE_WORDS, step) if step else "", "due": when(entry.get("due_at")),
                "days_open": entry.get("days_open")}
    return {"date": found["date"], "due_days": found["due_days"], "backlog_days": found["backlog_days"],
            "counts": {k: found[f"{k}_count"] for k in ("overdue", "due_soon", "backlog")},
            "overdue": [item(e) for e in found["overdue"]], "due_soon": [item(e) for e in found["due_soon"]],
            "backlog": [item(e) for e in found["backlog"]]}


@bp.post("/leader/reports/<id:task_id>")
def report(task_id: int):
    """Record the progress report from the leader's page; a refused one comes back with the text kept."""
    tasks = services().tasks
    task = tasks.get(g.actor, task_id)  # a task one may not see: the 404 page, as for a missing one
    notes = (request.form.get("notes") or "").strip()
    version_text = (request.form.get("version") or "").strip()
    version = int(version_text) if version_text.isdigit() else None
    if not notes:
        return _render(report_values={task_id: notes}, report_errors={task_id: _("请填写化解进展")}, status=400)
    if len(notes) > MAX_NOTES:
        return _render(report_values={task_id: notes}, report_errors={task_id: _("化解进展不超过 4000 字")},
                       status=400)
    try:
        view = tasks.complete(g.actor, task_id, {"notes": notes}, version)
    except InvalidInput as e:
        message = next(iter((e.fields or {}).values()), None) or e.message
        return _render(report_values={task_id: notes}, report_errors={task_id: say(message)}, status=400)
    except Conflict as e:
        return _render(report_values={task_id: notes}, report_errors={task_id: localized(e.message)}, status=409)
    flash(_("已报告化解进展：{number}", number=view.get("number") or task.get("case_number") or ""))
    return redirect(url_for("leader.leader_page"), code=303)
