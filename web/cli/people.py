"""Commands for the county's org units, users and API tokens."""
from __future__ import annotations

import argparse
import getpass
import sys

from usecases.authorization import ROLES

from .common import ACTOR, CliError, Context, note, out


def cmd_token_create(ctx: Context, args: argparse.Namespace) -> int:
    token = ctx.services.admin.create_token(ACTOR, args.username)
    out(token)
    note(f"已为 {args.username} 创建令牌，它不会再次显示 / token created for {args.username}: it is not shown again")
    return 0


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
    p = command("set", cmd_user_set, "通知设置 / notification channels, e-mail, mobile, unit head", user)
    p.add_argument("username", metavar="USERNAME")
    p.add_argument("--channels", metavar="LIST", help="inapp,email,sms 中的一个或多个 / one or more of inapp,email,sms")
    p.add_argument("--email", metavar="ADDRESS", help="空字符串清除 / empty to clear")
    p.add_argument("--phone", metavar="MOBILE", help="11 位手机号；空字符串清除 / 11-digit mobile; empty to clear")
    p.add_argument("--unit-head", action=argparse.BooleanOptionalAction, default=None,
                   help="本单位负责人，接收超期督办提醒 / heads the unit: told of overdue steps")
