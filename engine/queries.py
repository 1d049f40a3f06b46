"""What people and other systems read: cases, tasks, deadlines, history, in the data contract's shapes.

Visibility follows DOMAIN.md §1: a user reads the cases of their own org unit and the units
below it (the county reads all); auditors and admins read everything; anyone reads a case they
have worked on or own as leader.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterable

from sqlalchemy import String, and_, cast, exists, or_, select
from sqlalchemy.orm import Session

from .application import Actor
from .calendar import ZONE
from . import ledger, privacy
from .errors import NotFound
from .store import Case, CaseEvent, CaseLink, Deadline, HumanTask, OrgUnit, User

READ_ALL_ROLES = {"auditor", "admin"}


def iso(at: datetime | None) -> str | None:
    return at.astimezone(ZONE).isoformat() if at is not None else None


def warning_level(now: datetime, due_at: datetime | None, warn_at: datetime | None) -> str:
    if due_at is None:
        return "normal"
    if now >= due_at:
        return "overdue"
    if warn_at is not None and now >= warn_at:
        return "warning"
    return "normal"


def org_subtree(session: Session, code: str | None) -> set[str]:
    if code is None:
        return set()
    units = session.execute(select(OrgUnit.code, OrgUnit.parent)).all()
    children: dict[str | None, list[str]] = {}
    for unit_code, parent in units:
        children.setdefault(parent, []).append(unit_code)
    found, stack = set(), [code]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(children.get(current, []))
    return found


def reads_everything(session: Session, viewer: Actor) -> bool:
    if viewer.roles & READ_ALL_ROLES or "system" in viewer.roles:
        return True
    level = session.scalar(select(OrgUnit.level).where(OrgUnit.code == viewer.org_unit))
    return level == "county"


def _visibility(session: Session, viewer: Actor):
    """A SQL condition on Case for what the viewer may read, or None for everything."""
    if reads_everything(session, viewer):
        return None
    worked = exists().where(HumanTask.case_id == Case.id,
                            or_(HumanTask.assignee == viewer.username, HumanTask.completed_by == viewer.username))
    return or_(Case.jurisdiction.in_(org_subtree(session, viewer.org_unit)),
               Case.owner_leader == viewer.username, worked)


def _case_row(session: Session, case_id: int, viewer: Actor) -> Case:
    query = select(Case).where(Case.id == case_id)
    condition = _visibility(session, viewer)
    if condition is not None:
        query = query.where(condition)
    case = session.scalar(query)
    if case is None:
        raise NotFound(f"案件 {case_id} 不存在或无权查看 / case {case_id} not found")
    return case


def task_view(task: HumanTask, now: datetime, deadline: Deadline | None = None,
              form: dict | None = None, case_number: str | None = None) -> dict[str, Any]:
    view = {"id": task.id, "case_id": task.case_id, "case_number": case_number, "name": task.name,
            "title": task.title, "level": task.level, "role": task.role, "org_unit": task.org_unit,
            "assignee": task.assignee, "status": task.status, "due_at": iso(task.due_at),
            "warning_level": warning_level(now, task.due_at, deadline.warning_at if deadline else None),
            "created_at": iso(task.created_at)}
    if form is not None:
        view["form"] = form
    return view


def deadline_view(d: Deadline, now: datetime) -> dict[str, Any]:
    return {"kind": d.kind, "due_at": iso(d.due_at), "warning_level": warning_level(now, d.due_at, d.warning_at),
            "estimated": d.estimated, "started_at": iso(d.started_at)}


def case_view(session: Session, case_id: int, viewer: Actor, now: datetime, *,
              unmasked: bool = False) -> dict[str, Any]:
    """A case as the viewer may see it; `unmasked` (a handler's recorded view) shows ID numbers and phones."""
    case = _case_row(session, case_id, viewer)
    deadlines = session.scalars(select(Deadline).where(Deadline.case_id == case.id, Deadline.status == "pending")
                                .order_by(Deadline.due_at)).all()
    by_kind = {d.kind: d for d in deadlines}
    tasks = session.scalars(select(HumanTask).where(HumanTask.case_id == case.id, HumanTask.status == "ready")
                            .order_by(HumanTask.id)).all()
    task_views = [task_view(t, now, by_kind.get(t.name), case_number=case.number) for t in tasks]
    deadline_views = [deadline_view(d, now) for d in deadlines]
    return {"id": case.id, "number": case.number, "type": case.type, "status": case.status,
            "outcome": case.outcome, "level": case.level, "jurisdiction": case.jurisdiction,
            "owner_leader": case.owner_leader, "owner_since": _owner_since(session, case),
            "repeat_of": case.repeat_of, "flags": case_flags(case, now),
            "version": case.version, "data": privacy.for_viewer(case.data, viewer, case.data, unmasked=unmasked),
            "warning_level": worst_warning([v["warning_level"] for v in task_views + deadline_views]),
            "tasks": task_views,
            "deadlines": deadline_views,
            "subsidy": ledger.case_entries(session, case.id),
            "links": _links(session, case.id),
            "created_at": iso(case.created_at), "updated_at": iso(case.updated_at), "closed_at": iso(case.closed_at)}


def list_cases(session: Session, viewer: Actor, now: datetime, *, type: str | None = None, status: str | None = None,
               level: str | None = None, owner: str | None = None, overdue: bool = False, q: str | None = None,
               after: int | None = None, limit: int = 50, flag: str | None = None,
               due_within_days: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """A page of case summaries, newest first; `next` is the cursor for the following page."""
    query = select(Case).order_by(Case.id.desc()).limit(limit + 1)
    condition = _visibility(session, viewer)
    if condition is not None:
        query = query.where(condition)
    for column, value in ((Case.type, type), (Case.status, status), (Case.level, level), (Case.owner_leader, owner)):
        if value:
            query = query.where(column == value)
    if overdue:
        query = query.where(or_(exists().where(Deadline.case_id == Case.id, Deadline.status == "pending",
                                               Deadline.due_at <= now),
                                _task_due(now=now)))
    if flag:
        query = query.where(_has_flag(flag, now))
    if due_within_days:
        query = query.where(_task_due(after=now, now=now + timedelta(days=due_within_days)))
    if q:
        like = f"%{q}%"
        query = query.where(or_(Case.number.like(like), Case.jurisdiction.like(like)))
    if after:
        query = query.where(Case.id < after)
    rows = session.scalars(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"id": c.id, "number": c.number, "type": c.type, "status": c.status, "outcome": c.outcome,
              "level": c.level, "jurisdiction": c.jurisdiction, "owner_leader": c.owner_leader,
              "flags": case_flags(c, now), "version": c.version, "created_at": iso(c.created_at)} for c in rows]
    return items, (rows[-1].id if more and rows else None)


def worklist(session: Session, viewer: Actor, now: datetime, case_id: int | None = None) -> list[dict[str, Any]]:
    """The tasks the viewer may work: their roles in their unit, unassigned or assigned to them."""
    query = (select(HumanTask, Case.number).join(Case, Case.id == HumanTask.case_id)
             .where(HumanTask.status == "ready",
                    or_(HumanTask.assignee == viewer.username,
                        and_(HumanTask.assignee.is_(None), HumanTask.role.in_(list(viewer.roles)),
                             or_(HumanTask.org_unit == viewer.org_unit, HumanTask.org_unit.is_(None)))))
             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id))
    if case_id is not None:
        query = query.where(HumanTask.case_id == case_id)
    rows = session.execute(query).all()
    deadlines = _deadlines_for(session, {t.case_id for t, _ in rows})
    return [task_view(t, now, deadlines.get((t.case_id, t.name)), case_number=n) for t, n in rows]


def _deadlines_for(session: Session, case_ids: Iterable[int]) -> dict[tuple[int, str], Deadline]:
    ids = list(case_ids)
    if not ids:
        return {}
    rows = session.scalars(select(Deadline).where(Deadline.case_id.in_(ids), Deadline.status == "pending")).all()
    return {(d.case_id, d.kind): d for d in rows}


def get_task(session: Session, task_id: int, viewer: Actor, now: datetime, form: dict | None) -> dict[str, Any]:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"任务 {task_id} 不存在 / task {task_id} not found")
    case = _case_row(session, task.case_id, viewer)
    deadline = _deadlines_for(session, [task.case_id]).get((task.case_id, task.name))
    return task_view(task, now, deadline, form=form or {}, case_number=case.number)


def task_case_type(session: Session, task_id: int) -> tuple[str, str] | None:
    row = session.execute(select(Case.type, HumanTask.name).join(HumanTask, HumanTask.case_id == Case.id)
                          .where(HumanTask.id == task_id)).first()
    return (row[0], row[1]) if row else None


def case_events(session: Session, case_id: int, viewer: Actor, *, unmasked: bool = False) -> list[dict[str, Any]]:
    """The history; personal data in it is shown as in the case view (the hashes are over what is stored)."""
    case = _case_row(session, case_id, viewer)
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.seq)).all()
    return [{"seq": e.seq, "at": iso(e.at), "actor": e.actor, "kind": e.kind,
             "data": privacy.for_viewer(e.data, viewer, case.data, unmasked=unmasked),
             "prev_hash": e.prev_hash, "hash": e.hash} for e in events]


def org_units(session: Session) -> list[dict[str, Any]]:
    units = session.scalars(select(OrgUnit).order_by(OrgUnit.code)).all()
    return [{"code": u.code, "name": u.name, "level": u.level, "parent": u.parent} for u in units]


def users(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(User).where(User.active.is_(True)).order_by(User.username)).all()
    return [{"username": u.username, "display_name": u.display_name, "org_unit": u.org_unit,
             "roles": list(u.roles or []), "civil_servant": u.civil_servant} for u in rows]


# ------------------------------------------------------------------------------ petition office (信访部门)
WARNING_ORDER = ("normal", "warning", "overdue")
BACKLOG_CASE_TYPES = ("petition",)  # DOMAIN.md §3: a petition open longer than 90 days is backlog (积案)
BACKLOG_DAYS = 90


def worst_warning(levels: Iterable[str]) -> str:
    """The case's colour: the worst warning level of its open steps and pending deadlines."""
    return max(levels, key=WARNING_ORDER.index, default="normal")


def case_flags(case: Case, now: datetime, backlog_days: int = BACKLOG_DAYS) -> list[str]:
    """The stored flags, plus `backlog` for a petition open longer than the backlog period."""
    flags = list(case.flags or [])
    if ("backlog" not in flags and case.type in BACKLOG_CASE_TYPES and case.status == "open"
            and case.created_at < now - timedelta(days=backlog_days)):
        flags.append("backlog")
    return flags


def _has_flag(flag: str, now: datetime, backlog_days: int = BACKLOG_DAYS):
    # Flags are a JSON list of lowercase codes: its text holds "code" exactly when the list does.
    stored = cast(Case.flags, String).like(f'%"{flag}"%')
    if flag != "backlog":
        return stored
    return or_(stored, and_(Case.type.in_(BACKLOG_CASE_TYPES), Case.status == "open",
                            Case.created_at < now - timedelta(days=backlog_days)))


def _task_due(*, now: datetime, after: datetime | None = None):
    """An open step of the case due by `now` (and after `after`): a step whose deadline fired stays due."""
    condition = [HumanTask.case_id == Case.id, HumanTask.status == "ready", HumanTask.due_at.is_not(None),
                 HumanTask.due_at <= now]
    if after is not None:
        condition.append(HumanTask.due_at > after)
    return exists().where(*condition)


def _owner_since(session: Session, case: Case) -> str | None:
    if not case.owner_leader:
        return None
    at = session.scalar(select(CaseEvent.at).where(CaseEvent.case_id == case.id, CaseEvent.kind == "owner_changed")
                        .order_by(CaseEvent.seq.desc()).limit(1))
    return iso(at)


def _links(session: Session, case_id: int) -> list[dict[str, Any]]:
    """Cases this one opened (a petition's mediation) and the case that opened this one."""
    rows = session.execute(select(CaseLink, Case).join(Case, or_(
        and_(CaseLink.case_id == case_id, Case.id == CaseLink.linked_case_id),
        and_(CaseLink.linked_case_id == case_id, Case.id == CaseLink.case_id))).order_by(CaseLink.id)).all()
    return [{"kind": link.kind, "direction": "opened" if link.case_id == case_id else "opened_by",
             "case_id": other.id, "number": other.number, "type": other.type, "status": other.status,
             "outcome": other.outcome} for link, other in rows]


def owner_board(session: Session, viewer: Actor, now: datetime, *, due_days: int = 7,
                backlog_days: int = BACKLOG_DAYS) -> list[dict[str, Any]]:
    """Open petitions by owner leader: how many, how many with a step due within `due_days`, how many
    with a step overdue (a case may count in both), how many backlog. One row per leader (those
    without cases too) and a last row, leader None, for the petitions nobody owns yet."""
    query = select(Case).where(Case.type == "petition", Case.status == "open")
    condition = _visibility(session, viewer)
    if condition is not None:
        query = query.where(condition)
    cases = session.scalars(query).all()
    dues: dict[int, list[datetime]] = {}
    if cases:
        for case_id, due in session.execute(select(HumanTask.case_id, HumanTask.due_at).where(
                HumanTask.case_id.in_([c.id for c in cases]), HumanTask.status == "ready",
                HumanTask.due_at.is_not(None))):
            dues.setdefault(case_id, []).append(due)
    leaders = session.execute(select(User.username, User.display_name, User.roles).where(User.active.is_(True))
                              .order_by(User.username)).all()
    board = {u.username: {"leader": u.username, "display_name": u.display_name, "open": 0,
                          "due_within_7_days": 0, "overdue": 0, "backlog": 0}
             for u in leaders if "leader" in (u.roles or [])}
    unowned = {"leader": None, "display_name": "（无包案领导）/ no owner yet", "open": 0, "due_within_7_days": 0,
               "overdue": 0, "backlog": 0}
    soon = now + timedelta(days=due_days)
    for case in cases:
        row = board.setdefault(case.owner_leader, {"leader": case.owner_leader, "display_name": case.owner_leader,
                                                   "open": 0, "due_within_7_days": 0, "overdue": 0, "backlog": 0}) \
            if case.owner_leader else unowned
        row["open"] += 1
        case_dues = dues.get(case.id, [])
        row["overdue"] += any(d <= now for d in case_dues)
        row["due_within_7_days"] += any(now < d <= soon for d in case_dues)
        row["backlog"] += "backlog" in case_flags(case, now, backlog_days)
    return [*board.values(), unowned]
