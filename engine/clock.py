"""The one source of "now" for the engine, and the simulated clock of the contract.

A command reads the clock once and runs entirely at that instant (`command_time`), so every
row, event and SpiffWorkflow timer written by one command carries the same time.
"""
from __future__ import annotations

import contextvars
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterator

from .errors import InvalidInput

_command_now: contextvars.ContextVar[datetime | None] = contextvars.ContextVar("fengqiao_now", default=None)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def current_time() -> datetime:
    """The time of the command in progress, or the real time outside a command."""
    return _command_now.get() or utcnow()


@contextmanager
def command_time(now: datetime) -> Iterator[datetime]:
    if now.tzinfo is None:
        raise ValueError("command time must be timezone-aware")
    token = _command_now.set(now)
    try:
        yield now
    finally:
        _command_now.reset(token)


class Clock:
    """Real time."""
    simulated = False

    def now(self) -> datetime:
        return utcnow()


class SimulatedClock(Clock):
    """A frozen instant kept by the store, shared by every process on that database.

    `load` and `save` read and write the stored ISO time (None = not set: real time).
    """
    simulated = True

    def __init__(self, load: Callable[[], str | None], save: Callable[[str | None], None]):
        self._load = load
        self._save = save

    def now(self) -> datetime:
        stored = self._load()
        return datetime.fromisoformat(stored) if stored else utcnow()

    def is_set(self) -> bool:
        """False while no time has been set: the clock then shows the real time."""
        return self._load() is not None

    def set(self, when: datetime) -> datetime:
        if when.tzinfo is None:
            raise InvalidInput("时间必须带时区，例如 2026-10-01T09:00:00+08:00 / the time needs an offset")
        self._save(when.astimezone(timezone.utc).isoformat())
        return when

    def advance(self, delta: timedelta) -> datetime:
        when = self.now() + delta
        self._save(when.isoformat())
        return when

    def reset(self) -> None:
        self._save(None)


_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """'15d', '3h', '90m', '30s' → timedelta (the `clock advance` argument)."""
    parts = re.findall(r"(\d+)\s*([dhmsDHMS])", text or "")
    if not parts or re.sub(r"(\d+)\s*([dhmsDHMS])", "", text).strip():
        raise InvalidInput(f"无法识别的时长 “{text}”，请写成 15d、3h、30m 或 1d12h / "
                           f"unrecognised duration {text!r}: use 15d, 3h, 30m or 1d12h")
    delta = timedelta()
    for amount, unit in parts:
        delta += timedelta(**{_UNITS[unit.lower()]: int(amount)})
    return delta


def parse_instant(text: str) -> datetime:
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"无法识别的时间 “{text}”，请写成 ISO 8601，例如 2026-10-01T09:00:00+08:00 / "
                           f"unrecognised time {text!r}: use ISO 8601 with an offset") from None
    if when.tzinfo is None:
        raise InvalidInput("时间必须带时区，例如 2026-10-01T09:00:00+08:00 / the time needs an offset")
    return when
