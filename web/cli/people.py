"""Commands for the county's org units, users and API tokens."""
from __future__ import annotations

import argparse
import getpass
import sys

from usecases.authorization import ROLES

from .common import ACTOR, CliError, Context, note, out

_STATE_WORDS = {"active": "有效 / active", "expired": "已过期 / expired", "revoked": "已撤销 / revoked"}


def cmd_token_create(ctx: Context, args: argparse.Namespace) -> int:
    view = ctx.services.admin.issue_token(ACTOR, args.username, days=args.days, name=args.name or "")
    out(view["token"])
    note(f"已为 {args.username} 创建令牌 {view['id']}，有效至 {view['expires_at']}，它不会再次显示 / token "
         f"{view['id']} created for {args.username}, valid until {view['expires_at']}: it is not shown again")
    return 0


def cmd_token_list(ctx: Context, args: argparse.Namespace) -> int:
    tokens = ctx.services.admin.list_tokens(ACTOR, args.username)
    if not tokens:
        note(f"{args.username} 没有令牌 / {args.username} has no tokens")
        return 0
    out("ID\t名称 / NAME\t创建 / CREATED\t到期 / EXPIRES\t状态 / STATE")
    for t in tokens:
        out(f"{t['id']}\t{t['name'] or '-'}\t{t['created_at']}\t{t['expires_at']}\t{_STATE_WORDS[t['state']]}")
    return 0


def cmd_token_revoke(ctx: Context, args: argparse.Namespace) -> int:
    view = ctx.services.admin.revoke_token(ACTOR, args.id)
    out(f"已撤销令牌 / token revoked: {view['id']}（{view['username']}{'，' + view['name'] if view['name'] else ''}）")
    return 0


def _token_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 2 ** 63 - 1:
        raise argparse.ArgumentTypeError(f"令牌编号应为正整数 / a token id is a positive whole number: {text!r}")
    return int(text)


def _days(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 3650:
        raise argparse.ArgumentTypeError(f"天数应为 1 到 3650 / days must be from 1 to 3650: {text!r}")
    return int(text)


def cmd_org_add(ctx: Context, args: argparse.Namespace) -> int:
    unit = ctx.services.admin.add_org_unit(ACTOR, args.code, args.name, args.level, args.parent)
    parent = f"，上级 / parent {unit['parent']}" if unit["parent"] else ""
    out(f"已创建单位 / org unit created: {unit['code']} {unit['name']}（{unit['level']}{parent}）")
    return 0


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


def cmd_user_add(ctx: Context, args: argparse.Namespace) -> int:
    roles = list(args.role or [])
    admin = ctx.services.admin
    admin.check_new_user(ACTOR, roles, args.org)
    password = _read_password(args.password_stdin)
    user = admin.add_user(ACTOR, args.username, roles, args.org, password, civil_servant=args.civil_servant,
                          display_name=args.name or "")
    servant = "，公务员 / civil servant" if user["civil_servant"] else ""
    out(f"已创建用户 / user created: {user['username']}（{user['display_name']}）{','.join(user['roles'])} @ "
        f"{user['org_unit']}{servant}")
    return 0


def cmd_user_list(ctx: Context, args: argparse.Namespace) -> int:
    out("用户名 / USERNAME\t姓名 / NAME\t角色 / ROLES\t单位 / UNIT\t状态 / STATE\t令牌 / TOKENS")
    for u in ctx.services.admin.list_users(ACTOR):
        state = "在用 / active" if u["active"] else "已停用 / deactivated"
        out(f"{u['username']}\t{u['display_name']}\t{','.join(u['roles'])}\t{u['org_unit']}\t{state}\t"
            f"{u['live_tokens']}")
    return 0


def cmd_user_deactivate(ctx: Context, args: argparse.Namespace) -> int:
    ctx.services.admin.deactivate_user(ACTOR, args.username)
    out(f"已停用 / deactivated: {args.username}（其令牌和网页登录即刻失效 / its tokens and page sessions stop working now）")
    return 0


def cmd_user_activate(ctx: Context, args: argparse.Namespace) -> int:
    ctx.services.admin.activate_user(ACTOR, args.username)
    out(f"已恢复 / activated: {args.username}")
    return 0


def cmd_user_password(ctx: Context, args: argparse.Namespace) -> int:
    admin = ctx.services.admin
    admin.get_user(ACTOR, args.username)  # a mistyped name is said before a password is asked for
    password = _read_password(args.password_stdin)
    admin.reset_password(ACTOR, args.username, password)
    out(f"已重设密码 / password reset: {args.username}（已登录的网页需重新登录 / signed-in pages must sign in again）")
    return 0


def cmd_user_set(ctx: Context, args: argparse.Namespace) -> int:
    from notifications.contacts import UNSET
    changes = {"channels": args.channels if args.channels is not None else UNSET,
               "email": args.email if args.email is not None else UNSET,
               "phone": args.phone if args.phone is not None else UNSET,
               "unit_head": args.unit_head if args.unit_head is not None else UNSET}
    view = ctx.services.admin.set_contacts(ACTOR, args.username, **changes)
    head = "，单位负责人 / unit head" if view["unit_head"] else ""
    out(f"{view['username']}: 通道 / channels {','.join(view['channels'])}; 邮箱 / email {view['email'] or '—'}; "
        f"手机 / phone {view['phone'] or '—'}{head}")
    return 0


def add_commands(command, subcommands) -> None:
    token = subcommands(command("token", None, "API 令牌 / API tokens"), "token_command")
    p = command("create", cmd_token_create, "为用户创建新令牌 / print a new token for a user", token)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--days", type=_days, metavar="N",
                   help="有效天数（默认 FENGQIAO_TOKEN_DAYS，90）/ valid for N days (default FENGQIAO_TOKEN_DAYS, 90)")
    p.add_argument("--name", metavar="NAME", help="令牌名称，如对接的系统 / a name, e.g. the system that uses it")
    p = command("list", cmd_token_list, "列出用户的令牌 / list a user's tokens", token)
    p.add_argument("username", metavar="USERNAME")
    p = command("revoke", cmd_token_revoke, "撤销令牌 / revoke a token", token)
    p.add_argument("id", type=_token_id, metavar="ID")

    org = subcommands(command("org", None, "单位 / org units"), "org_command")
    p = command("add", cmd_org_add, "新建单位 / create an org unit", org)
    p.add_argument("code", metavar="CODE")
    p.add_argument("--name", required=True)
    p.add_argument("--level", required=True, help="county | town | village")
    p.add_argument("--parent", metavar="CODE")

    user = subcommands(command("user", None, "用户 / users"), "user_command")
    p = command("add", cmd_user_add, "新建用户 / create a user", user)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--role", action="append", required=True, metavar="ROLE", help=" | ".join(ROLES))
    p.add_argument("--org", required=True, metavar="CODE")
    p.add_argument("--civil-servant", action="store_true", help="公务员（不领补贴）/ civil servant (no subsidy)")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读密码 / read the password from stdin")
    p.add_argument("--name", help="显示名 / display name")
    command("list", cmd_user_list, "列出全部用户 / list every user", user)
    p = command("deactivate", cmd_user_deactivate, "停用用户（令牌和网页登录即刻失效）/ deactivate a user", user)
    p.add_argument("username", metavar="USERNAME")
    p = command("activate", cmd_user_activate, "恢复已停用的用户 / reactivate a user", user)
    p.add_argument("username", metavar="USERNAME")
    p = command("password", cmd_user_password, "重设用户密码 / reset a user's password", user)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--password-stdin", action="store_true", help="从标准输入读密码 / read the password from stdin")
    p = command("set", cmd_user_set, "通知设置 / notification channels, e-mail, mobile, unit head", user)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--channels", metavar="LIST", help="inapp,email,sms 中的一个或多个 / one or more of inapp,email,sms")
    p.add_argument("--email", metavar="ADDRESS", help="空字符串清除 / empty to clear")
    p.add_argument("--phone", metavar="MOBILE", help="11 位手机号；空字符串清除 / 11-digit mobile; empty to clear")
    p.add_argument("--unit-head", action=argparse.BooleanOptionalAction, default=None,
                   help="本单位负责人，接收超期督办提醒 / heads the unit: told of overdue steps")
