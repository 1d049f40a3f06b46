"""How a user stands to a case, a task or a ledger entry: the relations the authorization table
grants by, computed for one object in Python and, for lists, as SQL conditions."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import and_, exists, false, or_, select, union_all
from sqlalchemy.orm import Session

from engine.application import Actor
from engine.errors import InvalidInput
from engine.store import Case, HumanTask, LedgerEntry
from workflows import board_reach
from workflows.units import Unit, load_units

from . import authorization as authz
from . import request_scope


class OrgTree:
    """The county's org units, read once per use case (units are few and rarely change)."""

    def __init__(self, units: Mapping[str, Unit]):
        self.units = dict(units)
        self._children: dict[str | None, list[str]] = {}
        for unit in self.units.values():
            self._children.setdefault(unit.parent, []).append(unit.code)

    @classmethod
    def load(cls, session: Session) -> OrgTree:
        """The units as `session` sees them (read once per request in a read session: request_scope.py)."""
        return request_scope.kept(session, "org_tree", lambda: cls(load_units(session)))

    def below(self, code: str | None) -> set[str]:
        """The units under `code` (not itself)."""
        found, stack = set(), list(self._children.get(code, [])) if code else []
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self._children.get(current, []))
        return found

    def level(self, code: str | None) -> str | None:
        unit = self.units.get(code or "")
        return unit.level if unit else None

    def name(self, code: str | None) -> str | None:
        unit = self.units.get(code or "")
        return unit.name if unit else None


# ------------------------------------------------------------------------------ tasks
def task_relations(actor: Actor, task: Mapping[str, Any]) -> set[str]:
    """`worker`, `colleague`, `assignee` of a task row (with role, org_unit, assignee, status)."""
    found = set()
    mine = task.get("assignee") == actor.username
    has_role = task.get("role") in actor.roles
    in_unit = task.get("org_unit") is not None and task.get("org_unit") == actor.org_unit
    if mine:
        found.add(authz.ASSIGNEE)
    if has_role and in_unit:
        found.add(authz.COLLEAGUE)
    if task.get("status", "ready") == "ready" and has_role and (mine or (in_unit and not task.get("assignee"))):
        found.add(authz.WORKER)
    return found


def may_work(actor: Actor, task: Mapping[str, Any], case_type: str) -> bool:
    return authz.allowed("task.complete", actor, task_relations(actor, task), case_type=case_type,
                         step=task.get("name"))


def workable_tasks_sql(actor: Actor):
    """The ready tasks `actor` may work (`worker` of each): their own, or unclaimed ones of their roles in
    their unit. One branch per way, each on its own index (workable_branches_sql)."""
    branches = workable_branches_sql(actor)
    return or_(*branches) if branches else false()


def workable_branches_sql(actor: Actor) -> list:
    """workable_tasks_sql as disjoint conditions, one per way the actor may work a task, each answered
    by its own index in the worklist's order: tasks claimed by the actor (ix_task_assignee_queue), and
    per role the unclaimed ones in the actor's unit (ix_task_unit_queue)."""
    roles = sorted(actor.roles)
    if not roles:
        return []
    return [and_(HumanTask.assignee == actor.username, HumanTask.status == "ready", HumanTask.role.in_(roles)),
            *(and_(HumanTask.status == "ready", HumanTask.org_unit == actor.org_unit, HumanTask.role == role,
                   HumanTask.assignee.is_(None)) for role in roles)]


# ------------------------------------------------------------------------------ cases
def case_relations(session: Session, tree: OrgTree, actor: Actor, case: Mapping[str, Any],
                   tasks: Iterable[Mapping[str, Any]] | None = None) -> set[str]:
    """How `actor` stands to the case (a row or view with id, type, jurisdiction, owner, registered_by,
    withheld_from). `tasks`: its task rows, when the caller has them."""
    found = set()
    unit, jurisdiction = actor.org_unit, case.get("jurisdiction")
    if unit and jurisdiction == unit:
        found.add(authz.IN_UNIT)
    elif unit and jurisdiction in tree.below(unit):
        found.add(authz.UNIT_ABOVE)
    if case.get("owner") and case["owner"] == actor.username:
        found.add(authz.OWNER)
    if case.get("registered_by") and case["registered_by"] == actor.username:
        found.add(authz.REGISTRANT)
    if unit and unit in (case.get("withheld_from") or []):
        found.add(authz.COMPLAINED_ABOUT)
    if _is_handler(session, actor, case, tasks):
        found.add(authz.HANDLER)
    return found


def _is_handler(session: Session, actor: Actor, case: Mapping[str, Any], tasks) -> bool:
    """Whoever worked one of the case's tasks, or may work one of its open tasks now (by the table)."""
    if tasks is None:
        # One row answers "worked one of its tasks" however many a long case has (an owner's 200
        # progress reports); the open tasks are few.
        worked = session.execute(select(HumanTask.id).where(
            HumanTask.case_id == case["id"],
            or_(HumanTask.completed_by == actor.username,
                and_(HumanTask.status != "ready", HumanTask.assignee == actor.username))).limit(1)).first()
        if worked is not None:
            return True
        tasks = [dict(r._mapping) for r in session.execute(
            select(HumanTask.name, HumanTask.role, HumanTask.org_unit, HumanTask.assignee, HumanTask.status,
                   HumanTask.completed_by)
            .where(HumanTask.case_id == case["id"], HumanTask.status == "ready",
                   or_(HumanTask.assignee == actor.username, HumanTask.role.in_(list(actor.roles)))))]
    for task in tasks:
        if task.get("completed_by") == actor.username:
            return True
        if task.get("status") == "ready" and may_work(actor, task, case["type"]):
            return True
        if task.get("status") != "ready" and task.get("assignee") == actor.username:
            return True
    return False


def _granted(use_case: str, actor: Actor) -> set[str] | None:
    """The relations under which one of the actor's roles may run `use_case` (on any case type's row),
    or None when one may wherever."""
    if "system" in actor.roles:
        return None
    row = authz.grants(use_case, "*") or {}
    granted: set[str] = set()
    for role in actor.roles:
        relations = row.get(role)
        if relations is not None and "anywhere" in relations:
            return None
        granted |= relations or set()
    return granted


def readable_cases_sql(session: Session, tree: OrgTree, actor: Actor, *, probe: bool = True):
    """A SQL condition on Case for the cases `actor` may read (None: every case), from the table's
    `case.read` row: one branch per relation that grants it to one of the actor's roles. With
    `probe` (for checking given cases or a page of them) the actor's own tasks are an `EXISTS` per
    case; without (for an aggregate over every open case of a kind, e.g. the petition board) their
    case ids are read once per statement (`IN (SELECT case_id …)`), not probed three times a case."""
    branches = readable_cases_branches(session, tree, actor, probe=probe)
    if branches is None:
        return None
    return or_(*branches) if branches else false()


def readable_cases_branches(session: Session, tree: OrgTree, actor: Actor, *, probe: bool = False) -> list | None:
    """readable_cases_sql as its branches (None: every case; []: none), each answered by an index, for
    lists that read each branch apart, newest first. The cases of the actor's own tasks are, to drive
    a list, the tasks' case ids read from the tasks' indexes; with `probe`, for checking given cases,
    an `EXISTS` per case on the task's case index (never the actor's whole history read per statement)."""
    sources = readable_case_sources(session, tree, actor)
    if sources is None:
        return None
    on_case, on_task = sources
    if probe:
        return [*on_case, *(exists().where(HumanTask.case_id == Case.id, condition) for condition in on_task)]
    return [*on_case, *(Case.id.in_(select(HumanTask.case_id).where(condition)) for condition in on_task)]


def readable_case_sources(session: Session, tree: OrgTree, actor: Actor) -> tuple[list, list] | None:
    """The branches of readable_cases_sql apart (None: every case): conditions on Case, each answered
    by an index on the case's own columns in id order, and conditions on HumanTask (the actor's own
    tasks: completed_by, assignee, the worklist's branches) whose tasks' cases the actor may read, for a
    list to read as the tasks' case ids, newest first, on the task indexes by (who, case_id)."""
    granted = _granted("case.read", actor)
    if granted is None:
        return None
    on_case = []
    if authz.IN_UNIT in granted and actor.org_unit:
        on_case.append(Case.jurisdiction == actor.org_unit)
    if authz.UNIT_ABOVE in granted and actor.org_unit:
        below = tree.below(actor.org_unit)
        if below:
            on_case.append(Case.jurisdiction.in_(sorted(below)))
    return [*on_case, *_own_branches(actor, granted)], _task_branches(actor, granted)


def _own_branches(actor: Actor, granted) -> list:
    """The branches on the case's own columns other than its unit: what the actor owns or registered."""
    branches = []
    if authz.OWNER in granted:
        branches.append(Case.owner == actor.username)
    if authz.REGISTRANT in granted:
        branches.append(Case.registered_by == actor.username)
    return branches


def _task_branches(actor: Actor, granted) -> list:
    """The conditions on HumanTask of the actor's own tasks whose cases it reads (as their handler)."""
    if authz.HANDLER not in granted:
        return []
    # The worklist's first branch (tasks claimed by the actor) is within `assignee` already.
    return [HumanTask.completed_by == actor.username, HumanTask.assignee == actor.username,
            *workable_branches_sql(actor)[1:]]


def task_case_ids(on_task: list, *extra):
    """The case ids of the tasks meeting any of `on_task` (and all of `extra`), as one statement to
    read once (`UNION ALL`: each way of having a task on its own index)."""
    parts = [select(HumanTask.case_id).where(condition, *extra) for condition in on_task]
    return union_all(*parts) if len(parts) > 1 else parts[0]


def readable_units(tree: OrgTree, actor: Actor) -> set[str] | None:
    """The units whose cases `actor` reads by their unit alone (their own and those below it, as the
    table grants), the jurisdiction branches of readable_case_sources as one set (None: every case)."""
    granted = _granted("case.read", actor)
    if granted is None:
        return None
    return _units_of(tree, actor, granted)


def _units_of(tree: OrgTree, actor: Actor, granted) -> set[str]:
    units: set[str] = set()
    if authz.IN_UNIT in granted and actor.org_unit:
        units.add(actor.org_unit)
    if authz.UNIT_ABOVE in granted and actor.org_unit:
        units |= tree.below(actor.org_unit)
    return units


def readable_case_units(tree: OrgTree, actor: Actor) -> tuple[set[str], list] | None:
    """readable_cases_sql split for counts kept per unit (None: every case): the units whose every
    case the actor may read (readable_units), and the other branches as conditions on Case (what they
    own or registered; their own tasks' cases, each read once per statement)."""
    granted = _granted("case.read", actor)
    if granted is None:
        return None
    others = _own_branches(actor, granted)
    on_task = _task_branches(actor, granted)
    if on_task:  # one list of the actor's tasks' cases (each way on its own index), probed once a case
        others.append(Case.id.in_(task_case_ids(on_task)))
    return _units_of(tree, actor, granted), others


def reach_keys(actor: Actor) -> list[str] | None:
    """The actor's keys in the kept rows of who reaches an open petition otherwise than by its unit
    (workflows/board_reach.py), one per branch of readable_case_units' `others` (None: every case):
    as its owner, its registrant, its handler (whoever completed or holds one of its steps) and, per
    role, the unclaimed open steps of the actor's unit (the worklist's branches)."""
    granted = _granted("case.read", actor)
    if granted is None:
        return None
    keys = []
    if authz.OWNER in granted:
        keys.append(board_reach.owner_key(actor.username))
    if authz.REGISTRANT in granted:
        keys.append(board_reach.registrant_key(actor.username))
    if authz.HANDLER in granted:
        keys.append(board_reach.handler_key(actor.username))
        # As workable_branches_sql compares: a user of no unit, the steps of no unit ('').
        keys += [board_reach.queue_key(actor.org_unit or "", role) for role in sorted(actor.roles)]
    return keys


# ------------------------------------------------------------------------------ ledger entries
def entry_relations(tree: OrgTree, actor: Actor, entry: Any) -> set[str]:
    found = set()
    unit = actor.org_unit
    if unit and entry.review_unit == unit:
        found.add(authz.ENTRY_OFFICE)
    if unit and (entry.review_unit in tree.below(unit) or tree.level(unit) == "county") and entry.review_unit != unit:
        found.add(authz.OFFICE_ABOVE)
    if entry.mediator and entry.mediator == actor.username:
        found.add(authz.PAYEE)
    return found


def readable_entries_sql(tree: OrgTree, actor: Actor, table=LedgerEntry):
    """A SQL condition on LedgerEntry for the entries `actor` may read (None: all), from `subsidy.read`
    (on `table`: LedgerTally has the same review_unit and mediator columns, '' where an entry has none)."""
    branches = readable_entry_branches(tree, actor, table)
    if branches is None:
        return None
    return or_(*branches) if branches else false()


def readable_entry_branches(tree: OrgTree, actor: Actor, table=LedgerEntry) -> list | None:
    """readable_entries_sql as one condition per way `actor` may read an entry (None: all; none: no
    entry), each answered by its own index: the entries their office reviews (review_unit), those of
    the offices below it, those that pay them (mediator)."""
    granted = _granted("subsidy.read", actor)
    if granted is None:
        return None
    branches = []
    unit = actor.org_unit
    if authz.OFFICE_ABOVE in granted and unit and tree.level(unit) == "county":
        return None
    if authz.ENTRY_OFFICE in granted and unit:
        branches.append(table.review_unit == unit)
    if authz.OFFICE_ABOVE in granted and unit and tree.below(unit):
        branches.append(table.review_unit.in_(sorted(tree.below(unit))))
    if authz.PAYEE in granted:
        branches.append(table.mediator == actor.username)
    return branches


def at_county(tree: OrgTree, actor: Actor) -> set[str]:
    return {authz.AT_COUNTY} if tree.level(actor.org_unit) == "county" else set()


# ------------------------------------------------------------------------------ the dashboard's scope
def dashboard_scope(tree: OrgTree, actor: Actor, unit: str | None = None) -> tuple[str, set[str] | None]:
    """The unit whose figures `actor` is shown (their own, or `unit` at or below it) and the codes of
    the units those figures cover (None: the whole county). A town sees itself and its villages; the
    county (and whoever reads everything) all."""
    chosen = unit or actor.org_unit
    if chosen is None or chosen not in tree.units:
        raise InvalidInput(f"没有单位“{chosen}” / no org unit {chosen!r}",
                           fields={"unit": "请从列表中选择单位 / choose a unit from the list"})
    if chosen not in dashboard_units(tree, actor):
        raise InvalidInput("只能查看本单位及下级单位 / you can see your own unit and the units below it",
                           fields={"unit": "只能选择本单位或下级单位 / your unit or one below it"})
    if tree.level(chosen) == "county" and tree.units[chosen].parent is None:
        return chosen, None
    return chosen, {chosen} | tree.below(chosen)


def dashboard_units(tree: OrgTree, actor: Actor) -> set[str]:
    """The units whose figures `actor` may choose: their own and those below it (all, for whoever
    reads every case)."""
    if _granted("case.read", actor) is None:
        return set(tree.units)
    return ({actor.org_unit} | tree.below(actor.org_unit)) if actor.org_unit in tree.units else set()


def cases_in_units_sql(units: set[str] | None):
    """A SQL condition on Case: held by one of `units` (None: every case)."""
    return None if units is None else Case.jurisdiction.in_(sorted(units))


def tasks_in_units_sql(units: set[str] | None):
    """A SQL condition on HumanTask: a step of one of `units` (None: every step). A unit's steps are
    its own work, whichever unit holds the case now."""
    return None if units is None else HumanTask.org_unit.in_(sorted(units))
