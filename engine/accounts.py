"""Org units, users and API tokens. Passwords are scrypt-hashed; tokens are stored only as sha256."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import re
from datetime import datetime, timedelta, timezone
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .application import Actor
from .errors import Conflict, InvalidInput, NotFound, Unauthenticated
from .store import ApiToken, OrgUnit, User

LEVELS = ("county", "town", "village")
PARENT_LEVEL = {"town": "county", "village": "town"}
_ROLE_CODE = re.compile(r"^[a-z][a-z_]{0,31}$")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2 ** 14, r=8, p=1)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(stored: str, password: str) -> bool:
    try:
        scheme, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=2 ** 14, r=8, p=1)
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def add_org_unit(session: Session, code: str, name: str, level: str, parent: str | None) -> OrgUnit:
    errors = {}
    if not code or not code.replace("_", "").replace("-", "").isalnum() or code.lower() != code or not code.isascii():
        errors["code"] = "代码只能用小写英文字母、数字、- 和 _ / lowercase ASCII letters, digits, - and _ only"
    if level not in LEVELS:
        errors["level"] = "级别必须是 county、town 或 village / level must be county, town or village"
    if not name:
        errors["name"] = "必填 / required"
    if errors:
        raise InvalidInput("单位信息有误 / invalid org unit", fields=errors)
    if session.get(OrgUnit, code) is not None:
        raise InvalidInput(f"单位代码“{code}”已存在 / org unit {code!r} exists", fields={"code": "已存在 / exists"})
    if level == "county":
        if parent:
            raise InvalidInput("县级单位没有上级 / a county has no parent", fields={"parent": "应为空 / must be empty"})
    else:
        parent_unit = session.get(OrgUnit, parent) if parent else None
        if parent_unit is None or parent_unit.level != PARENT_LEVEL[level]:
            this, want = {"town": ("镇", "县"), "village": ("村（社区）", "镇")}[level]
            raise InvalidInput(f"{this}的上级必须是已有的{want}级单位 / the parent of a {level} must be an existing "
                               f"{PARENT_LEVEL[level]}", fields={"parent": "上级单位不符 / wrong parent"})
    unit = OrgUnit(code=code, name=name, level=level, parent=parent or None)
    session.add(unit)
    session.flush()
    return unit


def role_errors(roles: list[str], known_roles: Iterable[str] | None) -> str | None:
    """Why `roles` cannot be given to a user, or None: each must be one of `known_roles` (the process
    application's roles), or at least a role code when the caller names none."""
    known = tuple(known_roles) if known_roles is not None else None
    bad = [r for r in roles if not isinstance(r, str) or not _ROLE_CODE.match(r) or (known is not None and r not in known)]
    if roles and not bad:
        return None
    if known is None:
        return "角色代码只能用小写英文字母和 _ / role codes are lowercase ASCII letters and _"
    return f"角色必须是 {', '.join(known)} 之一 / role must be one of {', '.join(known)}"


def add_user(session: Session, username: str, roles: list[str], org: str, password: str, *, now: datetime,
             civil_servant: bool = False, display_name: str = "", known_roles: Iterable[str] | None = None) -> User:
    errors = {}
    if (not username or len(username) > 64 or not username.isascii()
            or not username.replace("_", "").replace(".", "").replace("-", "").isalnum()):
        errors["username"] = "用户名只能用英文字母、数字、. - _（最多 64 个）/ ASCII letters, digits, . - _ only (at most 64)"
    problem = role_errors(roles, known_roles)
    if problem:
        errors["role"] = problem
    if session.get(OrgUnit, org) is None:
        errors["org"] = f"单位“{org}”不存在 / no org unit {org!r}"
    if len(password) < 8:
        errors["password"] = "密码至少 8 位 / at least 8 characters"
    if errors:
        raise InvalidInput("用户信息有误 / invalid user", fields=errors)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidInput(f"用户名“{username}”已存在 / user {username!r} exists", fields={"username": "已存在 / exists"})
    user = User(username=username, display_name=display_name or username, org_unit=org, roles=list(dict.fromkeys(roles)),
                civil_servant=civil_servant, password_hash=hash_password(password), created_at=now)
    session.add(user)
    session.flush()
    return user


def actor_of(user: User) -> Actor:
    return Actor(user.username, frozenset(user.roles or []), user.org_unit, bool(user.civil_servant))


def find_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"用户“{username}”不存在 / no such user {username!r}")
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DEFAULT_TOKEN_DAYS = 90
MAX_TOKEN_DAYS = 3650
TOKEN_NAME_MAX = 100


def token_days_error(days: object) -> str | None:
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_TOKEN_DAYS:
        return f"有效天数应为 1 到 {MAX_TOKEN_DAYS} 之间的整数 / days must be a whole number from 1 to {MAX_TOKEN_DAYS}"
    return None


def issue_token(session: Session, username: str, now: datetime, *, days: int = DEFAULT_TOKEN_DAYS,
                name: str = "") -> tuple[str, ApiToken]:
    """A new token for an active user, valid for `days` from `now`: the secret (shown once) and its row."""
    fields = {}
    problem = token_days_error(days)
    if problem:
        fields["days"] = problem
    if not isinstance(name, str) or len(name.strip()) > TOKEN_NAME_MAX:
        fields["name"] = f"名称最多 {TOKEN_NAME_MAX} 个字 / at most {TOKEN_NAME_MAX} characters"
    if fields:
        raise InvalidInput("令牌信息有误 / invalid token", fields=fields)
    user = user_by_name(session, username)
    if not user.active:
        raise Conflict(f"用户“{username}”已停用，不能发放令牌 / user {username!r} is deactivated: no token for them")
    token = "fq_" + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, token_hash=_token_digest(token), created_at=now, name=name.strip(),
                   expires_at=now + timedelta(days=days), revoked=False)
    session.add(row)
    session.flush()
    return token, row


def create_token(session: Session, username: str, now: datetime, *, days: int = DEFAULT_TOKEN_DAYS,
                 name: str = "") -> str:
    return issue_token(session, username, now, days=days, name=name)[0]


def token_state(row: ApiToken, now: datetime) -> str:
    """active | expired | revoked"""
    if row.revoked:
        return "revoked"
    if row.expires_at is None or row.expires_at <= now:
        return "expired"
    return "active"


def actor_for_token(session: Session, token: str, now: datetime | None = None) -> Actor:
    """The actor of a token that is neither revoked nor expired, of an active user; else Unauthenticated."""
    now = now or datetime.now(timezone.utc)
    row = session.execute(select(User, ApiToken.expires_at).join(ApiToken, ApiToken.user_id == User.id).where(
        ApiToken.token_hash == _token_digest(token), ApiToken.revoked.is_(False), User.active.is_(True))).first()
    if row is None:
        raise Unauthenticated("令牌无效、已撤销或其用户已停用 / invalid or revoked token, or its user is deactivated")
    user, expires_at = row
    if expires_at is None or expires_at <= now:
        raise Unauthenticated("令牌已过期，请管理员重新发放 / the token has expired: ask an admin for a new one")
    return actor_of(user)


def user_by_name(session: Session, username: str) -> User:
    """A user, active or not (administration sees both)."""
    user = session.scalar(select(User).where(User.username == username)) if isinstance(username, str) else None
    if user is None:
        raise NotFound(f"用户“{username}”不存在 / no such user {username!r}")
    return user


def password_error(password: object) -> str | None:
    if not isinstance(password, str) or len(password) < 8:
        return "密码至少 8 位 / at least 8 characters"
    if len(password) > 1000:
        return "密码最多 1000 位 / at most 1000 characters"
    return None


def set_password(user: User, password: str) -> None:
    """A new password; page sessions signed in with the old one end (the version counts up)."""
    problem = password_error(password)
    if problem:
        raise InvalidInput("密码不符合要求 / the password is not acceptable", fields={"password": problem})
    user.password_hash = hash_password(password)
    user.credentials_version = (user.credentials_version or 0) + 1
