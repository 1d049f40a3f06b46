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

from .authorization import ROLES
from engine.errors import InvalidInput
from engine.store import Case, OrgUnit, User

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
    DemoUser("leader2", "林副县长", ("leader",), "county", civil_servant=True),
    DemoUser("petition_town", "郑信访", ("petition_officer",), "dongba", civil_servant=True),
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
        add_user(session, user.username, list(user.roles), user.org, password, now=now, known_roles=ROLES,
                 civil_servant=user.civil_servant, display_name=user.display_name)
        accounts.append(DemoAccount(user.username, password, user.display_name, user.roles, user.org,
                                    names[user.org]))
    return accounts


# ---------------------------------------------------------------------------- demo cases
def _demo_party(side: str, name: str, village: str, id_number: str | None = None) -> dict:
    party = {"side": side, "name": name, "residence_org": village, "household_address": f"{village} 村民小组"}
    if id_number:
        party["id_number"] = id_number
    return party


def seed_mediation_cases(system) -> list[str]:
    """A handful of mediation cases at different stages, worked by the demo people (none when the
    mediation process is not deployed). Returns the case numbers with what stage each is at."""
    from engine.accounts import actor_of
    from engine.definitions_repo import latest
    from engine.store import HumanTask

    with system.db.read() as session:
        if latest(session, "mediation") is None:
            return []
        actors = {u.username: actor_of(u) for u in session.scalars(select(User).where(
            User.username.in_([d.username for d in USERS])))}
    engine = system.engine

    def step(case_id: int, username: str, **data):
        with system.db.read() as session:
            task_id = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id,
                                                                HumanTask.status == "ready").order_by(HumanTask.id))
        return engine.complete_task(task_id, data, actors[username])

    def register(summary: str, parties: list[dict], **extra) -> int:
        data = {"parties": parties, "category": extra.pop("category", "neighbour"), "summary": summary,
                "source": extra.pop("source", "party_application"), "risk_level": extra.pop("risk_level", "green"),
                **extra}
        return engine.start_case("mediation", data, actors["intake"]).case_id

    seeded = []
    ditch = register("排水沟堵塞，邻里争执", [_demo_party("applicant", "张秀英", "shangzhuang", "11010519491231002X"),
                                             _demo_party("respondent", "李建国", "shangzhuang")])
    seeded.append((ditch, "村级调解中 / mediating at village"))

    boundary = register("宅基地边界纠纷", [_demo_party("applicant", "王德福", "shangzhuang"),
                                          _demo_party("respondent", "赵春生", "xiahe")],
                        category="housing_homestead")
    seeded.append((boundary, "跨村，镇级调解中 / two villages: mediating at town"))

    family = register("赡养费纠纷", [_demo_party("applicant", "刘桂兰", "shangzhuang"),
                                    _demo_party("respondent", "刘强", "shangzhuang")], category="marriage_family")
    step(family, "mediator_village", result="agreement", agreement_form="written",
         agreement_text="刘强每月支付赡养费 800 元", difficulty="general")
    seeded.append((family, "已达成协议，待记录司法确认 / agreement reached: judicial confirmation next"))

    goods = register("买卖合同货款纠纷", [_demo_party("applicant", "孙立", "shangzhuang"),
                                        _demo_party("respondent", "周红", "shangzhuang")], category="contract",
                     amount_fen=1_250_000)
    step(goods, "mediator_village", result="agreement", agreement_form="oral", agreement_text="当场付清货款",
         difficulty="simple")
    step(goods, "mediator_village", applied=False)
    step(goods, "mediator_village", performance="performed", satisfaction=5)
    step(goods, "mediator_village", checklist={k: True for k in ("registration_form", "rights_notice",
                                                                  "identity_proof", "mediation_record", "agreement",
                                                                  "followup_record")})
    seeded.append((goods, "已结案，补贴已计提 / closed: subsidy accrued"))

    wages = register("务工人员工资纠纷", [_demo_party("applicant", "吴工", "shangzhuang"),
                                        _demo_party("respondent", "某建筑公司", "shangzhuang")],
                     category="labour", risk_level="red")
    step(wages, "mediator_county", result="no_agreement", notes="公司不同意支付")
    seeded.append((wages, "县级调解不成，待移送法院 / county failed: to be referred to court"))

    with system.db.read() as session:
        numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_([c for c, _ in seeded]))).all())
    return [f"{numbers[case_id]}  {stage}" for case_id, stage in seeded]


# Each case type adds its own demo cases here (web/cli.py runs them after creating the county).
CASE_SEEDERS = [seed_mediation_cases]


def seed_demo_cases(system) -> list[str]:
    lines = []
    for seeder in CASE_SEEDERS:
        lines.extend(seeder(system))
    return lines


# ---------------------------------------------------------------------------- demo petitions
def seed_petition_cases(system) -> list[str]:
    """Petitions at different stages, as if registered over the past weeks: with owner leaders (and one
    without), one overdue (its acceptance decision is late, the office has a 督办 task) and one repeat.
    None when the petition process is not deployed."""
    from datetime import timedelta

    from engine.accounts import actor_of
    from engine.clock import Clock
    from engine.definitions_repo import latest
    from engine.store import HumanTask

    with system.db.read() as session:
        if latest(session, "petition") is None:
            return []
        actors = {u.username: actor_of(u) for u in session.scalars(select(User).where(
            User.username.in_([d.username for d in USERS])))}
    engine, now = system.engine, system.clock.now()

    class Then(Clock):
        """The engine's clock during the replay: each step happens `days` ago."""
        def __init__(self):
            self.at = now

        def now(self):
            return self.at

    real, then = engine.clock, Then()

    def on(days_ago: float):
        then.at = now - timedelta(days=days_ago)

    def step(case_id: int, name: str, username: str, **data):
        with system.db.read() as session:
            task_id = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.name == name,
                                                                HumanTask.status == "ready"))
        return engine.complete_task(task_id, data, actors[username])

    def register(petitioner: dict, village: str, **extra) -> int:
        data = {"petitioners": [petitioner], "residence_org": village, "channel": "visit",
                "kind": "complaint_request", "category": "land_forest", "respondent_unit": "dongba",
                "summary": "对土地承包经营权调整不服", "people_count": 1, **extra}
        return engine.start_case("petition", data, actors["petition_officer"]).case_id

    zhang = {"name": "张桂芳", "id_number": "11010519491231002X", "phone": "13800138000", "address": "上庄村2组"}
    li = {"name": "李长林", "id_number": "320582198001011231", "phone": "13912345678", "address": "下河村4组"}
    chen = {"name": "陈玉兰", "id_number": "51010719900606789X", "phone": "13700001111", "address": "柳林村"}
    he = {"name": "何建军", "id_number": "440306197011119874", "phone": "13600002222", "address": "荷塘村"}
    seeded = []
    engine.clock = then
    try:
        on(40)
        land = register(zhang, "shangzhuang")
        step(land, "decide_acceptance", "petition_officer", decision="accept")
        petitions = engine.application("petition")
        engine.change_case(land, actors["petition_officer"], lambda change: petitions.set_owner(change, "leader", None))
        seeded.append((land, "办理中，吴副县长包案 / being handled, owned by 吴副县长"))

        on(20)
        late = register(li, "xiahe", category="housing_homestead", respondent_unit="xiahe",
                        summary="宅基地审批长期无人答复")
        seeded.append((late, "受理决定已超期，信访局督办 / acceptance decision overdue: supervised"))

        on(30)
        group = register(chen, "liulin", category="expropriation", respondent_unit="xishan", people_count=12,
                         summary="征地补偿款未足额发放（12 人集体访，推选代表）")
        step(group, "decide_acceptance", "petition_officer", decision="transfer", transfer_to="dongba",
             reason="属东坝镇职权，交办")
        on(29)
        step(group, "assign_leader", "petition_town", leader="leader2")
        seeded.append((group, "集体访，交办东坝镇办理，林副县长包案 / group petition handled by 东坝镇, owned by 林副县长"))

        on(35)
        answered = register(he, "hetang", category="labour", respondent_unit="nanhu", summary="欠薪问题")
        step(answered, "decide_acceptance", "petition_officer", decision="accept")
        on(12)
        step(answered, "handle", "petition_officer", opinion="support", opinion_text="责成用人单位十日内支付")
        seeded.append((answered, "已出具处理意见，复查申请期内 / opinion given: review window open"))

        on(26)
        step(land, "progress_report", "leader", notes="已约谈东坝镇，核对承包台账")
        step(group, "progress_report", "leader2", notes="已督促东坝镇制定补偿方案")
        on(11)
        step(land, "progress_report", "leader", notes="台账核对完毕，拟重新测量")

        on(3)
        repeat = register(zhang, "shangzhuang", channel="letter", summary="再次反映承包面积问题")
        seeded.append((repeat, "重复信访，已关联前案 / repeat petition, linked to the earlier one"))

        on(1)
        declined = register(he, "hetang", category="other", respondent_unit="county", kind="suggestion",
                            summary="要求撤销法院判决")
        step(declined, "decide_acceptance", "petition_officer", decision="not_accept",
             reason="属诉讼程序，告知依法申请再审")
        seeded.append((declined, "不予受理，已结案 / not accepted: closed"))
    finally:
        engine.clock = real
    system.sweep()  # what came due while the replay ran: the overdue decision opens its supervision

    with system.db.read() as session:
        numbers = dict(session.execute(select(Case.id, Case.number).where(Case.id.in_([c for c, _ in seeded]))).all())
    return [f"{numbers[case_id]}  {stage}" for case_id, stage in seeded]


CASE_SEEDERS.append(seed_petition_cases)
