"""Use cases of the petition office: its list of petitions, the owner board (领导包案), the petitions
behind each of the board's figures, the supervision (督办) tasks, and the leaders one may name."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from engine import history
from engine.application import Actor
from engine.calendar import iso
from engine.errors import InvalidInput
from engine.store import Case, HumanTask, User
from workflows import petition_board

from . import authorization as authz
from . import views
from .base import UseCases, check_id
from .relations import (
    OrgTree,
    case_relations,
    reach_keys,
    readable_case_units,
    readable_cases_sql,
)

SUPERVISION_SHOWN = 50


def check_flags(flags: Iterable[Any] | None) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(f for f in (flags or ()) if f))
    wrong = [f for f in found if f not in petition_board.FLAGS]
    if wrong:
        allowed = ", ".join(petition_board.FLAGS)
        raise InvalidInput(f"标记应为 {'、'.join(petition_board.FLAGS)} 之一 / flags must be among {allowed}",
                           fields={"flag": f"应为 {' | '.join(petition_board.FLAGS)} / one of {allowed}"})
    return found


def units_at(tree: OrgTree, unit: Any) -> list[str] | None:
    """A unit and the units under it (None: no unit asked for); an unknown unit is refused."""
    if unit in (None, ""):
        return None
    if not isinstance(unit, str) or unit not in tree.units:
        raise InvalidInput(f"未知的单位“{unit}” / unknown org unit {unit!r}", fields={"unit": "未知的单位 / unknown unit"})
    return [unit, *tree.below(unit)]


class Petitions(UseCases):
    def __init__(self, system, cases):
        super().__init__(system)
        self.cases = cases

    def list(self, actor: Actor, **filters: Any):
        """Petitions the actor may read, filtered by owner, flag, status, overdue, due within N days."""
        return self.cases.search(actor, type="petition", **filters)

    # ------------------------------------------------------------------ the board
    def _rules(self) -> tuple[str, int, int]:
        app = self.app("petition")
        return app.owner_role, 7, app.rules.backlog_days

    def board(self, actor: Actor, *, flags: Iterable[Any] | None = None, unit: Any = None) -> dict[str, Any]:
        """Per owner leader, the open petitions the actor may read (with every flag of `flags`, held by
        `unit` or a unit under it): how many, due within 7 days, overdue, backlog; and a row for those
        nobody owns yet, with how many of them need an owner. From the kept counts, the open
        petitions' index ranges and the actor's kept rows outside its units
        (petition_board.kept_board), whatever the number of cases."""
        authz.require("petitions.board", actor, {authz.IN_UNIT})
        flags = check_flags(flags)
        now = self.now()
        owner_role, due_days, backlog_days = self._rules()
        with self.db.read() as session:
            tree = OrgTree.load(session)
            units = units_at(tree, unit)
            parts = readable_case_units(tree, actor)
            readable, others = (None, []) if parts is None else parts
            # The petitions of the actor's units from the kept counts and the open petitions' index
            # ranges; those outside them it reads otherwise (registered, owns, its steps: a town's
            # office, a leader) from its kept rows outside its units (workflows/board_reach.py):
            # whatever the number of cases or of the actor's old steps.
            items = petition_board.kept_board(session, now, readable=readable, others=others,
                                              roots=(unit, actor.org_unit), below=tree.below,
                                              owner_role=owner_role, due_days=due_days,
                                              backlog_days=backlog_days, flags=flags, units=units,
                                              reach=reach_keys(actor))
        return {"items": items, "as_of": iso(now), "flags": list(flags), "unit": unit or None}

    def board_cases(self, actor: Actor, *, owner: Any = None, unowned: bool = False, measure: Any = "open",
                    flags: Iterable[Any] | None = None, unit: Any = None, after: int | None = None,
                    limit: int = 50) -> tuple[list[dict[str, Any]], int | None]:
        """The petitions behind one figure of the board, by the board's own conditions: of `owner` (or
        `unowned`), `measure` one of open, due_within_7_days, overdue, backlog, needs_owner; newest
        first, a page of `limit` after the case id `after`. Each with its flags, stage, unit, the
        petitioners' names (none for the unit complained about), its next step and whether the actor
        may change its owner."""
        authz.require("petitions.board", actor, {authz.IN_UNIT})
        if measure not in petition_board.MEASURES:
            raise InvalidInput("未知的统计项 / unknown figure of the board", fields={"measure": "未知 / unknown"})
        if owner is not None and (not isinstance(owner, str) or len(owner) > 64):
            raise InvalidInput("owner 应为用户名 / owner must be a username", fields={"owner": "应为用户名"})
        if after is not None:
            check_id(after, "after")
        flags = check_flags(flags)
        now = self.now()
        _role, due_days, backlog_days = self._rules()
        with self.db.read() as session:
            tree = OrgTree.load(session)
            units = units_at(tree, unit)
            visible = readable_cases_sql(session, tree, actor)
            query = select(Case).where(*petition_board.open_petitions(visible, flags=flags, units=units))
            condition = petition_board.measure_condition(measure, now, due_days=due_days, backlog_days=backlog_days)
            if condition is not None:
                query = query.where(condition)
            if unowned:
                query = query.where(Case.owner.is_(None))
            elif owner:
                query = query.where(Case.owner == owner)
            if after:
                query = query.where(Case.id < after)
            rows = session.scalars(query.order_by(Case.id.desc()).limit(limit + 1)).all()
            more = len(rows) > limit
            rows = rows[:limit]
            items = self._case_rows(session, tree, actor, rows, now)
        return items, (items[-1]["id"] if more and items else None)

    def _case_rows(self, session, tree: OrgTree, actor: Actor, rows: list[Case], now) -> list[dict[str, Any]]:
        app = self.app("petition")
        ready = _ready_tasks(session, [c.id for c in rows])
        names = _display_names(session, {c.owner for c in rows if c.owner})
        items = []
        for c in rows:
            withheld = bool(actor.org_unit and actor.org_unit in (c.withheld_from or []))
            relations = case_relations(session, tree, actor, {
                "id": c.id, "type": c.type, "jurisdiction": c.jurisdiction, "owner": c.owner,
                "registered_by": c.registered_by, "withheld_from": c.withheld_from}, tasks=[])
            steps = [views.task_view(t, now, None, case_number=c.number, titles=app.form_schema(t.name), app=app)
                     for t in ready.get(c.id, [])]
            items.append({
                **views.case_summary(app, c, now), "jurisdiction_name": tree.name(c.jurisdiction),
                "owner_name": names.get(c.owner) or c.owner, "stage": (c.data or {}).get("stage"),
                "parties": None if withheld else app.party_names(c.data or {}),
                "next_steps": steps, "overdue": any(s["warning_level"] == "overdue" for s in steps),
                "may_set_owner": authz.allowed("case.set_owner", actor, relations, case_type=c.type)})
        return items

    # ------------------------------------------------------------------ supervision (督办)
    def supervision(self, actor: Actor, *, unit: Any = None, limit: int = SUPERVISION_SHOWN) -> dict[str, Any]:
        """The 督办 tasks on the open petitions the actor may read (held by `unit` or under it): the open
        ones, soonest due first, and the latest done, each with the action taken and its notes."""
        authz.require("petitions.supervision", actor, {authz.IN_UNIT})
        now = self.now()
        with self.db.read() as session:
            tree = OrgTree.load(session)
            units = units_at(tree, unit)
            visible = readable_cases_sql(session, tree, actor)
            # The task as an alias: the reader's condition has EXISTS over the cases' own tasks.
            task = aliased(HumanTask)
            # Of the open petitions (their index keeps this flat as closed cases pile up): a closed
            # case's supervision is in its history.
            base = (select(task, Case.number).select_from(Case).join(task, task.case_id == Case.id)
                    .where(task.name == "supervise", Case.type == "petition", Case.status == "open"))
            if visible is not None:
                base = base.where(visible)
            if units is not None:
                base = base.where(Case.jurisdiction.in_(sorted(units)))
            # `status || ''` keeps the planner from reading every task of that status through the
            # worklist index (SQLite, never ANALYZEd, prefers it): the open petitions come first.
            status = task.status.concat("")
            open_rows = session.execute(base.where(status == "ready")
                                        .order_by(task.due_at, task.id).limit(limit)).all()
            done_rows = session.execute(base.where(status == "completed")
                                        .order_by(task.completed_at.desc(), task.id.desc())
                                        .limit(limit)).all()
            done_data = _completed_data(session, [t for t, _n in done_rows])
            app = self.app("petition")

            def shaped(task: HumanTask, number: str) -> dict[str, Any]:
                view = views.task_view(task, now, None, case_number=number, titles=app.form_schema(task.name), app=app)
                data = done_data.get(task.id) or {}
                view.update({"org_unit_name": tree.name(task.org_unit), "completed_by": task.completed_by,
                             "completed_at": iso(task.completed_at), "action": data.get("action"),
                             "notes": data.get("notes")})
                return view

            return {"open": [shaped(t, n) for t, n in open_rows], "done": [shaped(t, n) for t, n in done_rows],
                    "as_of": iso(now)}

    # ------------------------------------------------------------------ naming an owner
    def leaders(self, actor: Actor) -> list[dict[str, Any]]:
        """The active users an owner may be (the petition case type's owner role), for the owner form."""
        authz.require("people.read", actor)
        owner_role = self.app("petition").owner_role
        with self.db.read() as session:
            rows = session.execute(select(User.username, User.display_name, User.org_unit, User.roles)
                                   .where(User.active.is_(True)).order_by(User.username)).all()
        return [{"username": u.username, "display_name": u.display_name or u.username, "org_unit": u.org_unit}
                for u in rows if owner_role in (u.roles or [])]


def _ready_tasks(session, case_ids: list[int]) -> dict[int, list[HumanTask]]:
    found: dict[int, list[HumanTask]] = {}
    if not case_ids:
        return found
    for t in session.scalars(select(HumanTask).where(HumanTask.case_id.in_(case_ids), HumanTask.status == "ready")
                             .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)):
        found.setdefault(t.case_id, []).append(t)
    return found


def _display_names(session, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    return {u: n for u, n in session.execute(select(User.username, User.display_name)
                                             .where(User.username.in_(sorted(usernames)))) if n}


def _completed_data(session, tasks: list[HumanTask]) -> dict[int, dict[str, Any]]:
    """What each completed task was completed with, from its case's `task_completed` event."""
    wanted = {t.id for t in tasks}
    if not wanted:
        return {}
    found: dict[int, dict[str, Any]] = {}
    events = (ev.data for evs in history.events_of(session, {t.case_id for t in tasks}, kind="task_completed").values()
              for ev in evs)
    for data in events:
        task_id = (data or {}).get("task_id")
        if task_id in wanted:
            found[task_id] = (data or {}).get("data") or {}
    return found
