"""Commands that run the service: init, serve, deploy, sweep, scheduler."""
from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from engine.definitions import DefinitionError
from engine.definitions_repo import DeployResult
from engine.system import settle_heap

from .common import (ACTOR, EXIT_USAGE, CliError, Context, definition_error_line, log_to_stderr, out, safe_url)

DEFINITION_SUFFIXES = (".bpmn", ".dmn")


def _has_definitions(folder: Path) -> bool:
    return folder.is_dir() and any(p.is_file() and p.suffix.lower() in DEFINITION_SUFFIXES
                                   for p in folder.iterdir())


def _print_deployed(results: list[DeployResult]) -> None:
    width = max((len(r.process_key) for r in results), default=0)
    for r in results:
        state = "新版本 / new" if r.created else "未变 / unchanged"
        kind = "  决策表 / decision" if r.kind == "decision" else ""
        out(f"{r.process_key:<{width}}  v{r.version}  {state}{kind}")


def read_definition_files(path: Path) -> dict[str, bytes]:
    """The .bpmn and .dmn files of a folder, or one such file."""
    try:
        if path.is_dir():
            return {p.name: p.read_bytes() for p in sorted(path.iterdir())
                    if p.is_file() and p.suffix.lower() in DEFINITION_SUFFIXES}
        if path.is_file():
            if path.suffix.lower() not in DEFINITION_SUFFIXES:
                raise CliError(f"错误 / error: 只能部署 .bpmn 或 .dmn 文件 / only .bpmn and .dmn files can be "
                               f"deployed: {path}")
            return {path.name: path.read_bytes()}
    except OSError as exc:
        raise CliError(f"错误 / error: 无法读取 / cannot read {path}: {exc.strerror or exc}") from None
    raise CliError(f"错误 / error: 路径不存在 / no such file or directory: {path}")


def deploy_path(ctx: Context, path: Path) -> list[DeployResult]:
    files = read_definition_files(path)
    try:
        return ctx.services.admin.deploy(ACTOR, files)
    except DefinitionError as exc:
        raise CliError(definition_error_line(exc, path if path.is_dir() else path.parent)) from None


def initialise(ctx: Context, demo: bool) -> None:
    services = ctx.services  # creates or upgrades the schema
    out(f"数据库已就绪 / database ready: {safe_url(ctx.settings.database_url)}")
    ran = ctx.services.system.optimize()
    out(f"已更新查询统计 / planner statistics updated: {ran}")
    bpmn_dir = ctx.settings.bpmn_dir
    if _has_definitions(bpmn_dir):
        _print_deployed(deploy_path(ctx, bpmn_dir))
    else:
        out(f"未部署流程：{bpmn_dir.name}/ 中没有 BPMN 或 DMN 文件 / nothing deployed: "
            f"no BPMN or DMN files in {bpmn_dir.name}/")
    if not demo:
        return
    accounts, cases = services.admin.seed_demo(ACTOR)
    if accounts is None:
        out("演示县已存在，未作改动；密码只在创建时显示一次 / the demo county exists: nothing changed "
            "(passwords were shown only when it was created)")
        return
    out("已创建演示县 / demo county created. 以下密码只显示这一次，请保存 / "
        "these passwords are shown only once, save them:")
    width = max(len(a.username) for a in accounts)
    for a in accounts:
        out(f"  {a.username:<{width}}  {a.password}  {','.join(a.roles)} @ {a.org}（{a.org_name}）"
            f"  {a.display_name}")
    if cases:
        out("演示案件 / demo cases:")
        for line in cases:
            out(f"  {line}")


def cmd_init(ctx: Context, args: argparse.Namespace) -> int:
    initialise(ctx, args.demo)
    return 0


def _stop_on_sigterm() -> None:
    def interrupt(*_):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupt)


def _scheduler(ctx: Context):
    """The deadline scheduler with the outbox dispatcher (the command line is where the two meet)."""
    from engine.scheduler import DeadlineScheduler
    from notifications.dispatcher import OutboxDispatcher
    system = ctx.services.system
    return DeadlineScheduler(system, OutboxDispatcher.for_system(system))


def cmd_serve(ctx: Context, args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise CliError("错误 / error: --workers 至少为 1 / --workers must be at least 1", EXIT_USAGE)
    if args.workers > 1:
        _check_workers_possible(ctx)
    initialise(ctx, args.demo)
    from web.app import create_app
    app = create_app(services=ctx.services)
    settle_heap()  # what the process keeps from now on, out of the collector's full passes (and before any fork)
    url = f"http://{args.host}:{args.port}/"
    log_to_stderr()
    with_scheduler = ctx.settings.scheduler_in_serve and not args.no_scheduler  # off when `fengqiao scheduler` runs
    if args.workers > 1:
        from . import serving
        out(f"fengqiao 已启动 / serving on {url}  （{args.workers} 个进程 / processes；Ctrl+C 停止 / to stop）")
        return serving.serve(app, ctx.services.system.db, (lambda: _scheduler(ctx)) if with_scheduler else None,
                             args.host, args.port, args.workers)
    scheduler = None
    if with_scheduler:
        _stop_on_sigterm()  # so that the scheduler hands its lease over on the way out
        scheduler = _scheduler(ctx)
        scheduler.start()
    out(f"fengqiao 已启动 / serving on {url}  （Ctrl+C 停止 / to stop）")
    try:
        try:
            import waitress  # a production WSGI server, used when it is installed
        except ImportError:
            from werkzeug.serving import run_simple
            run_simple(args.host, args.port, app, threaded=True, use_reloader=False, use_debugger=False)
        else:
            waitress.serve(app, host=args.host, port=args.port, threads=8, ident="")
    except OSError as exc:
        raise CliError(f"错误 / error: 无法在 {args.host}:{args.port} 上监听 / cannot listen on "
                       f"{args.host}:{args.port}: {exc.strerror or exc}") from None
    finally:
        if scheduler is not None:
            scheduler.stop()
    return 0


def _check_workers_possible(ctx: Context) -> None:
    """Several processes need PostgreSQL (a SQLite store has one writer at a time: one process serves it)
    and gunicorn (Linux and other Unix systems)."""
    if ctx.settings.is_sqlite:
        raise CliError("错误 / error: SQLite 数据库只能由一个进程服务，--workers 只能为 1；多进程请使用 PostgreSQL / "
                       "a SQLite store is served by one process: --workers must be 1 (use PostgreSQL for several)",
                       EXIT_USAGE)
    from . import serving
    if not serving.available():
        raise CliError("错误 / error: 多进程服务需要 gunicorn（仅 Linux/Unix）/ several processes need gunicorn "
                       "(Linux/Unix only): pip install gunicorn", EXIT_USAGE)


def cmd_deploy(ctx: Context, args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else ctx.settings.bpmn_dir
    _print_deployed(deploy_path(ctx, path))
    return 0


def cmd_sweep(ctx: Context, args: argparse.Namespace) -> int:
    fired = ctx.services.system.sweep()
    out(f"已触发 {fired} 个到期事项 / fired {fired} due deadline(s)")
    return 0


def cmd_scheduler(ctx: Context, args: argparse.Namespace) -> int:
    ctx.services  # noqa: B018 -- build (and upgrade) before the signal handlers go in
    log_to_stderr()
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    out("调度器已启动 / scheduler running  （Ctrl+C 停止 / to stop）")
    _scheduler(ctx).run_forever(stop)
    out("调度器已停止 / scheduler stopped")
    return 0


def add_commands(command) -> None:
    p = command("init", cmd_init, "创建或升级数据库，部署 bpmn/，可选演示县 / create or upgrade the database, "
                                  "deploy bpmn/, optionally seed the demo county")
    p.add_argument("--demo", action="store_true", help="创建演示县与各角色用户 / seed the demo county and users")

    p = command("serve", cmd_serve, "初始化后启动网页与 API / initialise, then serve the web app and API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--demo", action="store_true", help="同时创建演示县 / also seed the demo county")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="进程数（PostgreSQL，gunicorn）/ processes (PostgreSQL, with gunicorn); default 1")
    p.add_argument("--no-scheduler", action="store_true",
                   help="不在服务进程中运行调度器（另行运行 fengqiao scheduler）/ run no scheduler here "
                        "(`fengqiao scheduler` runs beside)")

    p = command("deploy", cmd_deploy, "校验并部署 BPMN/DMN / validate and deploy BPMN/DMN")
    p.add_argument("path", nargs="?", metavar="PATH",
                   help="目录或文件，默认 bpmn/ / a directory or file, default the bundled bpmn/")

    command("sweep", cmd_sweep, "触发所有已到期的期限一次 / fire every deadline due now, once")
    command("scheduler", cmd_scheduler, "只运行调度器（多进程部署）/ the deadline scheduler and outbox dispatcher alone")


__all__ = ["add_commands", "sys"]
