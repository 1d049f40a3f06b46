"""Use cases of the administrators (and of the command line, which acts as the system): deploying
definitions, org units, users, API tokens, the holiday calendar and the simulated clock."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import func, select

from engine import accounts, admin_events
from engine.application import Actor
from engine.calendar import YearSchedule, iso
from engine.definitions import parse_decisions, parse_files
from engine.definitions_repo import DeployResult, deploy, deploy_decisions
from engine.errors import Conflict, InvalidInput, NotFound
from engine.store import ApiToken, DecisionDefinition, HolidayYear, OrgUnit, User

from . import authorization as authz
from .base import UseCases, check_id

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
            results = (deploy(session, definitions, now=now, actor=actor.username)
                       + deploy_decisions(session, decisions, now=now, actor=actor.username))
            changed = [r for r in results if r.created]
            if changed:
                admin_events.record(session, at=now, actor=actor.username, kind="definitions_deployed",
                                    subject=",".join(sorted({r.process_key for r in changed}))[:200],
                                    data={"files": sorted(files), "versions": [
                                        {"key": r.process_key, "version": r.version, "kind": r.kind} for r in changed]})
            return results

    # ------------------------------------------------------------------ org units and users
    def add_org_unit(self, actor: Actor, code: str, name: str, level: str, parent: str | None) -> dict[str, Any]:
        authz.require("admin.org_units", actor)
        with self.db.write() as session:
            unit = accounts.add_org_unit(session, code, name, level, parent)
            admin_events.record(session, at=self.now(), actor=actor.username, kind="org_unit_created",
                                subject=unit.code, data={"name": unit.name, "level": unit.level, "parent": unit.parent})
            return {"code": unit.code, "name": unit.name, "level": unit.level, "parent": unit.parent}

    def org_units(self, actor: Actor) -> list[dict[str, Any]]:
        """The county's units for their administration: each with its parent and how many active users."""
        authz.require("admin.org_units", actor)
        with self.db.read() as session:
            counts = dict(session.execute(select(User.org_unit, func.count()).where(User.active.is_(True))
                                          .group_by(User.org_unit)).all())
            units = session.scalars(select(OrgUnit).order_by(OrgUnit.code)).all()
            return [{"code": u.code, "name": u.name, "level": u.level, "parent": u.parent,
                     "users": counts.get(u.code, 0)} for u in units]

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
            admin_events.record(session, at=self.now(), actor=actor.username, kind="user_created",
                                subject=user.username, data={"roles": list(user.roles), "org_unit": user.org_unit,
                                                             "display_name": user.display_name,
                                                             "civil_servant": bool(user.civil_servant)})
            return {"username": user.username, "display_name": user.display_name, "roles": list(user.roles),
                    "org_unit": user.org_unit, "civil_servant": user.civil_servant}

    def set_contacts(self, actor: Actor, username: str, **changes: Any) -> dict[str, Any]:
        """A user's notification channels and addresses, and whether they head their unit."""
        from notifications.contacts import set_preferences
        authz.require("admin.users", actor)
        with self.db.write() as session:
            view = set_preferences(session, username, **changes)
            admin_events.record(session, at=self.now(), actor=actor.username, kind="contacts_changed",
                                subject=username, data={k: view.get(k) for k in ("channels", "unit_head")}
                                | {k: bool(view.get(k)) for k in ("email", "phone")})
            return view

    def create_token(self, actor: Actor, username: str, *, days: int | None = None, name: str = "") -> str:
        """A new API token for a user (printed once by the command line)."""
        return self.issue_token(actor, username, days=days, name=name)["token"]

    def issue_token(self, actor: Actor, username: str, *, days: int | None = None, name: str = "") -> dict[str, Any]:
        """A new token valid for `days` (default FENGQIAO_TOKEN_DAYS): the secret, shown this once, and its view."""
        authz.require("admin.tokens", actor)
        days = self.system.settings.token_days if days is None else days
        with self.db.write() as session:
            now = self.now()
            secret, row = accounts.issue_token(session, username, now, days=days, name=name)
            admin_events.record(session, at=now, actor=actor.username, kind="token_created", subject=username,
                                data={"token_id": row.id, "name": row.name, "days": days,
                                      "expires_at": row.expires_at.isoformat()})
            return {"token": secret, **_token_view(row, username, now)}

    def list_tokens(self, actor: Actor, username: str) -> list[dict[str, Any]]:
        """A user's tokens, newest first, with their state (never the secret: only its digest is kept)."""
        authz.require("admin.list_tokens", actor)
        with self.db.read() as session:
            user = accounts.user_by_name(session, username)
            rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                                   .order_by(ApiToken.id.desc())).all()
            now = self.now()
            return [_token_view(row, user.username, now) for row in rows]

    def revoke_token(self, actor: Actor, token_id: int) -> dict[str, Any]:
        """Revoke a token: refused (401) from its next request on."""
        authz.require("admin.revoke_token", actor)
        check_id(token_id, "token_id")
        with self.db.write() as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise NotFound(f"令牌 {token_id} 不存在 / no token {token_id}")
            username = session.scalar(select(User.username).where(User.id == row.user_id))
            if row.revoked:
                raise Conflict(f"令牌 {token_id} 已撤销 / token {token_id} is already revoked")
            now = self.now()
            row.revoked, row.revoked_at = True, now
            admin_events.record(session, at=now, actor=actor.username, kind="token_revoked", subject=username,
                                data={"token_id": row.id, "name": row.name})
            return _token_view(row, username, now)

    # ------------------------------------------------------------------ accounts
    def list_users(self, actor: Actor) -> list[dict[str, Any]]:
        """Every user, active or not, with their unit's name and how many live tokens they hold."""
        authz.require("admin.list_users", actor)
        with self.db.read() as session:
            now = self.now()
            live = dict(session.execute(
                select(ApiToken.user_id, func.count()).where(ApiToken.revoked.is_(False), ApiToken.expires_at > now)
                .group_by(ApiToken.user_id)).all())
            units = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
            users = session.scalars(select(User).order_by(User.username)).all()
            return [_user_view(u, units, live.get(u.id, 0)) for u in users]

    def get_user(self, actor: Actor, username: str) -> dict[str, Any]:
        authz.require("admin.list_users", actor)
        with self.db.read() as session:
            user = accounts.user_by_name(session, username)
            units = dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all())
            live = session.scalar(select(func.count()).select_from(ApiToken).where(
                ApiToken.user_id == user.id, ApiToken.revoked.is_(False), ApiToken.expires_at > self.now()))
            return _user_view(user, units, live or 0)

    def change_user(self, actor: Actor, username: str, *, roles: list[str] | None = None, org_unit: str | None = None,
                    display_name: str | None = None, civil_servant: bool | None = None) -> dict[str, Any]:
        """Change a user's roles, unit, display name or civil-servant flag (only what is given)."""
        authz.require("admin.change_user", actor)
        fields = {}
        if roles is not None:
            if not isinstance(roles, list):
                fields["roles"] = "应为角色代码的数组 / must be a list of role codes"
            else:
                problem = accounts.role_errors(roles, authz.ROLES)
                if problem:
                    fields["roles"] = problem
        if display_name is not None and (not isinstance(display_name, str) or not display_name.strip()
                                         or len(display_name.strip()) > 200):
            fields["display_name"] = "显示名应为 1 到 200 个字 / 1 to 200 characters"
        if civil_servant is not None and not isinstance(civil_servant, bool):
            fields["civil_servant"] = "应为 true 或 false / must be true or false"
        if org_unit is not None and not isinstance(org_unit, str):
            fields["org_unit"] = "应为单位代码 / must be an org unit code"
        with self.db.write() as session:
            user = accounts.user_by_name(session, username)
            if isinstance(org_unit, str) and session.get(OrgUnit, org_unit) is None:
                fields["org_unit"] = f"单位“{org_unit}”不存在 / no org unit {org_unit!r}"
            if fields:
                raise InvalidInput("用户信息有误 / invalid user", fields=fields)
            new = {"roles": list(dict.fromkeys(roles)) if roles is not None else list(user.roles or []),
                   "org_unit": org_unit if org_unit is not None else user.org_unit,
                   "display_name": display_name.strip() if display_name is not None else user.display_name,
                   "civil_servant": civil_servant if civil_servant is not None else bool(user.civil_servant)}
            old = {"roles": list(user.roles or []), "org_unit": user.org_unit, "display_name": user.display_name,
                   "civil_servant": bool(user.civil_servant)}
            changes = {k: {"from": old[k], "to": new[k]} for k in new if new[k] != old[k]}
            if not changes:
                raise InvalidInput("没有需要修改的内容 / nothing to change",
                                   fields={"body": "与现有信息相同 / the same as now"})
            if "admin" in old["roles"] and "admin" not in new["roles"] and user.active:
                _keep_an_admin(session, user)
            user.roles, user.org_unit = new["roles"], new["org_unit"]
            user.display_name, user.civil_servant = new["display_name"], new["civil_servant"]
            admin_events.record(session, at=self.now(), actor=actor.username, kind="user_changed",
                                subject=user.username, data=changes)
            session.flush()
            return _user_view(user, dict(session.execute(select(OrgUnit.code, OrgUnit.name)).all()), None)

    def deactivate_user(self, actor: Actor, username: str) -> dict[str, Any]:
        """Deactivate a user: their tokens and page sessions are refused from their next request on."""
        authz.require("admin.deactivate_user", actor)
        with self.db.write() as session:
            user = accounts.user_by_name(session, username)
            if user.username == actor.username:
                raise Conflict("不能停用自己的账号 / you cannot deactivate your own account")
            if not user.active:
                raise Conflict(f"用户“{username}”已停用 / user {username!r} is already deactivated")
            if "admin" in (user.roles or []):
                _keep_an_admin(session, user)
            user.active = False
            admin_events.record(session, at=self.now(), actor=actor.username, kind="user_deactivated",
                                subject=user.username)
            session.flush()
            return _user_view(user, {}, None)

    def activate_user(self, actor: Actor, username: str) -> dict[str, Any]:
        authz.require("admin.activate_user", actor)
        with self.db.write() as session:
            user = accounts.user_by_name(session, username)
            if user.active:
                raise Conflict(f"用户“{username}”未停用 / user {username!r} is active")
            user.active = True
            admin_events.record(session, at=self.now(), actor=actor.username, kind="user_activated",
                                subject=user.username)
            session.flush()
            return _user_view(user, {}, None)

    def reset_password(self, actor: Actor, username: str, password: str) -> dict[str, Any]:
        """Set a new password; the user's page sessions signed in before end at their next click."""
        authz.require("admin.reset_password", actor)
        with self.db.write() as session:
            user = accounts.user_by_name(session, username)
            accounts.set_password(user, password)
            admin_events.record(session, at=self.now(), actor=actor.username, kind="password_reset",
                                subject=user.username)
            session.flush()
            return _user_view(user, {}, None)

    # ------------------------------------------------------------------ the same, from a request body (the API)
    def create_account(self, actor: Actor, body: Mapping[str, Any]) -> dict[str, Any]:
        authz.require("admin.users", actor)  # a refusal says nothing about the body
        _body_fields(body, ("username", "password", "roles", "org_unit", "display_name", "civil_servant"),
                     ("username", "password", "roles", "org_unit"))
        roles = body["roles"]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise InvalidInput("roles 应为字符串数组 / roles must be a list of strings",
                               fields={"roles": "应为数组 / must be a list"})
        civil = body.get("civil_servant", False)
        if not isinstance(civil, bool):
            raise InvalidInput("civil_servant 应为 true 或 false / civil_servant must be true or false",
                               fields={"civil_servant": "true | false"})
        text = {name: _string(body, name) for name in ("username", "password", "org_unit")}
        display = _string(body, "display_name") if "display_name" in body else ""
        self.add_user(actor, text["username"], roles, text["org_unit"], text["password"], civil_servant=civil,
                      display_name=display)
        return self.get_user(actor, text["username"])

    def change_account(self, actor: Actor, username: str, body: Mapping[str, Any]) -> dict[str, Any]:
        authz.require("admin.change_user", actor)
        fields = ("roles", "org_unit", "display_name", "civil_servant")
        _body_fields(body, fields)
        return self.change_user(actor, username, **{k: body[k] for k in fields if k in body})

    def reset_password_request(self, actor: Actor, username: str, body: Mapping[str, Any]) -> dict[str, Any]:
        authz.require("admin.reset_password", actor)
        _body_fields(body, ("password",), ("password",))
        return self.reset_password(actor, username, _string(body, "password"))

    def issue_token_request(self, actor: Actor, username: str, body: Mapping[str, Any]) -> dict[str, Any]:
        authz.require("admin.tokens", actor)
        _body_fields(body, ("days", "name"))
        return self.issue_token(actor, username, days=body.get("days"),
                                name=_string(body, "name") if "name" in body else "")

    # ------------------------------------------------------------------ the administrators' log
    def events(self, actor: Actor, *, subject: str | None = None, kind: str | None = None,
               before: int | None = None, limit: int = 50) -> dict[str, Any]:
        """A page of the administrators' log, newest first, and the verification of its whole chain."""
        authz.require("admin.events", actor)
        if before is not None:
            check_id(before, "before")
        with self.db.read() as session:
            rows, next_seq = admin_events.list_events(session, subject=subject, kind=kind, before=before,
                                                      limit=max(1, min(int(limit), 200)))
            return {"items": [admin_events.event_view(r) for r in rows],
                    "next": str(next_seq) if next_seq is not None else None,
                    "chain": admin_events.verify(session).as_dict()}

    # ------------------------------------------------------------------ what the admin pages show
    def rate_tables(self, actor: Actor, key: str = "subsidy") -> list[dict[str, Any]]:
        """Every deployed version of a DMN decision (newest, the one in force, first) with its table."""
        from engine.decision_tables import read_table
        authz.require("admin.rates", actor)
        with self.db.read() as session:
            rows = session.scalars(select(DecisionDefinition).where(DecisionDefinition.decision_key == key)
                                   .order_by(DecisionDefinition.version.desc())).all()
            return [{"version": r.version, "name": r.name, "file": r.file_name, "deployed_at": r.deployed_at,
                     "deployed_by": r.deployed_by, "in_force": i == 0, "table": read_table(r.source, key)}
                    for i, r in enumerate(rows)]

    def calendar_years(self, actor: Actor) -> dict[str, Any]:
        """The holiday years with an official schedule (bundled or imported), and the years that lack one:
        this year and the next (deadlines counted into those are estimated)."""
        from engine.calendar import ZONE, load_bundled_schedules, parse_year_schedule
        authz.require("admin.calendar_read", actor)
        with self.db.read() as session:
            imported = {row.year: (row.data, row.imported_at)
                        for row in session.execute(select(HolidayYear.year, HolidayYear.data, HolidayYear.imported_at))}
        years: dict[int, dict[str, Any]] = {}
        for year, schedule in load_bundled_schedules().items():
            years[year] = {"year": year, "source": schedule.source, "holidays": len(schedule.holidays),
                           "workdays": len(schedule.workdays), "origin": "bundled", "imported_at": None}
        for year, (data, imported_at) in imported.items():
            schedule = parse_year_schedule(data)
            years[year] = {"year": year, "source": schedule.source, "holidays": len(schedule.holidays),
                           "workdays": len(schedule.workdays), "origin": "imported", "imported_at": imported_at}
        this_year = self.now().astimezone(ZONE).year
        missing = [y for y in (this_year, this_year + 1) if y not in years]
        return {"years": [years[y] for y in sorted(years, reverse=True)], "this_year": this_year, "missing": missing}

    # ------------------------------------------------------------------ calendar and clock
    def import_calendar(self, actor: Actor, data: Any) -> YearSchedule:
        authz.require("admin.calendar", actor)
        schedule = self.system.import_calendar_year(data, self.now())
        with self.db.write() as session:
            admin_events.record(session, at=self.now(), actor=actor.username, kind="calendar_imported",
                                subject=str(schedule.year), data={"source": schedule.source,
                                                                  "holidays": len(schedule.holidays),
                                                                  "workdays": len(schedule.workdays)})
        return schedule

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
        moved = self.system.clock.set(when)
        self._clock_event(actor, current, moved)
        return moved

    def advance_clock(self, actor: Actor, delta: timedelta) -> datetime:
        authz.require("admin.clock", actor)
        before = self.system.clock.now()
        moved = self.system.clock.advance(delta)
        self._clock_event(actor, before, moved)
        return moved

    def _clock_event(self, actor: Actor, before: datetime, after: datetime) -> None:
        with self.db.write() as session:
            admin_events.record(session, at=after, actor=actor.username, kind="clock_set", subject="clock",
                                data={"from": iso(before), "to": iso(after)})

    def reset_clock(self, actor: Actor) -> None:
        authz.require("admin.clock", actor)
        before = self.system.clock.now()
        self.system.clock.reset()
        self._clock_event(actor, before, self.system.clock.now())

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


def _token_view(row: ApiToken, username: str, now: datetime) -> dict[str, Any]:
    return {"id": row.id, "username": username, "name": row.name or "", "created_at": iso(row.created_at),
            "expires_at": iso(row.expires_at), "revoked_at": iso(row.revoked_at),
            "state": accounts.token_state(row, now)}


def _user_view(user: User, units: Mapping[str, str], live_tokens: int | None) -> dict[str, Any]:
    view = {"username": user.username, "display_name": user.display_name or user.username,
            "org_unit": user.org_unit, "unit_name": units.get(user.org_unit, user.org_unit),
            "roles": list(user.roles or []), "civil_servant": bool(user.civil_servant), "active": bool(user.active),
            "created_at": iso(user.created_at)}
    if live_tokens is not None:
        view["live_tokens"] = live_tokens
    return view


def _keep_an_admin(session, leaving: User) -> None:
    """Refuse to take the last active admin away: nobody could then administer the pages or the API."""
    others = [u for u in session.scalars(select(User).where(User.active.is_(True), User.id != leaving.id))
              if "admin" in (u.roles or [])]
    if not others:
        raise Conflict("这是最后一位在职的系统管理员，不能停用或取消其管理员角色 / this is the last active admin: "
                       "they cannot be deactivated or lose the admin role")


def _body_fields(body: Mapping[str, Any], allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> None:
    """Refuse unknown fields and name missing ones (nothing changes on either)."""
    problems = {name: "未知字段 / unknown field" for name in sorted(set(body) - set(allowed))}
    problems |= {name: "必填 / required" for name in required if name not in body}
    if problems:
        raise InvalidInput("请求字段有误 / wrong fields in the request", fields=problems)


def _string(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise InvalidInput(f"{name} 应为字符串 / {name} must be a string", fields={name: "应为字符串 / must be a string"})
    return value
