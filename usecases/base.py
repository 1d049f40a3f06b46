"""What every group of use cases shares: the system, units of work, and finding an object the
user may see (or answering exactly as if it did not exist)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from engine.application import Actor
from engine.errors import InvalidInput, NotFound
from engine.store import Case, HumanTask
from engine.system import System

from . import authorization as authz
from . import request_scope
from .relations import OrgTree, case_relations

MAX_ID = 2 ** 63 - 1  # ids are 64-bit integers in every store


def check_id(value: Any, name: str = "id") -> int:
    """An id as given by a caller: a whole number that fits the store, else InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise InvalidInput(f"{name} 应为 1 到 {MAX_ID} 之间的整数 / {name} must be a whole number from 1 to {MAX_ID}",
                           fields={name: "应为正整数 / must be a positive whole number"})
    return value


class UseCases:
    def __init__(self, system: System):
        self.system = system
        self.engine = system.engine
        self.db = system.db

    def now(self):
        return self.system.clock.now()

    def app(self, case_type: str):
        return self.engine.application(case_type)

    # ---- finding what the user may see ---------------------------------------------------------
    def visible_case(self, session: Session, actor: Actor, case_id: int, tree: OrgTree | None = None
                     ) -> tuple[Case, set[str], OrgTree]:
        """The case row with the actor's relations to it, if they may read it; else NotFound, the same
        as for a case that does not exist."""
        if not isinstance(case_id, int) or isinstance(case_id, bool) or not 1 <= case_id <= MAX_ID:
            raise authz.not_found("case", case_id)
        case = session.get(Case, case_id)
        if case is None:
            raise authz.not_found("case", case_id)
        tree = tree or OrgTree.load(session)
        # Read once per request (a page asks several use cases about one case): request_scope.py.
        relations = set(request_scope.kept(session, ("case_relations", actor, case.id, case.version),
                                           lambda: case_relations(session, tree, actor, _row(case))))
        if not authz.allowed("case.read", actor, relations, case_type=case.type):
            raise authz.not_found("case", case_id)
        return case, relations, tree

    def visible_task(self, session: Session, actor: Actor, task_id: int
                     ) -> tuple[HumanTask, Case, set[str], OrgTree]:
        """A task and its case if the actor may read the case; else NotFound, as for a missing task."""
        if not isinstance(task_id, int) or isinstance(task_id, bool) or not 1 <= task_id <= MAX_ID:
            raise authz.not_found("task", task_id)
        task = session.get(HumanTask, task_id)
        if task is None:
            raise authz.not_found("task", task_id)
        try:
            case, relations, tree = self.visible_case(session, actor, task.case_id)
        except NotFound:
            raise authz.not_found("task", task_id) from None
        return task, case, relations, tree


def _row(case: Case) -> dict[str, Any]:
    """What the relations of a user to a case are computed from."""
    return {"id": case.id, "type": case.type, "jurisdiction": case.jurisdiction, "owner": case.owner,
            "registered_by": case.registered_by, "withheld_from": case.withheld_from}


def task_row(task: HumanTask) -> dict[str, Any]:
    return {"name": task.name, "role": task.role, "org_unit": task.org_unit, "assignee": task.assignee,
            "status": task.status, "completed_by": task.completed_by}


