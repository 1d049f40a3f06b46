"""Use cases of the administrators (and of the command line, which acts as the system): deploying
definitions, org units, users, API tokens, the holiday calendar and the simulated clock."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import select

from engine import accounts
from engine.application import Actor
from engine.calendar import YearSchedule, iso
from engine.definitions import parse_decisions, parse_files
from engine.definitions_repo import DeployResult, deploy, deploy_decisions
from engine.errors import Conflict, InvalidInput
from engine.store import OrgUnit

from . import authorization as authz
from .base import UseCases

DEFINITION_SUFFIXES = (".bpmn", ".dmn")


class Admin(UseCases):
    # ------------------------------------------------------------------ definitions
    def deploy(self, actor: Actor, files: Mapping[str, bytes]) -> list[DeployResult]:
        """Validate every file first, then store them in one transaction: all or nothing (a DefinitionError
        names the file, line and element of the first problem). Every DMN decision is also versioned on
        its own (a rate table deployed alone prices the cases closed after it); a bundle of DMN files only
        deploys just those."""
        authz.require("admin.deploy", actor)
        decisions = parse_decisions(dict(files))
        has_bpmn = any(name.lower().endswith(".bpmn") for name in files)
        definitions = parse_files(dict(files)) if has_bpmn or not decisions else {}
        with self.db.write() as session:
            now = self.now()
            return (deploy(session, definitions, now=now, actor=actor.username)
                    + deploy_decisions(session, decisions, now=now, actor=actor.username))

    # ------------------------------------------------------------------ org units and users
    def add_org_unit(self, actor: Actor, code: str, name: str, level: str, parent: str | None) -> dict[str, Any]:
        authz.require("admin.org_units", actor)
        with self.db.write() as session:
            unit = accounts.add_org_unit(session, code, name, level, parent)
            return {"code": unit.code, "name": unit.name, "level": unit.level, "parent": unit.parent}

    def check_new_user(self, actor: Actor, roles: list[str], org: str) -> None:
        """Refuse a mistyped role or org before a password is asked for (add_user checks it all again)."""
        authz.require("admin.users", actor)
        fields = {}
        problem = accounts.role_errors(roles, authz.ROLES)
        if problem:
            fields["role"] = problem
        with self.db.read() as session:
            if session.get(OrgUnit, org) is None:
                fields["org"] = f"单位“{org}”不存在 / no org unit {org!r}"
        if fields:
            raise InvalidInput("用户信息有误 / invalid user", fields=fields)

    def add_user(self, actor: Actor, username: str, roles: list[str], org: str, password: str, *,
                 civil_servant: bool = False, display_name: str = "") -> dict[str, Any]:
        authz.require("admin.users", actor)
        with self.db.write() as session:
            user = accounts.add_user(session, username, roles, org, password, now=self.now(),
                                     civil_servant=civil_servant, display_name=display_name,
                                     known_roles=authz.ROLES)
            return {"username": user.username, "display_name": user.display_name, "roles": list(user.roles),
                    "org_unit": user.org_unit, "civil_servant": user.civil_servant}

    def set_contacts(self, actor: Actor, username: str, **changes: Any) -> dict[str, Any]:
        """A user's notification channels and addresses, and whether they head their unit."""
        from notifications.contacts import set_preferences
        authz.require("admin.users", actor)
        with self.db.write() as session:
            return set_preferences(session, username, **changes)

    def create_token(self, actor: Actor, username: str) -> str:
        authz.require("admin.tokens", actor)
        with self.db.write() as session:
            return accounts.create_token(session, username, self.now())

    # ------------------------------------------------------------------ calendar and clock
    def import_calendar(self, actor: Actor, data: Any) -> YearSchedule:
        authz.require("admin.calendar", actor)
        return self.system.import_calendar_year(data, self.now())

    def set_clock(self, actor: Actor, when: datetime, *, backwards: bool = False) -> datetime:
        """Set the simulated clock; moving it back (deadlines already fired stay fired) must be asked for."""
        authz.require("admin.clock", actor)
        clock = self.system.clock
        current = clock.now()
        if clock.is_set() and when < current and not backwards:  # an unset clock follows the real time
            shown, asked = iso(current), iso(when)
            raise Conflict(f"新时间 {asked} 早于当前模拟时间 {shown}：倒拨时钟不会撤销已触发的期限，确需倒拨请加 "
                           f"--backwards / {asked} is before the simulated now {shown}: moving back does not undo "
                           f"fired deadlines; add --backwards if you mean it")
        return self.system.clock.set(when)

    def advance_clock(self, actor: Actor, delta: timedelta) -> datetime:
        authz.require("admin.clock", actor)
        return self.system.clock.advance(delta)

    def reset_clock(self, actor: Actor) -> None:
        authz.require("admin.clock", actor)
        self.system.clock.reset()

    # ------------------------------------------------------------------ the demo county
    def seed_demo(self, actor: Actor):
        """The demo county with one user per role (None when it exists), then its demo cases."""
        from . import demo
        authz.require("admin.users", actor)
        with self.db.write() as session:
            accounts_made = demo.seed_demo(session, self.now())
        if accounts_made is None:
            return None, []
        return accounts_made, demo.seed_demo_cases(self.system)

    def org_unit_exists(self, code: str) -> bool:
        with self.db.read() as session:
            return session.scalar(select(OrgUnit.code).where(OrgUnit.code == code)) is not None
