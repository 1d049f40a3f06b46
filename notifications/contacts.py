"""Where a user wants to be notified: channels, e-mail address and mobile number, validated."""
from __future__ import annotations

import re
from typing import Any, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.errors import InvalidInput, NotFound
from engine.reminders import CHANNELS
from engine.store import User

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland China mobile numbers (SMS needs a mobile)
UNSET: Any = object()


def normalize_email(value: str) -> str:
    email = (value or "").strip()
    if len(email) > 254 or not _EMAIL.match(email) or ".." in email:
        raise InvalidInput(f"邮箱地址无效：{value!r} / invalid e-mail address",
                           fields={"email": "邮箱地址无效 / invalid e-mail address"})
    return email


def normalize_phone(value: str) -> str:
    """'+86 138-0013-8000' → '13800138000'."""
    phone = re.sub(r"[\s()-]", "", value or "")
    for prefix in ("+86", "0086", "86"):
        if phone.startswith(prefix) and len(phone) == len(prefix) + 11:
            phone = phone[len(prefix):]
            break
    if not _MOBILE.match(phone):
        raise InvalidInput(f"手机号无效：{value!r}（应为 11 位大陆手机号）/ invalid mobile number (11 digits, 1[3-9]…)",
                           fields={"phone": "手机号无效 / invalid mobile number"})
    return phone


def normalize_channels(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        values = [v for v in values.replace(";", ",").split(",")]
    chosen = [str(v).strip().lower() for v in values if str(v).strip()]
    bad = [c for c in chosen if c not in CHANNELS]
    if bad or not chosen:
        raise InvalidInput(f"通道必须是 {', '.join(CHANNELS)} 中的至少一个 / channels: one or more of {', '.join(CHANNELS)}",
                           fields={"channels": f"可选 / choose from {', '.join(CHANNELS)}"})
    return list(dict.fromkeys(chosen))


def view(user: User) -> dict[str, Any]:
    return {"username": user.username, "channels": list(user.channels or ["inapp"]), "email": user.email,
            "phone": user.phone, "unit_head": bool(user.unit_head)}


def preferences(session: Session, username: str) -> dict[str, Any]:
    return view(_user(session, username))


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if user is None:
        raise NotFound(f"用户“{username}”不存在 / no such user {username!r}")
    return user


def set_preferences(session: Session, username: str, *, channels: Any = UNSET, email: Any = UNSET,
                    phone: Any = UNSET, unit_head: Any = UNSET) -> dict[str, Any]:
    """Change what is given (None clears an address); a channel needs its address. Nothing changes on an error."""
    user = _user(session, username)
    new_email = user.email if email is UNSET else (normalize_email(email) if email else None)
    new_phone = user.phone if phone is UNSET else (normalize_phone(phone) if phone else None)
    new_channels = list(user.channels or ["inapp"]) if channels is UNSET else normalize_channels(channels)
    fields = {}
    if "email" in new_channels and not new_email:
        fields["email"] = "选择邮件通道需要邮箱 / the email channel needs an e-mail address"
    if "sms" in new_channels and not new_phone:
        fields["phone"] = "选择短信通道需要手机号 / the sms channel needs a mobile number"
    if fields:
        raise InvalidInput("通知设置不完整 / incomplete notification settings", fields=fields)
    user.email, user.phone, user.channels = new_email, new_phone, new_channels
    if unit_head is not UNSET:
        user.unit_head = bool(unit_head)
    session.flush()
    return view(user)
