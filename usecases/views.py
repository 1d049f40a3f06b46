"""Read models in the data contract's shapes (DOMAIN.md §7): cases, tasks, deadlines, histories.

These functions only shape rows; what a user may read, and what of it, is decided by the use cases
(`cases.py`, `tasks.py`) with the authorization table before they are called.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable, Mapping

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from engine import history, ledger, privacy
from engine.application import ProcessApplication
from engine.audit import prev_hashes
from engine.calendar import iso
from engine.store import Case, CaseEvent, CaseLink, Deadline, Definition, HumanTask

WARNING_ORDER = ("normal", "warning", "overdue")


def warning_level(now: datetime, due_at: datetime | None, warn_at: datetime | None) -> str:
    if due_at is None:
        return "normal"
    if now >= due_at:
        return "overdue"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "normal"


def worst_warning(levels: Iterable[str]) -> str:
    """The case's colour: the worst warning level of its open steps and pending deadlines."""
    return max(levels, key=WARNING_ORDER.index, default="normal")


def split_title(title: str, form: Mapping[str, Any] | None = None, english: str | None = None) -> tuple[str, str]:
    """(Chinese, English) of a step title written "中文 / English" in the BPMN file, else with the
    case type's English for it, else its form's."""
    zh, sep, en = (title or "").partition(" / ")
    if not sep:
        en = english or (form or {}).get("x-title-en") or ""
    return zh.strip(), (en.strip() or zh.strip())


def task_view(task: HumanTask, now: datetime, deadline: Deadline | None = None,
              form: dict | None = None, case_number: str | None = None, titles: dict | None = None,
              app: ProcessApplication | None = None) -> dict[str, Any]:
    """A task in the contract's shape; its title "中文 / English" (the English from the case type or
    the form when the BPMN file names the step in Chinese only). `titles`: the step's form, when
    `form` is not shown."""
    english = app.english_title(task.name, task.title) if app is not None else None
    title_zh, title_en = split_title(task.title, form or titles, english)
    title = task.title if " / " in (task.title or "") or title_en == title_zh else f"{title_zh} / {title_en}"
    view = {"id": task.id, "case_id": task.case_id, "case_number": case_number, "name": task.name,
            "title": title, "title_zh": title_zh, "title_en": title_en, "level": task.level,
            "role": task.role, "org_unit": task.org_unit, "assignee": task.assignee, "status": task.status,
            "due_at": iso(task.due_at),
            "warning_level": warning_level(now, task.due_at, deadline.warning_at if deadline else None),
            "created_at": iso(task.created_at)}
    if form is not None:
        view["form"] = form
    return view


def deadline_view(d: Deadline, now: datetime) -> dict[str, Any]:
    return {"kind": d.kind, "due_at": iso(d.due_at), "warning_level": warning_level(now, d.due_at, d.warning_at),
            "estimated": d.estimated, "started_at": iso(d.started_at)}


def case_flags(app: ProcessApplication, case: Any, now: datetime) -> list[str]:
    """The stored flags, plus those the case type derives (a petition open long enough is backlog)."""
    flags = list(case.flags or [])
    return flags + [f for f in app.derived_flags(case, now) if f not in flags]


class Privacy:
    """What of a case's personal data one viewer sees: nothing of who the parties are (for a unit
    they are withheld from), masked ID numbers and phones (everyone), or everything (a handler's
    recorded look)."""

    def __init__(self, app: ProcessApplication, *, withheld: bool, unmasked: bool):
        self.app, self.withheld, self.unmasked = app, withheld, unmasked

    def __call__(self, data: Any) -> Any:
        if self.withheld:
            return privacy.without_identity(data, self.app.identity_keys, self.app.confidential_note)
        return data if self.unmasked else privacy.masked(data)


def case_view(session: Session, case: Case, app: ProcessApplication, now: datetime, shown: Privacy) -> dict[str, Any]:
    deadlines = session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.status == "pending")
                                .order_by(Deadline.due_at)).all()
    by_kind = {d.kind: d for d in deadlines}
    tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.status == "ready")
                            .order_by(HumanTask.id)).all()
    task_views = [task_view(t, now, by_kind.get(t.name), case_number=case.number, titles=app.form_schema(t.name),
                            app=app) for t in tasks]
    deadline_views = [deadline_view(d, now) for d in deadlines]
    version = session.scalar(select(Definition.version).where(Definition.id == case.definition_id))
    return {"id": case.id, "number": case.number, "type": case.type, "status": case.status,
            "outcome": case.outcome, "level": case.level, "jurisdiction": case.jurisdiction,
            "owner_leader": case.owner, "owner_since": _owner_since(session, case),
            "repeat_of": case.repeat_of, "flags": case_flags(app, case, now),
            "version": case.version, "definition_version": version, "registered_by": case.registered_by,
            "data": shown(case.data),
            "identity_withheld": shown.withheld,
            "warning_level": worst_warning([v["warning_level"] for v in task_views + deadline_views]),
            "tasks": task_views,
            "deadlines": deadline_views,
            "subsidy": ledger.case_entries(session, case.id),
            "links": links(session, case.id),
            "created_at": iso(case.created_at), "updated_at": iso(case.updated_at), "closed_at": iso(case.closed_at)}


def case_summary(app: ProcessApplication, c: Case, now: datetime) -> dict[str, Any]:
    return {"id": c.id, "number": c.number, "type": c.type, "status": c.status, "outcome": c.outcome,
            "level": c.level, "jurisdiction": c.jurisdiction, "owner_leader": c.owner,
            "flags": case_flags(app, c, now), "version": c.version, "created_at": iso(c.created_at)}


def events(session: Session, case_id: int, shown: Privacy) -> list[dict[str, Any]]:
    """The history; personal data in it is shown as in the case view (the hashes are over what is stored)."""
    rows = history.case_events(session, case_id)
    chained_to = prev_hashes(rows)
    return [{"seq": e.seq, "at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": shown(e.data),
             "prev_hash": chained_to[e.seq], "hash": e.hash} for e in rows]


def _owner_since(session: Session, case: Case) -> str | None:
    if not case.owner:
        return None
    at = session.scalar(select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.kind == "owner_changed")
                        .order_by(CaseEvent.seq.desc()).limit(1))
    return iso(at)


def links(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Cases this one opened (a petition's mediation) and the case that opened this one."""
    rows = session.execute(select(CaseLink, Case).join(Case, or_(
        and_(CaseLink.case_id == case_id, Case.id == CaseLink.linked_case_id),
        and_(CaseLink.linked_case_id == case_id, Case.id == CaseLink.case_id))).order_by(CaseLink.id)).all()
    return [{"kind": link.kind, "direction": "opened" if link.case_id == case_id else "opened_by",
             "case_id": other.id, "number": other.number, "type": other.type, "status": other.status,
             "outcome": other.outcome} for link, other in rows]


def pending_deadlines(session: Session, case_ids: Iterable[int]) -> dict[tuple[int, str], Deadline]:
    ids = list(case_ids)
    if not ids:
        return {}
    rows = session.scalars(select(Deadline).where(Deadline.case_id.in_(ids), Deadline.status == "pending")).all()
    return {(d.case_id, d.kind): d for d in rows}
