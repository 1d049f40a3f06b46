"""A command in progress, its result, and the live workflows kept between commands."""
from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Protocol

from sqlalchemy.orm import Session

from .application import Actor, CaseSnapshot, ProcessApplication
from .audit import PendingEvent
from .errors import EngineError
from .rows import INDEXED


_command_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("fengqiao_actor", default=None)


@contextlib.contextmanager
def command_actor(username: str):
    """Who runs the command in progress, for BPMN scripts (`current_user()`), like `command_time`."""
    token = _command_actor.set(username)
    try:
        yield username
    finally:
        _command_actor.reset(token)


def current_username() -> str | None:
    return _command_actor.get()


class CommandObserver(Protocol):
    """What watches the commands (the web layer's metrics): told of each command and each firing."""

    def command(self, kind: str, outcome: str, seconds: float) -> None:
        """A command of `kind` ended with `outcome` (ok, or its error's code) after `seconds`."""

    def deadlines_fired(self, lags: list[float]) -> None:
        """Deadlines fired, each this many seconds after it was due (on the engine's clock)."""


def observed(kind: str) -> Callable:
    """Tell the engine's observer, if any, of each run of this command: its outcome and duration.
    Without an observer the command runs as it is (one attribute read)."""
    def wrap(method: Callable) -> Callable:
        @functools.wraps(method)
        def run(self, *args, **kwargs):
            observer = self.observer
            if observer is None:
                return method(self, *args, **kwargs)
            started, outcome = time.perf_counter(), "error"
            try:
                result = method(self, *args, **kwargs)
                outcome = "ok"
                return result
            except EngineError as exc:
                outcome = exc.code
                raise
            finally:
                observer.command(kind, outcome, time.perf_counter() - started)
        return run
    return wrap


@dataclass(frozen=True)
class CommandResult:
    case_id: int
    version: int
    status: str
    opened_tasks: tuple[int, ...] = ()  # ids of the tasks this command opened


@dataclass
class Ctx:
    """One command in progress."""
    session: Session
    now: datetime
    actor: Actor
    app: ProcessApplication
    case: dict[str, Any]
    workflow: Any
    known: "Known | None" = None
    events: list[PendingEvent] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)

    def __post_init__(self):
        self.conn = self.session.connection()
        # The indexed columns as the command found the case: the write leaves out those it did not change.
        self.found = {name: self.case.get(name) for name in INDEXED}

    def event(self, kind: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        self.events.append(PendingEvent(kind, data or {}, actor or self.actor.username))

    @property
    def snapshot(self) -> CaseSnapshot:
        c = self.case
        return CaseSnapshot(c["id"], c["type"], c["level"], c["jurisdiction"], c["data"], c.get("owner"),
                            c.get("status", "open"), c.get("outcome"), c.get("closed_at"),
                            tuple(c.get("flags") or ()))


@dataclass
class Known:
    """The case's pending timer rows and ready task rows as the last command left them.

    Valid exactly as long as the case version is unchanged, like the live workflow it travels
    with, so a command on a cached case need not read them back."""
    timers: dict[str, dict[str, Any]]
    tasks: dict[str, Any]
    data: dict[str, Any] | None = None  # the process data as the last command left it (rt.workflow_data)


class WorkflowCache:
    """Live workflows by case, valid for exactly one case version.

    A command takes the workflow out (so no two threads ever move the same object) and puts
    it back only after its transaction committed; a failed command simply drops it.
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int) -> tuple[Any, Known] | None:
        with self._lock:
            item = self._items.pop(case_id, None)
        return item[1] if item is not None and item[0] == version else None

    def holds(self, case_ids) -> set[int]:
        """Which of these cases have a live workflow here (of some version), without taking any."""
        with self._lock:
            return {case_id for case_id in case_ids if case_id in self._items}

    def put(self, case_id: int, version: int, workflow, known: Known | None) -> None:
        if self.size <= 0 or workflow is None or known is None:
            return
        with self._lock:
            self._items[case_id] = (version, (workflow, known))
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
