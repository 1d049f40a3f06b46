"""Commands on deployed versions: list them, compare two, move running cases from one to another.

    fengqiao definitions list [KEY]
    fengqiao definitions diff mediation 3 4
    fengqiao definitions migrate mediation --from 3 --to 4 [--case N …] [--dry-run]

`migrate` exits 1 when a case could not move (each such case is printed with its reason), 0 when
every case named (or every open case of the version) moved, or would move in a dry run.
"""
from __future__ import annotations

import argparse
from typing import Any

from engine.errors import NotFound

from .common import ACTOR, EXIT_ERROR, EXIT_USAGE, CliError, Context, out


def _not_found(exc: NotFound) -> CliError:
    return CliError(f"错误 / error: {exc.message}", EXIT_USAGE)


def cmd_list(ctx: Context, args: argparse.Namespace) -> int:
    try:
        listing = ctx.services.definitions.list(ACTOR, args.key)
    except NotFound as exc:
        raise _not_found(exc) from None
    if not listing["items"]:
        out("尚未部署任何流程 / no process deployed")
    for v in listing["items"]:
        newest = "  最新 / newest" if v["newest"] else ""
        out(f"{v['key']:<12} v{v['version']:<3} {v['deployed_at']}  {v['deployed_by'] or '-':<10} "
            f"{v['content_hash'][:12]}  在办 / open {v['open_cases']:>6}  已结 / closed {v['closed_cases']:>6}{newest}")
    if listing["decisions"] and args.key is None:
        out("决策表（各自版本）/ decision tables (versioned on their own):")
        for d in listing["decisions"]:
            out(f"  {d['key']:<10} v{d['version']:<3} {d['deployed_at']}  {d['deployed_by'] or '-':<10} "
                f"{d['content_hash'][:12]}  {d['file']}")
    return 0


def _step_line(step: dict[str, Any]) -> str:
    return f"{step['id']}（{step['name']}）" if step.get("name") else step["id"]


_CHANGE_WORDS = {"name": "名称 / name", "id": "标识 / id", "kind": "类型 / kind", "timer": "期限 / timer",
                 "form": "表单 / form", "role": "角色 / role", "script": "脚本 / script", "flow": "走向 / flow",
                 "event": "事件 / event", "properties": "属性 / properties", "other": "其他 / other"}


def _show_change(change: dict[str, Any]) -> None:
    out(f"  ~ {_step_line(change)}: {', '.join(_CHANGE_WORDS.get(c, c) for c in change['changes'])}")
    for what in ("timer", "form", "role", "name", "id"):
        if what in change["before"]:
            out(f"      {_CHANGE_WORDS[what]}: {_plain(change['before'][what])} → {_plain(change['after'][what])}")


def _plain(value: Any) -> str:
    if isinstance(value, dict) and "expression" in value:
        return value["expression"]
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items())
    return "-" if value is None else str(value)


def _show_case(case: dict[str, Any]) -> None:
    number = case["number"] or case["case_id"]
    words = {"moved": "已迁移 / moved", "would_move": "可以迁移 / can move", "blocked": "不能迁移 / cannot move",
             "skipped": "跳过 / skipped"}
    notes = {"closed": "已结案 / closed", "other_version": "不在该版本上 / not on this version"}
    line = f"  {number}  {words[case['status']]}"
    if case["open_steps"]:
        line += f"  当前步骤 / open: {', '.join(case['open_steps'])}"
    if case["note"]:
        line += f"  ({notes.get(case['note'], case['note'])})"
    out(line)
    for b in case["blockers"]:
        out(f"      ✗ {b['message']}")
    for t in case["timers"]:
        late = "  已超期，下次扫描时触发 / already past: fires at the next sweep" if t["overdue"] else ""
        out(f"      期限 / deadline {t['kind']} ({t['step']}): {t['from'] or '-'} → {t['to']}{late}")


def cmd_diff(ctx: Context, args: argparse.Namespace) -> int:
    try:
        diff = ctx.services.definitions.diff(ACTOR, args.key, args.from_version, args.to_version)
    except NotFound as exc:
        raise _not_found(exc) from None
    out(f"{diff['process_key']} v{diff['from']} → v{diff['to']}")
    if not (diff["added"] or diff["removed"] or diff["changed"]):
        out("  步骤没有差异 / no step differs")
    for step in diff["added"]:
        out(f"  + {_step_line(step)}  [{step['kind']}]")
    for step in diff["removed"]:
        out(f"  - {_step_line(step)}  [{step['kind']}]")
    for change in diff["changed"]:
        _show_change(change)
    out(f"v{diff['from']} 上在办案件 / open cases on v{diff['from']}: {diff['open_cases']}，可以迁移 / can move "
        f"{diff['movable']}，不能迁移 / cannot move {diff['blocked']}"
        + (f"（已检查前 {diff['checked']} 件 / first {diff['checked']} checked）"
           if diff["checked"] < diff["open_cases"] else ""))
    for case in diff["cases"]:
        _show_case(case)
    return 0


def cmd_migrate(ctx: Context, args: argparse.Namespace) -> int:
    try:
        result = ctx.services.definitions.migrate(ACTOR, args.key, args.from_version, args.to_version,
                                                  cases=args.case or None, dry_run=args.dry_run)
    except NotFound as exc:
        raise _not_found(exc) from None
    head = "试运行，未作任何更改 / dry run, nothing changed" if result["dry_run"] else "迁移 / migration"
    out(f"{head}: {result['process_key']} v{result['from']} → v{result['to']}")
    for case in result["cases"]:
        _show_case(case)
    done = result["would_move"] if result["dry_run"] else result["moved"]
    verb = "可以迁移 / would move" if result["dry_run"] else "已迁移 / moved"
    out(f"{verb} {done}，不能迁移 / cannot move {result['blocked']}，跳过 / skipped {result['skipped']}")
    if not result["cases"]:
        out("没有要迁移的案件 / no case to move")
    return EXIT_ERROR if result["blocked"] else 0


def add_commands(command, subcommands) -> None:
    group = subcommands(command("definitions", None, "已部署的流程版本：列出、比较、迁移在办案件 / deployed process "
                                                     "versions: list, compare, move running cases"),
                        "definitions_command")
    p = command("list", cmd_list, "列出各流程的版本及其案件数 / list each process's versions and their cases", group)
    p.add_argument("key", nargs="?", metavar="KEY", help="只列此流程 / only this process, e.g. mediation")
    p = command("diff", cmd_diff, "比较两个版本，并检查旧版本上的每个在办案件能否迁移 / compare two versions and "
                "check whether each open case of the first can move", group)
    p.add_argument("key", metavar="KEY")
    p.add_argument("from_version", type=int, metavar="FROM")
    p.add_argument("to_version", type=int, metavar="TO")
    p = command("migrate", cmd_migrate, "把在办案件迁移到另一版本（每案整体迁移或不动，记入历史）/ move open cases to "
                "another version (each case wholly or not at all, recorded in its history)", group)
    p.add_argument("key", metavar="KEY")
    p.add_argument("--from", dest="from_version", type=int, required=True, metavar="N")
    p.add_argument("--to", dest="to_version", type=int, required=True, metavar="M")
    p.add_argument("--case", action="append", metavar="CASE",
                   help="只迁移此案件（id 或编号，可重复）/ only this case (id or number; repeatable)")
    p.add_argument("--dry-run", action="store_true", help="只显示将会发生什么 / only show what would happen")
