"""Use cases of the petition office: its list of petitions and the owner board (领导包案)."""
from __future__ import annotations

from typing import Any

from engine.application import Actor
from engine.calendar import iso
from workflows import petition_board

from . import authorization as authz
from .base import UseCases
from .relations import OrgTree, readable_cases_sql


class Petitions(UseCases):
    def __init__(self, system, cases):
        super().__init__(system)
        self.cases = cases

    def list(self, actor: Actor, **filters: Any):
        """Petitions the actor may read, filtered by owner, flag, status, overdue, due within N days."""
        return self.cases.search(actor, type="petition", **filters)

    def board(self, actor: Actor) -> dict[str, Any]:
        authz.require("petitions.board", actor, {authz.IN_UNIT})
        now = self.now()
        app = self.app("petition")
        with self.db.read() as session:
            visible = readable_cases_sql(session, OrgTree.load(session), actor)
            items = petition_board.owner_board(session, visible, now, owner_role=app.owner_role,
                                               backlog_days=app.rules.backlog_days)
        return {"items": items, "as_of": iso(now)}
