"""The `fengqiao` command line (ARCHITECTURE.md part B, "Command line: fengqiao").

Each command builds the application layer from FENGQIAO_* settings, brings the schema to the newest
revision (cheap when it already is), runs one use case as the system and prints the outcome. Errors
a user can cause print one line, Chinese first and English after, on stderr and exit non-zero
(2 for bad arguments and for something named that does not exist); they never show a traceback.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Sequence

from alembic.util.exc import CommandError as AlembicError
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError

from engine.calendar import CalendarDataError
from engine.config import Settings
from engine.definitions import DefinitionError
from engine.errors import EngineError

from . import definitions, operations, people, records, service
from .common import (EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, CliError, Context, Parser, definition_error_line,
                     engine_error_line, first_line, note, safe_url)


def build_parser() -> Parser:
    parser = Parser(prog="fengqiao", description="枫桥：矛盾纠纷调解与信访案件流程引擎 / "
                                                 "fengqiao: mediation and petition case workflow engine")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)

    def command(name: str, handler: Callable | None, help_text: str, parent=commands) -> Parser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    def subcommands(group: Parser, dest: str):
        return group.add_subparsers(dest=dest, metavar="ACTION", required=True, parser_class=Parser)

    service.add_commands(command)
    people.add_commands(command, subcommands)
    records.add_commands(command, subcommands)
    operations.add_commands(command)
    definitions.add_commands(command, subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or bad arguments (already reported)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        note(f"错误 / error: FENGQIAO_* 配置有误 / invalid FENGQIAO_* setting: {exc}")
        return EXIT_ERROR
    ctx = Context(settings)
    try:
        return args.handler(ctx, args)
    except CliError as exc:
        note(exc.line)
        return exc.exit_code
    except EngineError as exc:
        note(engine_error_line(exc))
        return EXIT_ERROR
    except DefinitionError as exc:
        note(definition_error_line(exc, None))
        return EXIT_ERROR
    except CalendarDataError as exc:
        note(f"错误 / error: {exc}")
        return EXIT_ERROR
    except (OperationalError, InterfaceError) as exc:
        note(f"错误 / error: 无法打开数据库 / cannot open the database {safe_url(settings.database_url)}: "
             f"{first_line(exc)}")
        return EXIT_ERROR
    except SQLAlchemyError as exc:
        note(f"错误 / error: 数据库错误 / database error: {first_line(exc)}")
        return EXIT_ERROR
    except AlembicError as exc:
        note(f"错误 / error: 无法升级数据库结构 / cannot upgrade the database schema: {first_line(exc)}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        note("已取消 / cancelled")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`fengqiao … | head`): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR
    finally:
        ctx.close()
