"""Commands for what the county keeps and audits: the simulated clock, the audit, the holiday
calendar, the subsidy ledger's payment batches, and the notification outbox."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.clock import parse_duration, parse_instant
from engine.errors import NotFound

from .common import ACTOR, EXIT_ERROR, EXIT_USAGE, CliError, Context, local_iso, note, out, read_text


# ---------------------------------------------------------------------------- clock
def _simulated(ctx: Context):
    if not ctx.settings.simulated_clock:
        raise CliError("错误 / error: 模拟时钟未开启，请设置环境变量 FENGQIAO_SIMULATED_CLOCK=1 / the simulated clock "
                       "is off: set FENGQIAO_SIMULATED_CLOCK=1 to use the clock commands", EXIT_USAGE)
    return ctx.services


def cmd_clock_show(ctx: Context, args: argparse.Namespace) -> int:
    clock = _simulated(ctx).system.clock
    out(local_iso(ctx, clock.now()))
    if not clock.is_set():
        note("（模拟时钟未设置，显示真实时间 / the simulated clock is not set: this is the real time）")
    return 0


def cmd_clock_set(ctx: Context, args: argparse.Namespace) -> int:
    when = _simulated(ctx).admin.set_clock(ACTOR, parse_instant(args.instant), backwards=args.backwards)
    out(f"模拟时钟 / simulated clock: {local_iso(ctx, when)}")
    return 0


def cmd_clock_advance(ctx: Context, args: argparse.Namespace) -> int:
    when = _simulated(ctx).admin.advance_clock(ACTOR, parse_duration(args.duration))
    out(f"模拟时钟 / simulated clock: {local_iso(ctx, when)}")
    return 0


def cmd_clock_reset(ctx: Context, args: argparse.Namespace) -> int:
    _simulated(ctx).admin.reset_clock(ACTOR)
    out("模拟时钟已重置，跟随真实时间 / simulated clock reset: it follows the real time")
    return 0


# ---------------------------------------------------------------------------- audit, calendar
def cmd_audit_verify(ctx: Context, args: argparse.Namespace) -> int:
    try:
        result = ctx.services.audit.verify(ACTOR, args.case)
    except NotFound as exc:
        raise CliError(f"错误 / error: {exc.message}", EXIT_USAGE) from None
    checked, broken = result["cases_checked"], result["first_break"]
    if broken is None:
        out(f"正常 / ok: 已核验 {checked} 个案件的事件链，均完整 / {checked} case chain(s) verified, all intact")
        return 0
    seq, number = broken.get("seq"), broken.get("number")
    where_zh = f"第 {seq} 条事件" if seq is not None else "事件链末尾"
    where_en = f"event seq {seq}" if seq is not None else "end of chain"
    out(f"事件链断裂 / chain broken: 案件 {broken['case_id']}（{number}）{where_zh} / case {broken['case_id']} "
        f"({number}) {where_en}: {broken['reason']}")
    return EXIT_ERROR


def cmd_calendar_import(ctx: Context, args: argparse.Namespace) -> int:
    path = Path(args.file)
    text = read_text(path, "日历文件", "calendar file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"错误 / error: 日历文件不是有效的 JSON / calendar file is not valid JSON: "
                       f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from None
    schedule = ctx.services.admin.import_calendar(ACTOR, data)
    year, ranges = schedule.year, len(data.get("holidays", []))
    out(f"已导入 {year} 年节假日安排 / imported the {year} holiday schedule: "
        f"{ranges} 个假期共 {len(schedule.holidays)} 天，{len(schedule.workdays)} 个调休上班日 / "
        f"{ranges} holidays, {len(schedule.holidays)} days off, {len(schedule.workdays)} make-up working days")
    note("正在运行的服务在下次期限扫描时使用新数据 / a running service uses it from its next deadline sweep")
    return 0


# ---------------------------------------------------------------------------- subsidy ledger
def yuan(fen: int) -> str:
    sign = "-" if fen < 0 else ""
    return f"{sign}¥{abs(fen) // 100:,}.{abs(fen) % 100:02d}"


def cmd_subsidy_batch(ctx: Context, args: argparse.Namespace) -> int:
    subsidies = ctx.services.subsidies
    batch = subsidies.batch(ACTOR, args.quarter, early=args.early)
    numbers = subsidies.entry_case_numbers(e["case_id"] for e in batch.entries)
    made = "已生成 / created" if batch.created else "已于此前生成，未作改动 / made before, unchanged"
    out(f"{batch.key} 以案定补发放批次 / subsidy payment batch — {made}（{local_iso(ctx, batch.created_at)}，"
        f"{batch.created_by}）")
    out(f"  {len(batch.entries)} 条 / entries，合计 / total {yuan(batch.total_fen)}（{batch.total_fen} 分 / fen）")
    if not batch.entries:
        return 0
    width = max(len(e["mediator"] or "-") for e in batch.entries)
    for e in batch.entries:
        kind = "冲销 / reversal" if e["kind"] == "reversal" else "补贴 / subsidy"
        out(f"  #{e['id']:<6} {numbers.get(e['case_id'], e['case_id'])}  {e['mediator'] or '-':<{width}}  "
            f"{e['level'] or '-':<7} {yuan(e['amount_fen']):>12}  {kind}")
    totals: dict[str, int] = {}
    for e in batch.entries:
        totals[e["mediator"] or "-"] = totals.get(e["mediator"] or "-", 0) + e["amount_fen"]
    out("  按调解员 / by mediator:")
    for mediator, fen in sorted(totals.items()):
        out(f"    {mediator:<{width}}  {yuan(fen):>12}")
    return 0


# ---------------------------------------------------------------------------- outbox
def cmd_outbox_list(ctx: Context, args: argparse.Namespace) -> int:
    items, _ = ctx.services.notifications.outbox(ACTOR, status=args.status, limit=args.limit)
    if not items:
        out("没有通知 / no messages")
    for m in items:
        error = f"  {m['last_error']}" if m["last_error"] else ""
        out(f"#{m['id']}  {m['status']:<7} {m['channel']:<5} {m['recipient']:<16} {m['kind']:<28} "
            f"{m['attempts']} 次 / attempt(s){error}")
    return 0


def cmd_outbox_retry(ctx: Context, args: argparse.Namespace) -> int:
    m = ctx.services.notifications.retry(ACTOR, args.id)
    out(f"#{m['id']} 将重新发送 / queued again ({m['channel']} → {m['recipient']})")
    return 0


def add_commands(command, subcommands) -> None:
    outbox = subcommands(command("outbox", None, "通知发件箱 / the notification outbox"), "outbox_command")
    p = command("list", cmd_outbox_list, "列出通知 / list messages, newest first", outbox)
    p.add_argument("--status", choices=("pending", "sent", "failed"))
    p.add_argument("--limit", type=int, default=50)
    p = command("retry", cmd_outbox_retry, "重新发送失败的通知 / send a failed message again", outbox)
    p.add_argument("id", type=int, metavar="ID")

    clock = subcommands(command("clock", None, "模拟时钟（需 FENGQIAO_SIMULATED_CLOCK=1）/ the simulated clock "
                                               "(needs FENGQIAO_SIMULATED_CLOCK=1)"), "clock_command")
    p = command("set", cmd_clock_set, "设为指定时间 / set to an ISO time with offset", clock)
    p.add_argument("instant", metavar="ISO", help="例如 / e.g. 2026-10-01T09:00:00+08:00")
    p.add_argument("--backwards", action="store_true",
                   help="允许倒拨（已触发的期限不会撤销）/ allow moving back (fired deadlines stay fired)")
    p = command("advance", cmd_clock_advance, "向前拨 / move forward", clock)
    p.add_argument("duration", metavar="DURATION", help="例如 / e.g. 15d, 3h, 1d12h")
    command("show", cmd_clock_show, "显示当前时间（北京时间）/ show the time (Asia/Shanghai)", clock)
    command("reset", cmd_clock_reset, "恢复真实时间 / back to the real time", clock)

    audit = subcommands(command("audit", None, "审计 / audit"), "audit_command")
    p = command("verify", cmd_audit_verify, "重算事件哈希链 / recompute the case event hash chains", audit)
    p.add_argument("case", nargs="?", metavar="CASE", help="案件 id 或编号 / case id or number")

    subsidy = subcommands(command("subsidy", None, "以案定补台账 / the per-case subsidy ledger"), "subsidy_command")
    p = command("batch", cmd_subsidy_batch, "将该季度及以前已批准的补贴编入发放批次并打印（季度结束后）/ pay the approved "
                "entries up to the quarter's end in one batch and print it (once the quarter has ended)", subsidy)
    p.add_argument("quarter", metavar="QUARTER", help="例如 / e.g. 2026Q4")
    p.add_argument("--early", action="store_true",
                   help="季度未结束时提前发放（记入历史）/ pay before the quarter ends (recorded in the history)")

    calendar = subcommands(command("calendar", None, "工作日历 / business calendar"), "calendar_command")
    p = command("import", cmd_calendar_import, "导入一年的节假日安排（JSON）/ import a year's holiday schedule (JSON)",
                calendar)
    p.add_argument("file", metavar="FILE")
