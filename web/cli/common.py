"""What every command of the command line shares: its context (settings and the services, built on
first use on an up-to-date schema), one-line errors in Chinese and English, and output helpers."""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from engine.config import Settings
from engine.definitions import DefinitionError
from engine.errors import EngineError
from usecases import CLI, Services, build_services

EXIT_ERROR = 1
EXIT_USAGE = 2  # bad arguments, a command that is switched off, or something named that does not exist
EXIT_INTERRUPTED = 130

ACTOR = CLI  # the command line acts as the system; its name in the history is "cli"


class CliError(Exception):
    """A user error already worded for the terminal: one line, Chinese first, then English."""

    def __init__(self, line: str, exit_code: int = EXIT_ERROR):
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints said in Chinese first as well."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"错误 / error: 命令参数有误 / bad arguments: {message}"
                              f"（用法见 / usage: {self.prog} --help）\n")


@dataclass
class Context:
    settings: Settings
    _services: Services | None = None
    _upgraded: bool = False

    @property
    def services(self) -> Services:
        """The application layer on an up-to-date schema, built on first use."""
        services = self.services_as_is
        if not self._upgraded:
            services.system.upgrade()
            self._upgraded = True
        return services

    @property
    def services_as_is(self) -> Services:
        """The application layer on the store as it is, not upgraded (`restore` wants it empty)."""
        if self._services is None:
            try:
                services = build_services(self.settings)
            except (ArgumentError, NoSuchModuleError) as exc:
                raise CliError(f"错误 / error: 数据库地址无效 / invalid database URL "
                               f"{safe_url(self.settings.database_url)}: {first_line(exc)}") from None
            except ImportError as exc:
                raise CliError(f"错误 / error: 缺少数据库驱动 / database driver not installed for "
                               f"{safe_url(self.settings.database_url)}: {exc.name or exc}") from None
            except OSError as exc:
                raise CliError(f"错误 / error: 无法打开数据库 / cannot open the database "
                               f"{safe_url(self.settings.database_url)}: {exc.strerror or exc}") from None
            self._services = services
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


def safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given; it cannot hold a parsed password
        return url


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def out(line: str = "") -> None:
    print(line, flush=True)


def note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def engine_error_line(exc: EngineError) -> str:
    line = f"错误 / error: {exc.message}"
    if exc.fields:
        line += " — " + "; ".join(f"{name}: {text}" for name, text in exc.fields.items())
    return line


def definition_error_line(exc: DefinitionError, folder: Path | None) -> str:
    where = ""
    if exc.file:
        where = str(folder / exc.file) if folder is not None else exc.file
    if exc.line:
        where += f":{exc.line}"
    if exc.element_id:
        where += f" [{exc.element_id}]" if where else f"[{exc.element_id}]"
    return f"错误 / error: {where}: {exc.message}" if where else f"错误 / error: {exc.message}"


def read_text(path: Path, what_zh: str, what_en: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"错误 / error: {what_zh}不存在 / no such {what_en}: {path}") from None
    except UnicodeDecodeError:
        raise CliError(f"错误 / error: {what_zh}不是 UTF-8 文本 / {what_en} is not UTF-8 text: {path}") from None
    except OSError as exc:
        raise CliError(f"错误 / error: 无法读取{what_zh} / cannot read {what_en} {path}: "
                       f"{exc.strerror or exc}") from None


def local_iso(ctx: Context, when: datetime) -> str:
    return when.astimezone(ZoneInfo(ctx.settings.timezone)).isoformat()


def log_to_stderr() -> None:
    """Log lines for an operator: INFO from us; only warnings from the libraries that chatter."""
    import logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("apscheduler", "spiff", "SpiffWorkflow"):  # SpiffWorkflow logs every task's change of state
        logging.getLogger(noisy).setLevel(logging.WARNING)
