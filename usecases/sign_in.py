"""Signing in to the pages: passwords, the lock-out after repeated failures, and the sign-in log.

Every attempt is written to `sign_in_log` in a transaction of its own, so a refused attempt is on
record even though nothing else changes, and auditors can read who tried which user name from where.
The lock-out counts failures per account and per client address: guessing many passwords for one
user, or one password for many users, both stop after `signin_max_failures`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from engine.accounts import actor_of, check_password, hash_password
from engine.application import Actor
from engine.errors import InvalidInput, Unauthenticated
from engine.store import OrgUnit, SignInLog, User
from engine.system import System

LANGUAGES = ("zh", "en")
WRONG_CREDENTIALS = "用户名或密码不正确 / wrong user name or password"
NOT_SIGNED_IN = "您的账号已停用或不存在，请重新登录 / your account is deactivated or unknown: sign in again"

# Failures that count towards a lock-out. Attempts refused because of a lock are logged but do not
# count, so a lock lasts exactly `signin_lock_minutes` from the failure that caused it.
_COUNTED = ("wrong_password", "unknown_user", "inactive")
_USERNAME_MAX = 200
_ADDRESS_MAX = 64


class LockedOut(Unauthenticated):
    """Too many failed sign-ins for this user name or from this address: refused without checking."""
    code = "locked_out"

    def __init__(self, until: datetime, now: datetime, scope: str):
        self.until = until
        self.scope = scope  # "account" | "address"
        self.minutes_left = max(1, math.ceil((until - now).total_seconds() / 60))
        m = self.minutes_left
        if scope == "account":
            message = (f"该用户名登录失败次数过多，已暂停登录，请 {m} 分钟后再试 / "
                       f"too many failed sign-ins for this user name: try again in {m} minutes")
        else:
            message = (f"从您的网络地址登录失败次数过多，已暂停登录，请 {m} 分钟后再试 / "
                       f"too many failed sign-ins from your network address: try again in {m} minutes")
        super().__init__(message)


@dataclass(frozen=True)
class SignedInUser:
    """What a page shows of the person signed in, with the actor its commands run as."""
    actor: Actor
    display_name: str
    unit_name: str
    language: str | None
    credentials_version: int = 0  # counted up by a password reset: older page sessions end

    @property
    def username(self) -> str:
        return self.actor.username


_dummy_hash: str | None = None


def _hash_for_unknown_users() -> str:
    # An unknown user name costs the same scrypt as a known one, so timing does not tell them apart.
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("no user has this password")
    return _dummy_hash


class SignIns:
    def __init__(self, system: System):
        self.system = system

    @property
    def _max_failures(self) -> int:
        return self.system.settings.signin_max_failures

    @property
    def _lock(self) -> timedelta:
        return timedelta(minutes=self.system.settings.signin_lock_minutes)

    def sign_in(self, username: str, password: str, client_address: str | None) -> Actor:
        """The actor for a correct user name and password; `Unauthenticated` (or `LockedOut`) otherwise."""
        now = self.system.clock.now()
        typed = (username or "").strip()[:_USERNAME_MAX]
        address = (client_address or "")[:_ADDRESS_MAX]
        with self.system.db.read() as session:
            locked = self._locked(session, typed, address, now)
            user = session.scalar(select(User).where(User.username == typed)) if typed and not locked else None
            # Read before the session closes (closing expires the row); scrypt then runs outside it.
            stored, active, actor = (user.password_hash, user.active, actor_of(user)) if user else (None, False, None)
        if locked is not None:
            until, scope = locked
            self._log(now, typed, address, False, f"locked_{scope}")
            raise LockedOut(until, now, scope)
        good = check_password(stored or _hash_for_unknown_users(), password or "")
        if actor is None or not good or not active:
            reason = "unknown_user" if actor is None else "wrong_password" if not good else "inactive"
            self._log(now, typed, address, False, reason)
            raise Unauthenticated(WRONG_CREDENTIALS)
        self._log(now, typed, address, True, "ok")
        return actor

    def actor_for(self, username: str) -> Actor:
        """The actor of a signed-in user, on every request: a deactivated user is refused at once."""
        return self.signed_in_user(username).actor

    def signed_in_user(self, username: str) -> SignedInUser:
        """`actor_for` with what the page header shows (name, unit, chosen language), in one query."""
        with self.system.db.read() as session:
            row = session.execute(
                select(User, OrgUnit.name).outerjoin(OrgUnit, OrgUnit.code == User.org_unit)
                .where(User.username == username)).first()
            if row is None or not row[0].active:
                raise Unauthenticated(NOT_SIGNED_IN)
            user, unit_name = row
            return SignedInUser(actor_of(user), user.display_name or user.username, unit_name or user.org_unit,
                                user.language, user.credentials_version or 0)

    def set_language(self, username: str, lang: str) -> None:
        if lang not in LANGUAGES:
            raise InvalidInput("语言只能是 zh 或 en / the language must be zh or en",
                               fields={"lang": "zh | en"})
        with self.system.db.write() as session:
            user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
            if user is None:
                raise Unauthenticated(NOT_SIGNED_IN)
            user.language = lang

    def recent(self, limit: int = 50, after: datetime | None = None) -> list[dict]:
        """The newest sign-in attempts first (only those later than `after`, when given)."""
        limit = max(1, min(int(limit), 1000))
        query = select(SignInLog).order_by(SignInLog.at.desc(), SignInLog.id.desc()).limit(limit)
        if after is not None:
            query = query.where(SignInLog.at > after)
        with self.system.db.read() as session:
            return [{"id": r.id, "at": r.at.isoformat(), "username": r.username, "client_address": r.client_address,
                     "ok": r.ok, "reason": r.reason} for r in session.scalars(query)]

    # --- the lock-out ---------------------------------------------------------------------------
    def _locked(self, session, username: str, address: str, now: datetime) -> tuple[datetime, str] | None:
        """(until, "account" | "address") while either is locked."""
        # A correct sign-in forgives the account's earlier typos; an address is never forgiven, or
        # one's own account would reset the count between guesses at others. (By row id, not time:
        # under the simulated clock every attempt may carry the same instant.)
        last_success = session.scalar(select(func.max(SignInLog.id)).where(
            SignInLog.username == username, SignInLog.ok.is_(True))) if username else None
        for scope, column, value, after_id in (("account", SignInLog.username, username, last_success),
                                               ("address", SignInLog.client_address, address, None)):
            until = self._locked_until(session, column, value, now, after_id)
            if until is not None:
                return until, scope
        return None

    def _locked_until(self, session, column, value: str, now: datetime, after_id: int | None) -> datetime | None:
        # Locked when the newest `max` counted failures lie within one lock period, until one period
        # after the newest of them. Rows older than two periods cannot matter, which bounds the scan.
        query = (select(SignInLog.at).where(column == value, SignInLog.ok.is_(False),
                                            SignInLog.reason.in_(_COUNTED), SignInLog.at <= now,
                                            SignInLog.at > now - 2 * self._lock)
                 .order_by(SignInLog.at.desc()).limit(self._max_failures))
        if after_id is not None:
            query = query.where(SignInLog.id > after_id)
        times = list(session.scalars(query))
        if len(times) < self._max_failures or times[0] - times[-1] > self._lock:
            return None
        until = times[0] + self._lock
        return until if now < until else None

    def _log(self, now: datetime, username: str, address: str, ok: bool, reason: str) -> None:
        with self.system.db.write() as session:
            session.add(SignInLog(at=now, username=username, client_address=address, ok=ok, reason=reason))
