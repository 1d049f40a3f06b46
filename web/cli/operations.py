"""Commands for whoever runs the service: the consistency check, backup and restore."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.backup import BackupFailed

from .common import ACTOR, EXIT_ERROR, CliError, Context, out, safe_url


def cmd_check(ctx: Context, args: argparse.Namespace) -> int:
    report = ctx.services.operations.check(ACTOR)
    if args.json:
        out(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return 0 if report.ok else EXIT_ERROR
    counted = (f"{report.cases} 个案件、{report.ledger_entries} 条台账、{report.outbox_messages} 条通知 / "
               f"{report.cases} case(s), {report.ledger_entries} ledger entr(ies), {report.outbox_messages} message(s)")
    if report.ok:
        out(f"一致 / consistent: 已检查 {counted}")
        return 0
    out(f"发现 {len(report.findings)} 处不一致 / {len(report.findings)} inconsistenc(ies) found, checked {counted}:")
    for finding in report.findings:
        out(f"  {finding}")
    return EXIT_ERROR


def cmd_pack(ctx: Context, args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("错误 / error: --limit 应为正整数 / --limit must be a positive whole number")
    done = ctx.services.operations.pack(ACTOR, args.limit)  # a batch a transaction, to the end or the limit
    out(f"已压缩 / packed: {done.cases} 个已结案件、{done.events} 条事件 / {done.cases} closed case(s), "
        f"{done.events} event(s)")
    return 0


def cmd_backup(ctx: Context, args: argparse.Namespace) -> int:
    try:
        result = ctx.services.operations.backup(ACTOR, Path(args.path))
    except BackupFailed as exc:
        raise CliError(f"错误 / error: 备份失败 / backup failed: {exc}") from None
    out(f"已备份 / backed up {safe_url(ctx.settings.database_url)} → {result.path} "
        f"（{result.bytes:,} 字节 / bytes, {result.kind}）")
    return 0


def cmd_restore(ctx: Context, args: argparse.Namespace) -> int:
    try:
        result = ctx.services_as_is.operations.restore(ACTOR, Path(args.path))
    except BackupFailed as exc:
        raise CliError(f"错误 / error: 恢复失败 / restore failed: {exc}") from None
    out(f"已恢复 / restored {result.path} → {safe_url(ctx.settings.database_url)}；"
        f"请运行 fengqiao check 与 fengqiao audit verify / now run fengqiao check and fengqiao audit verify")
    return 0


def add_commands(command) -> None:
    p = command("check", cmd_check, "检查数据一致性：流程状态、任务、期限、历史、台账与通知 / check that every case's "
                                    "workflow state, tasks, deadlines, history and ledger agree, chains verify, and no "
                                    "notification was sent twice or lost (exit 1 with the findings)")
    p.add_argument("--json", action="store_true", help="以 JSON 输出 / print the report as JSON")
    p = command("pack", cmd_pack, "把已结案件的历史压缩为每案一行（调度器每十分钟也做）/ pack the histories of "
                                  "closed cases into one row each (the scheduler does it every ten minutes too)")
    p.add_argument("--limit", type=int, default=10**9, metavar="N",
                   help="最多处理的案件数 / at most N cases (default: all)")
    p = command("backup", cmd_backup, "在服务运行时备份数据库到文件 / write a consistent copy of the store to PATH "
                                      "while the service runs")
    p.add_argument("path", metavar="PATH", help="备份文件（不能已存在）/ the backup file (must not exist)")
    p = command("restore", cmd_restore, "把备份恢复到空的数据库 / load a backup into an empty store")
    p.add_argument("path", metavar="PATH", help="fengqiao backup 写出的文件 / a file written by fengqiao backup")
