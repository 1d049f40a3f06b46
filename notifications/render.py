"""Notification texts from the Jinja2 templates in `notifications/templates/`, without Flask.

Each kind has `<kind>.txt` and `<kind>.html`. The first line of the rendered text is the subject
(the e-mail subject, the inbox title and the whole SMS); the rest is the plain-text body. Times
arrive in the payload as ISO 8601 and are shown in Asia/Shanghai.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from engine.calendar import ZONE

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str  # the plain-text body, without the subject line
    html: str

    @property
    def sms(self) -> str:
        return self.subject


def _when(value: Any) -> datetime | None:
    if not value:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.astimezone(ZONE)


def zh_time(value: Any) -> str:
    when = _when(value)
    return when.strftime("%Y年%m月%d日 %H:%M") if when else "—"


def en_time(value: Any) -> str:
    when = _when(value)
    return when.strftime("%Y-%m-%d %H:%M (Asia/Shanghai)") if when else "—"


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
                      trim_blocks=False, keep_trailing_newline=False)
    env.filters.update(zh_time=zh_time, en_time=en_time)
    return env


_env = _environment()


def kinds() -> list[str]:
    """The notification kinds that have templates."""
    return sorted(p.stem for p in TEMPLATES.glob("*.txt") if not p.name.startswith("_"))


def render(kind: str, payload: Mapping[str, Any], recipient: str) -> Rendered:
    """Render one notification for one recipient (a missing template or field raises: a programmer's error)."""
    context = {**payload, "recipient": recipient}
    text = _env.get_template(f"{kind}.txt").render(context).strip()
    subject, _, body = text.partition("\n")
    html = _env.get_template(f"{kind}.html").render(context).strip()
    return Rendered(subject.strip(), body.strip(), html)
