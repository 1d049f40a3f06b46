"""Use cases any signed-in user has: the county's org units and people (no secrets)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.application import Actor
from engine.store import OrgUnit, User

from . import authorization as authz
from . import request_scope
from .base import UseCases


class People(UseCases):
    def org_units(self, actor: Actor) -> list[dict[str, Any]]:
        authz.require("people.read", actor)
        with self.db.read() as session:
            units = request_scope.kept(session, "org_units", lambda: session.execute(
                select(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.parent).order_by(OrgUnit.code)).all())
            return [{"code": u.code, "name": u.name, "level": u.level, "parent": u.parent} for u in units]

    def names(self, actor: Actor) -> dict[str, str]:
        """username → the name shown (the display name, else the username) of every active user: all a
        page needs to name people, at a quarter of `users`' cost."""
        authz.require("people.read", actor)
        with self.db.read() as session:
            return {username: shown or username for username, shown in session.execute(
                select(User.username, User.display_name).where(User.active.is_(True)))}

    def users(self, actor: Actor) -> list[dict[str, Any]]:
        authz.require("people.read", actor)
        with self.db.read() as session:
            rows = session.execute(select(User.username, User.display_name, User.org_unit, User.roles,
                                          User.civil_servant).where(User.active.is_(True))
                                   .order_by(User.username)).all()
            return [{"username": u.username, "display_name": u.display_name, "org_unit": u.org_unit,
                     "roles": list(u.roles or []), "civil_servant": u.civil_servant} for u in rows]
