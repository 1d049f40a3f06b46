"""What one request reads once: the county's org tree and a user's relations to a case.

A case page asks four use cases about one case (the case, its history, its diagram, its documents),
and each of them, in a unit of work of its own, read the county's org units again and asked the
store again whether the user handles the case: a task page three. Inside `begin()` … `end()` (the web
layer opens one around every request) the first read of each is kept and the others use it.

Kept only from read sessions (`Database.read`), and all of it forgotten the moment anything of
the process's thread commits (a session or a command's own connection): a command reads in its own transaction, and what is read after a
command sees the store as the command left it. Nothing is kept from one request to the next, so a
unit or a task changed by another process is seen by the next request. Outside a scope (the command
line, the scheduler, tests calling use cases) nothing is kept.
"""
from __future__ import annotations

from collections.abc import Callable, Hashable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from engine.db import READ_ONLY_SESSION

T = TypeVar("T")
_KEPT: ContextVar[dict[Hashable, Any] | None] = ContextVar("fengqiao_request_kept", default=None)


def begin() -> Token:
    """Start keeping reads for this request (its thread and context); `end` with the token."""
    return _KEPT.set({})


def end(token: Token) -> None:
    try:
        _KEPT.reset(token)
    except ValueError:  # ended in another context than it began in: stop keeping all the same
        _KEPT.set(None)


def kept(session: Session, key: Hashable, load: Callable[[], T]) -> T:
    """`load()`'s answer, read once per request for a read session; read afresh otherwise."""
    found = _KEPT.get()
    if found is None or not session.info.get(READ_ONLY_SESSION):
        return load()
    if key not in found:
        found[key] = load()
    return found[key]


@event.listens_for(Engine, "commit")  # any connection's commit: an ORM session's, and a command's own
def _forget(_connection) -> None:  # (engine/db.py `Database.command` commits its connection, no session)
    found = _KEPT.get()
    if found:
        found.clear()
