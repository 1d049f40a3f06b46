"""The demo county (`fengqiao init --demo`): a fictional county for training, demos and trials.

One county, three towns with three villages each (one of them a relocation-resettlement
community, 易地搬迁安置社区), and one user per role: mediators at village, town and county level
so a dispute can be escalated all the way up, and a justice officer at a town (司法所, reviews
subsidies) and at the county (县司法局, approves them). All names are invented.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.accounts import add_org_unit, add_user
from engine.errors import InvalidInput
from engine.store import OrgUnit, User

COUNTY = "county"


@dataclass(frozen=True)
class DemoUnit:
    code: str
    name: str
    level: str
    parent: str | None = None
    note: str = ""


@dataclass(frozen=True)
class DemoUser:
    username: str
    display_name: str
    roles: tuple[str, ...]
    org: str
    civil_servant: bool = False


@dataclass(frozen=True)
class DemoAccount:
    """A demo user as created, with the password generated for it (shown once)."""
    username: str
    password: str
    display_name: str
    roles: tuple[str, ...]
    org: str
    org_name: str


UNITS: tuple[DemoUnit, ...] = (
    DemoUnit(COUNTY, "清河县", "county"),
    DemoUnit("dongba", "东坝镇", "town", COUNTY),
    DemoUnit("shangzhuang", "上庄村", "village", "dongba"),
    DemoUnit("xiahe", "下河村", "village", "dongba"),
    DemoUnit("xingfu", "幸福家园社区", "village", "dongba", note="易地搬迁安置社区"),
    DemoUnit("xishan", "西山镇", "town", COUNTY),
    DemoUnit("shiqiao", "石桥村", "village", "xishan"),
    DemoUnit("liulin", "柳林村", "village", "xishan"),
    DemoUnit("taoyuan", "桃园村", "village", "xishan"),
    DemoUnit("nanhu", "南湖镇", "town", COUNTY),
    DemoUnit("hetang", "荷塘村", "village", "nanhu"),
    DemoUnit("yugang", "渔港村", "village", "nanhu"),
    DemoUnit("nanjie", "南街社区", "village", "nanhu"),
)

# A village dispute registered at 上庄村 can be mediated there, escalated to 东坝镇 and then to
# the county; the town justice office of 东坝镇 reviews the subsidy and the county bureau approves it.
USERS: tuple[DemoUser, ...] = (
    DemoUser("intake", "王网格", ("intake",), "shangzhuang"),
    DemoUser("mediator_village", "李调解", ("mediator",), "shangzhuang"),
    DemoUser("mediator_town", "赵调解", ("mediator",), "dongba"),
    DemoUser("mediator_county", "钱调解", ("mediator",), "county"),
    DemoUser("court_liaison", "孙联络", ("court_liaison",), "county", civil_servant=True),
    DemoUser("petition_officer", "周信访", ("petition_officer",), "county", civil_servant=True),
    DemoUser("leader", "吴副县长", ("leader",), "county", civil_servant=True),
    DemoUser("justice_town", "郑所长", ("justice_officer",), "dongba", civil_servant=True),
    DemoUser("justice_county", "冯局长", ("justice_officer",), "county", civil_servant=True),
    DemoUser("auditor", "陈审计", ("auditor",), "county", civil_servant=True),
    DemoUser("admin", "系统管理员", ("admin",), "county"),
)


def new_password() -> str:
    """A random password easy to read out and type: 12 characters, no look-alike letters."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def demo_exists(session: Session) -> bool:
    """True when every demo unit and user is there; an error when only some are (hand-made data)."""
    unit_codes = [u.code for u in UNITS]
    usernames = [u.username for u in USERS]
    units = set(session.scalars(select(OrgUnit.code).where(OrgUnit.code.in_(unit_codes))))
    users = set(session.scalars(select(User.username).where(User.username.in_(usernames))))
    if not units and not users:
        return False
    if len(units) == len(unit_codes) and len(users) == len(usernames):
        return True
    clash = sorted(units) + sorted(users)
    raise InvalidInput(f"数据库中已有与演示县同名的单位或用户（{', '.join(clash)}），无法创建演示县 / "
                       f"cannot seed the demo county: these org units or users already exist: {', '.join(clash)}")


def seed_demo(session: Session, now: datetime) -> list[DemoAccount] | None:
    """Create the demo county in the caller's transaction; None when it already exists."""
    if demo_exists(session):
        return None
    names = {}
    for unit in UNITS:
        add_org_unit(session, unit.code, unit.name, unit.level, unit.parent)
        names[unit.code] = unit.name
    accounts = []
    for user in USERS:
        password = new_password()
        add_user(session, user.username, list(user.roles), user.org, password, now=now,
                 civil_servant=user.civil_servant, display_name=user.display_name)
        accounts.append(DemoAccount(user.username, password, user.display_name, user.roles, user.org,
                                    names[user.org]))
    return accounts
