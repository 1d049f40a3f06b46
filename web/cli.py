"""The `fengqiao` command line (ARCHITECTURE.md part B, "Command line: fengqiao").

Each command builds the System from FENGQIAO_* settings, brings the schema to the newest
revision (cheap when it already is), runs one use case and prints the outcome. Errors a user can
cause print one line, Chinese first and English after, on stderr and exit non-zero; they never
show a traceback.
"""
from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable, NoReturn, Sequence
from zoneinfo import ZoneInfo

from alembic.util.exc import CommandError as AlembicError
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError, SQLAlchemyError

from engine.accounts import ROLES, add_org_unit, add_user, create_token
from engine.audit import verify_cases
from engine.calendar import CalendarDataError
from engine.clock import parse_duration, parse_instant
from engine.config import Settings
from engine.definitions import DefinitionError, parse_decisions, parse_files
from engine.definitions_repo import DeployResult, deploy, deploy_decisions
from engine.errors import EngineError, InvalidInput, NotFound
from engine.store import Case, OrgUnit
from engine.system import System
from workflows.registry import build_system

EXIT_ERROR = 1
EXIT_USAGE = 2  # bad arguments, or a command that is switched off (the clock without simulation)
EXIT_INTERRUPTED = 130

CLI_ACTOR = "cli"
DEFINITION_SUFFIXES = (".bpmn", ".dmn")


class CliError(Exception):
    """A user error already worded for the terminal: one line, Chinese first, then English."""

    def __init__(self, line: str, exit_code: int = EXIT_ERROR):
        super().__init__(line)
        self.line = line
        self.exit_code = exit_code


# ---------------------------------------------------------------------------- plumbing

class _Parser(argparse.ArgumentParser):
    """argparse, with its complaints said in Chinese first as well."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"错误 / error: 命令参数有误 / bad arguments: {message}"
                              f"（用法见 / usage: {self.prog} --help）\n")


@dataclass
class _Context:
    settings: Settings
    _system: System | None = None

    @property
    def system(self) -> System:
        """The System on an up-to-date schema, built on first use."""
        if self._system is None:
            try:
                system = build_system(self.settings)
            except (ArgumentError, NoSuchModuleError) as exc:
                raise CliError(f"错误 / error: 数据库地址无效 / invalid database URL "
                               f"{_safe_url(self.settings.database_url)}: {_first_line(exc)}") from None
            except ImportError as exc:
                raise CliError(f"错误 / error: 缺少数据库驱动 / database driver not installed for "
                               f"{_safe_url(self.settings.database_url)}: {exc.name or exc}") from None
            except OSError as exc:
                raise CliError(f"错误 / error: 无法打开数据库 / cannot open the database "
                               f"{_safe_url(self.settings.database_url)}: {exc.strerror or exc}") from None
            self._system = system
            system.upgrade()
        return self._system

    def close(self) -> None:
        if self._system is not None:
            self._system.close()


def _safe_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparsable URL is shown as given; it cannot hold a parsed password
        return url


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def _out(line: str = "") -> None:
    print(line, flush=True)


def _note(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _engine_error_line(exc: EngineError) -> str:
    line = f"错误 / error: {exc.message}"
    if exc.fields:
        line += " — " + "; ".join(f"{name}: {text}" for name, text in exc.fields.items())
    return line


def _definition_error_line(exc: DefinitionError, folder: Path | None) -> str:
    where = ""
    if exc.file:
        where = str(folder / exc.file) if folder is not None else exc.file
    if exc.line:
        where += f":{exc.line}"
    if exc.element_id:
        where += f" [{exc.element_id}]" if where else f"[{exc.element_id}]"
    return f"错误 / error: {where}: {exc.message}" if where else f"错误 / error: {exc.message}"


def _read_text(path: Path, what_zh: str, what_en: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CliError(f"错误 / error: {what_zh}不存在 / no such {what_en}: {path}") from None
    except UnicodeDecodeError:
        raise CliError(f"错误 / error: {what_zh}不是 UTF-8 文本 / {what_en} is not UTF-8 text: {path}") from None
    except OSError as exc:
        raise CliError(f"错误 / error: 无法读取{what_zh} / cannot read {what_en} {path}: "
                       f"{exc.strerror or exc}") from None


def _zone(ctx: _Context) -> ZoneInfo:
    return ZoneInfo(ctx.settings.timezone)


def _local_iso(ctx: _Context, when: datetime) -> str:
    return when.astimezone(_zone(ctx)).isoformat()


# ---------------------------------------------------------------------------- init, serve, deploy

def _has_definitions(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() and p.suffix.lower() in DEFINITION_SUFFIXES
                                   for p in folder.iterdir())


def _print_deployed(results: list[DeployResult]) -> None:
    width = max((len(r.process_key) for r in results), default=0)
    for r in results:
        state = "新版本 / new" if r.created else "未变 / unchanged"
        kind = "  决策表 / decision" if r.kind == "decision" else ""
        _out(f"{r.process_key:<{width}}  v{r.version}  {state}{kind}")


def _deploy_folder_or_file(ctx: _Context, path: Path) -> list[DeployResult]:
    """Validate everything first, then store it in one transaction: all or nothing."""
    folder = path if path.is_dir() else path.parent
    try:
        if path.is_dir():
            files = {p.name: p.read_bytes() for p in sorted(path.iterdir())
                     if p.is_file() and p.suffix.lower() in DEFINITION_SUFFIXES}
        elif path.is_file():
            if path.suffix.lower() not in DEFINITION_SUFFIXES:
                raise CliError(f"错误 / error: 只能部署 .bpmn 或 .dmn 文件 / only .bpmn and .dmn files can be "
                               f"deployed: {path}")
            files = {path.name: path.read_bytes()}
        else:
            raise CliError(f"错误 / error: 路径不存在 / no such file or directory: {path}")
        # Every DMN decision is also versioned on its own (a rate table deployed alone prices the
        # cases closed after it); a bundle of DMN files only deploys just those.
        decisions = parse_decisions(files)
        has_bpmn = any(name.lower().endswith(".bpmn") for name in files)
        definitions = parse_files(files) if has_bpmn or not decisions else {}
    except DefinitionError as exc:
        raise CliError(_definition_error_line(exc, folder)) from None
    except OSError as exc:
        raise CliError(f"错误 / error: 无法读取 / cannot read {path}: {exc.strerror or exc}") from None
    system = ctx.system
    with system.db.write() as session:
        now = system.clock.now()
        return (deploy(session, definitions, now=now, actor=CLI_ACTOR)
                + deploy_decisions(session, decisions, now=now, actor=CLI_ACTOR))


def _init(ctx: _Context, demo: bool) -> None:
    system = ctx.system  # creates or upgrades the schema
    _out(f"数据库已就绪 / database ready: {_safe_url(ctx.settings.database_url)}")
    bpmn_dir = ctx.settings.bpmn_dir
    if _has_definitions(bpmn_dir):
        _print_deployed(_deploy_folder_or_file(ctx, bpmn_dir))
    else:
        _out(f"未部署流程：{bpmn_dir.name}/ 中没有 BPMN 或 DMN 文件 / nothing deployed: "
             f"no BPMN or DMN files in {bpmn_dir.name}/")
    if demo:
        from web.demo import seed_demo
        with system.db.write() as session:
            accounts = seed_demo(session, system.clock.now())
        if accounts is None:
            _out("演示县已存在，未作改动；密码只在创建时显示一次 / the demo county exists: nothing changed "
                 "(passwords were shown only when it was created)")
            return
        _out("已创建演示县 / demo county created. 以下密码只显示这一次，请保存 / "
             "these passwords are shown only once, save them:")
        width = max(len(a.username) for a in accounts)
        for a in accounts:
            _out(f"  {a.username:<{width}}  {a.password}  {','.join(a.roles)} @ {a.org}（{a.org_name}）"
                 f"  {a.display_name}")
        from web.demo import seed_demo_cases
        cases = seed_demo_cases(system)
        if cases:
            _out("演示案件 / demo cases:")
            for line in cases:
                _out(f"  {line}")


def cmd_init(ctx: _Context, args: argparse.Namespace) -> int:
    _init(ctx, args.demo)
    return 0


def cmd_serve(ctx: _Context, args: argparse.Namespace) -> int:
    _init(ctx, args.demo)
    try:
        from web.app import create_app
    except ModuleNotFoundError as exc:
        if exc.name not in ("web.app",):
            raise
        raise CliError("错误 / error: 网页应用（web.app）尚未安装 / the web application (web.app) is missing") from None
    app = create_app(system=ctx.system)
    url = f"http://{args.host}:{args.port}/"
    scheduler = None
    if ctx.settings.scheduler_in_serve:  # off when `fengqiao scheduler` runs on its own
        _log_to_stderr()
        _stop_on_sigterm()  # so that the scheduler hands its lease over on the way out
        scheduler = _scheduler(ctx.system)
        scheduler.start()
    _out(f"fengqiao 已启动 / serving on {url}  （Ctrl+C 停止 / to stop）")
    try:
        try:
            import waitress  # a production WSGI server, used when it is installed
        except ImportError:
            from werkzeug.serving import run_simple
            run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
        else:
            waitress.serve(app, host=args.host, port=args.port, threads=8)
    except OSError as exc:
        raise CliError(f"错误 / error: 无法在 {args.host}:{args.port} 上监听 / cannot listen on "
                       f"{args.host}:{args.port}: {exc.strerror or exc}") from None
    finally:
        if scheduler is not None:
            scheduler.stop()
    return 0


def cmd_deploy(ctx: _Context, args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else ctx.settings.bpmn_dir
    _print_deployed(_deploy_folder_or_file(ctx, path))
    return 0


def cmd_sweep(ctx: _Context, args: argparse.Namespace) -> int:
    fired = ctx.system.sweep()
    _out(f"已触发 {fired} 个到期事项 / fired {fired} due deadline(s)")
    return 0


# ---------------------------------------------------------------------------- scheduler, notifications

def _log_to_stderr() -> None:
    import logging
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


def _stop_on_sigterm() -> None:
    import signal

    def interrupt(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def _scheduler(system: System):
    """The deadline scheduler with the outbox dispatcher (web is where the two are put together)."""
    from engine.scheduler import DeadlineScheduler
    from notifications.dispatcher import OutboxDispatcher
    return DeadlineScheduler(system, OutboxDispatcher.for_system(system))


def cmd_scheduler(ctx: _Context, args: argparse.Namespace) -> int:
    import signal
    import threading
    system = ctx.system
    _log_to_stderr()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    _out("调度器已启动 / scheduler running  （Ctrl+C 停止 / to stop）")
    _scheduler(system).run_forever(stop)
    _out("调度器已停止 / scheduler stopped")
    return 0


def cmd_user_set(ctx: _Context, args: argparse.Namespace) -> int:
    from notifications.contacts import UNSET, set_preferences
    changes = {"channels": args.channels if args.channels is not None else UNSET,
               "email": args.email if args.email is not None else UNSET,
               "phone": args.phone if args.phone is not None else UNSET,
               "unit_head": args.unit_head if args.unit_head is not None else UNSET}
    with ctx.system.db.write() as session:
        view = set_preferences(session, args.username, **changes)
    head = "，单位负责人 / unit head" if view["unit_head"] else ""
    _out(f"{view['username']}: 通道 / channels {','.join(view['channels'])}; 邮箱 / email {view['email'] or '—'}; "
         f"手机 / phone {view['phone'] or '—'}{head}")
    return 0


def cmd_outbox_list(ctx: _Context, args: argparse.Namespace) -> int:
    from notifications.outbox import list_messages
    with ctx.system.db.read() as session:
        items, _ = list_messages(session, status=args.status, limit=args.limit)
    if not items:
        _out("没有通知 / no messages")
    for m in items:
        error = f"  {m['last_error']}" if m["last_error"] else ""
        _out(f"#{m['id']}  {m['status']:<7} {m['channel']:<5} {m['recipient']:<16} {m['kind']:<28} "
             f"{m['attempts']} 次 / attempt(s){error}")
    return 0


def cmd_outbox_retry(ctx: _Context, args: argparse.Namespace) -> int:
    from notifications.outbox import retry
    system = ctx.system
    with system.db.write() as session:
        m = retry(session, args.id, system.clock.now())
    _out(f"#{m['id']} 将重新发送 / queued again ({m['channel']} → {m['recipient']})")
    return 0


# ---------------------------------------------------------------------------- clock

def _simulated_system(ctx: _Context) -> System:
    if not ctx.settings.simulated_clock:
        raise CliError("错误 / error: 模拟时钟未开启，请设置环境变量 FENGQIAO_SIMULATED_CLOCK=1 / the simulated clock "
                       "is off: set FENGQIAO_SIMULATED_CLOCK=1 to use the clock commands", EXIT_USAGE)
    return ctx.system


def cmd_clock_show(ctx: _Context, args: argparse.Namespace) -> int:
    system = _simulated_system(ctx)
    _out(_local_iso(ctx, system.clock.now()))
    if not system.clock.is_set():
        _note("（模拟时钟未设置，显示真实时间 / the simulated clock is not set: this is the real time）")
    return 0


def cmd_clock_set(ctx: _Context, args: argparse.Namespace) -> int:
    system = _simulated_system(ctx)
    when = system.clock.set(parse_instant(args.instant))
    _out(f"模拟时钟 / simulated clock: {_local_iso(ctx, when)}")
    return 0


def cmd_clock_advance(ctx: _Context, args: argparse.Namespace) -> int:
    system = _simulated_system(ctx)
    when = system.clock.advance(parse_duration(args.duration))
    _out(f"模拟时钟 / simulated clock: {_local_iso(ctx, when)}")
    return 0


def cmd_clock_reset(ctx: _Context, args: argparse.Namespace) -> int:
    system = _simulated_system(ctx)
    system.clock.reset()
    _out("模拟时钟已重置，跟随真实时间 / simulated clock reset: it follows the real time")
    return 0


# ---------------------------------------------------------------------------- accounts

def cmd_token_create(ctx: _Context, args: argparse.Namespace) -> int:
    system = ctx.system
    with system.db.write() as session:
        token = create_token(session, args.username, system.clock.now())
    _out(token)
    _note(f"已为 {args.username} 创建令牌，它不会再次显示 / token created for {args.username}: "
          f"it is not shown again")
    return 0


def cmd_org_add(ctx: _Context, args: argparse.Namespace) -> int:
    with ctx.system.db.write() as session:
        unit = add_org_unit(session, args.code, args.name, args.level, args.parent)
    parent = f"，上级 / parent {unit.parent}" if unit.parent else ""
    _out(f"已创建单位 / org unit created: {unit.code} {unit.name}（{unit.level}{parent}）")
    return 0


def _check_user_before_prompt(ctx: _Context, roles: list[str], org: str) -> None:
    """Refuse a mistyped role or org before asking for a password (add_user checks it all again)."""
    fields = {}
    if not roles or any(r not in ROLES for r in roles):
        fields["role"] = f"角色必须是 {', '.join(ROLES)} 之一 / role must be one of {', '.join(ROLES)}"
    with ctx.system.db.read() as session:
        if session.get(OrgUnit, org) is None:
            fields["org"] = f"单位“{org}”不存在 / no org unit {org!r}"
    if fields:
        raise InvalidInput("用户信息有误 / invalid user", fields=fields)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("密码 / password: ")
        second = getpass.getpass("再输一次 / again: ")
    except EOFError:
        raise CliError("错误 / error: 没有读到密码 / no password given") from None
    if first != second:
        raise CliError("错误 / error: 两次输入的密码不一致 / the passwords do not match")
    return first


def cmd_user_add(ctx: _Context, args: argparse.Namespace) -> int:
    roles = list(args.role or [])
    _check_user_before_prompt(ctx, roles, args.org)
    password = _read_password(args.password_stdin)
    system = ctx.system
    with system.db.write() as session:
        user = add_user(session, args.username, roles, args.org, password, now=system.clock.now(),
                        civil_servant=args.civil_servant, display_name=args.name or "")
    servant = "，公务员 / civil servant" if user.civil_servant else ""
    _out(f"已创建用户 / user created: {user.username}（{user.display_name}）{','.join(user.roles)} @ "
         f"{user.org_unit}{servant}")
    return 0


# ---------------------------------------------------------------------------- audit, calendar

def _case_ids(session, ref: str) -> list[int]:
    if ref.isdigit():
        case_id = session.scalar(select(Case.id).where(Case.id == int(ref)))
    else:
        case_id = session.scalar(select(Case.id).where(Case.number == ref))
    if case_id is None:
        raise NotFound(f"案件“{ref}”不存在 / no such case {ref!r}")
    return [case_id]


def cmd_audit_verify(ctx: _Context, args: argparse.Namespace) -> int:
    with ctx.system.db.read() as session:
        case_ids = _case_ids(session, args.case) if args.case else None
        checked, broken = verify_cases(session, case_ids)
        number = session.scalar(select(Case.number).where(Case.id == broken.case_id)) if broken else None
    if broken is None:
        _out(f"正常 / ok: 已核验 {checked} 个案件的事件链，均完整 / {checked} case chain(s) verified, all intact")
        return 0
    where_zh = f"第 {broken.seq} 条事件" if broken.seq is not None else "事件链末尾"
    where_en = f"event seq {broken.seq}" if broken.seq is not None else "end of chain"
    _out(f"事件链断裂 / chain broken: 案件 {broken.case_id}（{number}）{where_zh} / case {broken.case_id} "
         f"({number}) {where_en}: {broken.reason}")
    return EXIT_ERROR


def cmd_calendar_import(ctx: _Context, args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = _read_text(path, "日历文件", "calendar file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"错误 / error: 日历文件不是有效的 JSON / calendar file is not valid JSON: "
                       f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    system = ctx.system
    schedule = system.import_calendar_year(data, system.clock.now())
    year, ranges = schedule.year, len(data.get("holidays", []))
    _out(f"已导入 {year} 年节假日安排 / imported the {year} holiday schedule: "
         f"{ranges} 个假期共 {len(schedule.holidays)} 天，{len(schedule.workdays)} 个调休上班日 / "
         f"{ranges} holidays, {len(schedule.holidays)} days off, {len(schedule.workdays)} make-up working days")
    _note("正在运行的服务在下次期限扫描时使用新数据 / a running service uses it from its next deadline sweep")
    return 0


# ---------------------------------------------------------------------------- subsidy ledger

def _yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def cmd_subsidy_batch(ctx: _Context, args: argparse.Namespace) -> int:
    from engine.application import Actor
    from engine.ledger import make_batch
    system = ctx.system
    with system.db.write() as session:
        batch = make_batch(session, args.quarter, Actor(CLI_ACTOR, frozenset({"admin"})), system.clock.now())
        numbers = dict(session.execute(select(Case.id, Case.number).where(
            Case.id.in_({e["case_id"] for e in batch.entries}))).all()) if batch.entries else {}
    made = "已生成 / created" if batch.created else "已于此前生成，未作改动 / made before, unchanged"
    _out(f"{batch.key} 以案定补发放批次 / subsidy payment batch — {made}（{_local_iso(ctx, batch.created_at)}，"
         f"{batch.created_by}）")
    _out(f"  {len(batch.entries)} 条 / entries，合计 / total {_yuan(batch.total_fen)}（{batch.total_fen} 分 / fen）")
    if not batch.entries:
        return 0
    width = max(len(e["mediator"] or "-") for e in batch.entries)
    for e in batch.entries:
        kind = "冲销 / reversal" if e["kind"] == "reversal" else "补贴 / subsidy"
        _out(f"  #{e['id']:<6} {numbers.get(e['case_id'], e['case_id'])}  {e['mediator'] or '-':<{width}}  "
             f"{e['level'] or '-':<7} {_yuan(e['amount_fen']):>12}  {kind}")
    totals: dict[str, int] = {}
    for e in batch.entries:
        totals[e["mediator"] or "-"] = totals.get(e["mediator"] or "-", 0) + e["amount_fen"]
    _out("  按调解员 / by mediator:")
    for mediator, fen in sorted(totals.items()):
        _out(f"    {mediator:<{width}}  {_yuan(fen):>12}")
    return 0


# ---------------------------------------------------------------------------- the parser

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="fengqiao", description="枫桥：矛盾纠纷调解与信访案件流程引擎 / "
                                                  "fengqiao: mediation and petition case workflow engine")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)

    def command(name: str, handler: Callable, help_text: str, parent=commands) -> argparse.ArgumentParser:
        sub = parent.add_parser(name, help=help_text, description=help_text)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    p = command("init", cmd_init, "创建或升级数据库，部署 bpmn/，可选演示县 / create or upgrade the database, "
                                  "deploy bpmn/, optionally seed the demo county")
    p.add_argument("--demo", action="store_true", help="创建演示县与各角色用户 / seed the demo county and users")

    p = command("serve", cmd_serve, "初始化后启动网页与 API / initialise, then serve the web app and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--demo", action="store_true", help="同时创建演示县 / also seed the demo county")

    p = command("deploy", cmd_deploy, "校验并部署 BPMN/DMN / validate and deploy BPMN/DMN")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="目录或文件，默认 bpmn/ / a directory or file, default the bundled bpmn/")

    command("sweep", cmd_sweep, "触发所有已到期的期限一次 / fire every deadline due now, once")
    command("scheduler", cmd_scheduler, "只运行调度器（多进程部署）/ the deadline scheduler and outbox dispatcher alone")

    outbox = command("outbox", None, "通知发件箱 / the notification outbox")
    outbox_commands = outbox.add_subparsers(dest="outbox_command", metavar="ACTION", required=True,
                                            parser_class=_Parser)
    p = command("list", cmd_outbox_list, "列出通知 / list messages, newest first", outbox_commands)
    p.add_argument("--status", choices=("pending", "sent", "failed"))
    p.add_argument("--limit", type=int, default=50)
    p = command("retry", cmd_outbox_retry, "重新发送失败的通知 / send a failed message again", outbox_commands)
    p.add_argument("id", type=int, metavar="ID")

    clock = command("clock", None, "模拟时钟（需 FENGQIAO_SIMULATED_CLOCK=1）/ the simulated clock "
                                   "(needs FENGQIAO_SIMULATED_CLOCK=1)")
    clock_commands = clock.add_subparsers(dest="clock_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = command("set", cmd_clock_set, "设为指定时间 / set to an ISO time with offset", clock_commands)
    p.add_argument("instant", metavar="ISO", help="例如 / e.g. 2026-10-01T09:00:00+08:00")
    p = command("advance", cmd_clock_advance, "向前拨 / move forward", clock_commands)
    p.add_argument("duration", metavar="DURATION", help="例如 / e.g. 15d, 3h, 1d12h")
    command("show", cmd_clock_show, "显示当前时间（北京时间）/ show the time (Asia/Shanghai)", clock_commands)
    command("reset", cmd_clock_reset, "恢复真实时间 / back to the real time", clock_commands)

    token = command("token", None, "API 令牌 / API tokens")
    token_commands = token.add_subparsers(dest="token_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = command("create", cmd_token_create, "为用户创建新令牌 / print a new token for a user", token_commands)
    p.add_argument("username", metavar="USERNAME")

    audit = command("audit", None, "审计 / audit")
    audit_commands = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = command("verify", cmd_audit_verify, "重算事件哈希链 / recompute the case event hash chains", audit_commands)
    p.add_argument("case", nargs="?", metavar="CASE", help="案件 id 或编号 / case id or number")

    org = command("org", None, "单位 / org units")
    org_commands = org.add_subparsers(dest="org_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = command("add", cmd_org_add, "新建单位 / create an org unit", org_commands)
    p.add_argument("code", metavar="CODE")
    p.add_argument("--name", required=True)
    p.add_argument("--level", required=True, help="county | town | village")
    p.add_argument("--parent", metavar="CODE")

    user = command("user", None, "用户 / users")
    user_commands = user.add_subparsers(dest="user_command", metavar="ACTION", required=True, parser_class=_Parser)
    p = command("add", cmd_user_add, "新建用户 / create a user", user_commands)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", action="append", required=True, metavar="ROLE", help=" | ".join(ROLES))
    p.add_argument("--org", required=True, metavar="CODE")
    p.add_argument("--civil-servant", action="store_true", help="公务员（不领补贴）/ civil servant (no subsidy)")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读密码 / read the password from stdin")
    p.add_argument("--name", help="显示名 / display name")
    p = command("set", cmd_user_set, "通知设置 / notification channels, e-mail, mobile, unit head", user_commands)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--channels", metavar="LIST", help="inapp,email,sms 中的一个或多个 / one or more of inapp,email,sms")
    p.add_argument("--email", metavar="ADDRESS", help="空字符串清除 / empty to clear")
    p.add_argument("--phone", metavar="MOBILE", help="11 位手机号；空字符串清除 / 11-digit mobile; empty to clear")
    p.add_argument("--unit-head", action=argparse.BooleanOptionalAction, default=None,
                   help="本单位负责人，接收超期督办提醒 / heads the unit: told of overdue steps")

    subsidy = command("subsidy", None, "以案定补台账 / the per-case subsidy ledger")
    subsidy_commands = subsidy.add_subparsers(dest="subsidy_command", metavar="ACTION", required=True,
                                              parser_class=_Parser)
    p = command("batch", cmd_subsidy_batch, "将该季度及以前已批准的补贴编入发放批次并打印 / pay the approved entries up "
                "to the quarter's end in one batch and print it", subsidy_commands)
    p.add_argument("quarter", metavar="QUARTER", help="例如 / e.g. 2026Q4")

    calendar = command("calendar", None, "工作日历 / business calendar")
    calendar_commands = calendar.add_subparsers(dest="calendar_command", metavar="ACTION", required=True,
                                                parser_class=_Parser)
    p = command("import", cmd_calendar_import, "导入一年的节假日安排（JSON）/ import a year's holiday schedule (JSON)",
                calendar_commands)
    p.add_argument("file", metavar="FILE")
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
        _note(f"错误 / error: FENGQIAO_* 配置有误 / invalid FENGQIAO_* setting: {exc}")
        return EXIT_ERROR
    ctx = _Context(settings)
    try:
        return args.handler(ctx, args)
    except CliError as exc:
        _note(exc.line)
        return exc.exit_code
    except EngineError as exc:
        _note(_engine_error_line(exc))
        return EXIT_ERROR
    except DefinitionError as exc:
        _note(_definition_error_line(exc, None))
        return EXIT_ERROR
    except CalendarDataError as exc:
        _note(f"错误 / error: {exc}")
        return EXIT_ERROR
    except (OperationalError, InterfaceError) as exc:
        _note(f"错误 / error: 无法打开数据库 / cannot open the database {_safe_url(settings.database_url)}: "
              f"{_first_line(exc)}")
        return EXIT_ERROR
    except SQLAlchemyError as exc:
        _note(f"错误 / error: 数据库错误 / database error: {_first_line(exc)}")
        return EXIT_ERROR
    except AlembicError as exc:
        _note(f"错误 / error: 无法升级数据库结构 / cannot upgrade the database schema: {_first_line(exc)}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        _note("已取消 / cancelled")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`fengqiao … | head`): stop quietly
        try:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        return EXIT_ERROR
    finally:
        ctx.close()


if __name__ == "__main__":
    raise SystemExit(main())
