"""The county of bench/seed_cases.py and its template cases, worked through the real engine.

The county (`seed_county`): 清河县 (`cty`) with towns `twn01`…`twn20`, each with villages
`vil0101`…`vil2015`; per village a mediator (`med_vil0101`) and an intake worker (`intake_vil0101`);
per town a mediator, a petition officer and a justice officer (`med_twn01`, `pet_twn01`,
`jus_twn01`); at the county two mediators, two petition officers, a justice officer, a court
liaison, three leaders, an auditor and an admin. Every password is `password1`.

The templates (`register_templates`, the kinds in `KINDS`) are the first part of bench/seed_cases.py's
filling; its docstring tells the whole.
"""
from __future__ import annotations

import random
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from engine.accounts import actor_of, hash_password  # noqa: E402
from engine.definitions import parse_decisions, parse_files  # noqa: E402
from engine.definitions_repo import deploy, deploy_decisions  # noqa: E402
from engine.store import Case, CaseLink, HumanTask, OrgUnit, User  # noqa: E402

BPMN = ROOT / "bpmn"
PASSWORD = "password1"
COUNTY = "cty"
TOWNS, VILLAGES = 20, 15

TOWN_NAMES = ("东坝", "西山", "南湖", "北河", "青石", "白杨", "柳林", "桃源", "金沙", "银杏",
              "龙泉", "凤鸣", "黄土", "红岩", "松涛", "梅岭", "竹溪", "荷塘", "石桥", "清水")
VILLAGE_NAMES = ("上庄", "下河", "前进", "后湾", "新民", "大营", "小屯", "王家", "李家", "张庄",
                 "刘湾", "陈岗", "杨柳", "高坡", "幸福")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "秀英桂兰建国春生德福立红强军华明丽敏静伟芳娟玉梅志刚海燕俊杰长林玉兰建军"


def _write(message: str) -> None:
    """Progress lines: `\r` rewrites the line, `\n` ends it."""
    sys.stdout.write(message)
    sys.stdout.flush()


def town(t: int) -> str:
    return f"twn{t:02d}"


def village(t: int, v: int) -> str:
    return f"vil{t:02d}{v:02d}"


def village_mediator(t: int, v: int) -> str:
    return f"med_{village(t, v)}"


# ------------------------------------------------------------------------------------ the county
def seed_county(system, now: datetime) -> dict[str, Any]:
    """Org units and users in bulk (one scrypt hash shared by all: `add_user` would take 50 ms each)."""
    units = [{"code": COUNTY, "name": "清河县", "level": "county", "parent": None}]
    users: list[dict[str, Any]] = []

    def user(username: str, roles: list[str], org: str, name: str, servant: bool = False, head: bool = False):
        users.append({"username": username, "display_name": name, "org_unit": org, "roles": roles,
                      "civil_servant": servant, "password_hash": digest, "active": True, "created_at": now,
                      "channels": ["inapp"], "unit_head": head})

    digest = hash_password(PASSWORD)
    for t in range(1, TOWNS + 1):
        units.append({"code": town(t), "name": f"{TOWN_NAMES[t - 1]}镇", "level": "town", "parent": COUNTY})
        for v in range(1, VILLAGES + 1):
            units.append({"code": village(t, v), "name": f"{VILLAGE_NAMES[v - 1]}村", "level": "village",
                          "parent": town(t)})
    for t in range(1, TOWNS + 1):
        tn = TOWN_NAMES[t - 1]
        user(f"med_{town(t)}", ["mediator"], town(t), f"{tn}镇调解员")
        user(f"pet_{town(t)}", ["petition_officer"], town(t), f"{tn}镇信访办", servant=True)
        user(f"jus_{town(t)}", ["justice_officer"], town(t), f"{tn}司法所", servant=True, head=True)
        for v in range(1, VILLAGES + 1):
            vn = f"{tn}·{VILLAGE_NAMES[v - 1]}"
            user(village_mediator(t, v), ["mediator"], village(t, v), f"{vn}调解员")
            user(f"intake_{village(t, v)}", ["intake"], village(t, v), f"{vn}网格员")
    for i in (1, 2):
        user(f"med_cty{i}", ["mediator"], COUNTY, f"县调解员{i}")
        user(f"pet_cty{i}", ["petition_officer"], COUNTY, f"县信访局{i}", servant=True)
    for i in (1, 2, 3):
        user(f"lead_cty{i}", ["leader"], COUNTY, f"副县长{i}", servant=True)
    user("jus_cty", ["justice_officer"], COUNTY, "县司法局", servant=True, head=True)
    user("court_cty", ["court_liaison"], COUNTY, "法院联络员", servant=True)
    user("auditor_cty", ["auditor"], COUNTY, "审计员", servant=True)
    user("admin_cty", ["admin"], COUNTY, "管理员")
    files = {p.name: p.read_bytes() for p in sorted(BPMN.iterdir()) if p.suffix in (".bpmn", ".dmn")}
    with system.db.write() as s:
        deploy(s, parse_files(files), now=now, actor="admin_cty")
        deploy_decisions(s, parse_decisions(files), now=now, actor="admin_cty")
        conn = s.connection()
        conn.execute(OrgUnit.__table__.insert(), [u for u in units if u["level"] == "county"])
        conn.execute(OrgUnit.__table__.insert(), [u for u in units if u["level"] == "town"])
        conn.execute(OrgUnit.__table__.insert(), [u for u in units if u["level"] == "village"])
        conn.execute(User.__table__.insert(), users)
    return {"units": len(units), "users": len(users)}


def actors(system) -> dict[str, Any]:
    with system.db.read() as s:
        return {u.username: actor_of(u) for u in s.scalars(select(User))}


# ------------------------------------------------------------------------------------ case data
def id_number(rng: random.Random, birth_year: int | None = None) -> str:
    """A valid resident ID number (GB 11643 check digit) of an invented person of the county."""
    year = birth_year or rng.randint(1940, 2004)
    body = f"5227{rng.randint(20, 35):02d}{year}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, weights)) % 11]


def person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def phone(rng: random.Random) -> str:
    return f"1{rng.choice('3589')}{rng.randint(0, 999999999):09d}"


SUMMARIES = {"neighbour": "排水沟堵塞，邻里争执", "housing_homestead": "宅基地边界纠纷", "marriage_family": "赡养费纠纷",
             "contract": "买卖合同货款纠纷", "labour": "务工人员工资纠纷", "land_forest": "承包地界址争议",
             "damages": "饲养的牛损坏庄稼", "traffic": "农用车剐蹭赔偿"}


def dispute(rng: random.Random, home: str, other: str | None = None, *, risk: str = "green",
            amount_fen: int | None = None) -> dict[str, Any]:
    category = rng.choice(sorted(SUMMARIES))
    parties = [{"side": "applicant", "name": person_name(rng), "id_number": id_number(rng), "phone": phone(rng),
                "household_address": "村民小组", "residence_org": home},
               {"side": "respondent", "name": person_name(rng), "phone": phone(rng),
                "household_address": "村民小组", "residence_org": other or home}]
    data = {"parties": parties, "category": category, "summary": SUMMARIES[category],
            "source": rng.choice(("party_application", "party_application", "proactive_screening")),
            "risk_level": risk}
    if amount_fen is not None:
        data["amount_fen"] = amount_fen
    return data


def petition(rng: random.Random, home: str, respondent: str) -> dict[str, Any]:
    return {"petitioners": [{"name": person_name(rng), "id_number": id_number(rng), "phone": phone(rng),
                             "address": "村民小组"}],
            "residence_org": home, "channel": rng.choice(("visit", "letter", "online")),
            "kind": "complaint_request", "category": rng.choice(("land_forest", "labour", "housing_homestead")),
            "respondent_unit": respondent, "summary": "对村委会土地承包调整不服，要求重新核定", "people_count": 1}


FILE_OK = {"registration_form": True, "rights_notice": True, "identity_proof": True, "mediation_record": True,
           "agreement": True, "followup_record": True}


def agree(rng: random.Random) -> dict[str, Any]:
    return {"result": "agreement", "agreement_form": rng.choice(("written", "oral")), "agreement_text": "双方同意按协议履行",
            "difficulty": rng.choice(("simple", "general", "general", "difficult"))}


# ------------------------------------------------------------------------------------ templates
@dataclass
class Action:
    at: datetime
    template: "Template"
    kind: str  # register | task | message | owner
    who: str
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    case_type: str = ""
    target: int = 0  # which of the template's cases: 0 the first, 1 the second (registered, or linked)


@dataclass
class Template:
    kind: str
    case_type: str
    case_ids: list[int] = field(default_factory=list)
    failed: str | None = None

    @property
    def case_id(self) -> int | None:
        return self.case_ids[0] if self.case_ids else None


@dataclass(frozen=True)
class Kind:
    name: str
    case_type: str
    status: str  # what the kind's cases are once seeded: open | closed
    share: float  # of all cases
    templates: int
    # (rng, start time, home village index 1..15) -> [(days after start, kind, who, step, data)]
    script: Callable[[random.Random, datetime, int], tuple[datetime, list[tuple]]]
    note: str


def _closed_start(rng: random.Random, now: datetime) -> datetime:
    """Long enough ago for every step, and a petition's 30-day review window, to be over."""
    return now - timedelta(days=rng.uniform(100, 540), hours=rng.uniform(0, 8))


def _village_settled(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home)),
                   (rng.uniform(1, 7), "task", m, "mediate", agree(rng)),
                   (8, "task", m, "judicial_confirmation", {"applied": False}),
                   (rng.uniform(15, 30), "task", m, "followup", {"performance": "performed",
                                                                 "satisfaction": rng.randint(3, 5)}),
                   (35, "task", m, "archive", {"checklist": FILE_OK})]


def _town_settled(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home)),
                   (rng.uniform(2, 7), "task", m, "mediate", {"result": "no_agreement", "notes": "双方分歧较大"}),
                   (9, "task", "med_twn01", "mediate", agree(rng)),
                   (10, "task", "med_twn01", "judicial_confirmation", {"applied": False}),
                   (25, "task", "med_twn01", "followup", {"performance": "performed", "satisfaction": 4}),
                   (28, "task", "med_twn01", "archive", {"checklist": FILE_OK})]


def _county_settled(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    other = village(2, rng.randint(1, VILLAGES))  # parties in two towns: triaged to the county
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home, other)),
                   (rng.uniform(5, 20), "task", "med_cty1", "mediate", agree(rng)),
                   (22, "task", "med_cty1", "judicial_confirmation", {"applied": False}),
                   (40, "task", "med_cty1", "followup", {"performance": "partial", "satisfaction": 3}),
                   (45, "task", "med_cty1", "archive", {"checklist": FILE_OK})]


def _refused(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home)),
                   (rng.uniform(1, 5), "task", m, "mediate", {"result": "refused", "notes": "一方拒绝调解"}),
                   (7, "task", m, "archive", {"checklist": FILE_OK})]


def _withdrawn(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home)),
                   (rng.uniform(1, 5), "message", m, "withdraw", {"reason": "双方已自行和解"}),
                   (7, "task", m, "archive", {"checklist": FILE_OK})]


def _petition_declined(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    return start, [(0, "register", "pet_twn01", "", petition(rng, home, home)),
                   (rng.uniform(2, 12), "task", "pet_twn01", "decide_acceptance",
                    {"decision": "not_accept", "reason": "属诉讼程序，告知依法起诉"})]


def _petition_resolved(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    # The 30-day review window after the opinion passes unused: the sweep closes the case as resolved.
    return start, [(0, "register", "pet_twn01", "", petition(rng, home, home)),
                   (rng.uniform(2, 12), "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
                   (rng.uniform(20, 55), "task", "pet_twn01", "handle",
                    {"opinion": rng.choice(("support", "explain")), "opinion_text": "责成村委会重新核定"})]


def _recent(now, days_ago: float) -> datetime:
    return now - timedelta(days=days_ago)


def _open_village(rng, now, v):
    home = village(1, v)  # within the village's 10 days: some past 2/3 of them (warning)
    return _recent(now, rng.uniform(0.1, 9.0)), [(0, "register", f"intake_{home}", "", dispute(rng, home))]


def _open_town(rng, now, v):
    home = village(1, v)
    if rng.random() < 0.5:  # parties in two villages of the town: triaged to the town at once
        return _recent(now, rng.uniform(0.1, 14)), [
            (0, "register", f"intake_{home}", "", dispute(rng, home, village(1, v % VILLAGES + 1)))]
    return _recent(now, rng.uniform(3, 16)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (rng.uniform(1, 3), "task", village_mediator(1, v), "mediate", {"result": "no_agreement", "notes": "未达成"})]


def _open_county(rng, now, v):
    home = village(1, v)
    if rng.random() < 0.5:  # red risk: the county at once
        return _recent(now, rng.uniform(0.1, 28)), [
            (0, "register", f"intake_{home}", "", dispute(rng, home, risk="red"))]
    return _recent(now, rng.uniform(1, 28)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home, village(2, rng.randint(1, VILLAGES))))]


def _open_confirmation(rng, now, v):
    home = village(1, v)
    return _recent(now, rng.uniform(2, 25)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (rng.uniform(0.5, 2), "task", village_mediator(1, v), "mediate", agree(rng))]


def _open_followup(rng, now, v):
    home = village(1, v)  # agreement 3 to 55 days ago: past 30 days the follow-up is overdue
    m = village_mediator(1, v)
    return _recent(now, rng.uniform(5, 58)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (1, "task", m, "mediate", agree(rng)),
        (2, "task", m, "judicial_confirmation", {"applied": False})]


def _open_archive(rng, now, v):
    home = village(1, v)
    m = village_mediator(1, v)
    return _recent(now, rng.uniform(12, 40)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (1, "task", m, "mediate", agree(rng)),
        (2, "task", m, "judicial_confirmation", {"applied": False}),
        (rng.uniform(4, 10), "task", m, "followup", {"performance": "performed", "satisfaction": 5})]


def _open_decision(rng, now, v):
    home = village(1, v)  # 15 days to decide: past them the county office gets a 督办 task
    return _recent(now, rng.uniform(0.1, 24)), [(0, "register", "pet_twn01", "", petition(rng, home, home))]


def _open_handling(rng, now, v):
    home = village(1, v)
    return _recent(now, rng.uniform(5, 55)), [
        (0, "register", "pet_twn01", "", petition(rng, home, home)),
        (rng.uniform(1, 4), "task", "pet_twn01", "decide_acceptance", {"decision": "accept"})]


def _open_window(rng, now, v):
    home = village(1, v)
    return _recent(now, rng.uniform(15, 40)), [
        (0, "register", "pet_twn01", "", petition(rng, home, home)),
        (2, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
        (rng.uniform(5, 12), "task", "pet_twn01", "handle", {"opinion": "explain", "opinion_text": "已答复"})]


# --- kinds added for bench/seed.py: the court, owners, linked and repeat cases, review and final -----
# A step's optional sixth item is the case of the template it acts on: 0 the first, 1 the second (a
# second registration, or the case the first one opened, found through its case_link).
COURT = "清河县人民法院"


def _court_closed(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home)),
                   (rng.uniform(2, 7), "task", m, "mediate", {"result": "no_agreement", "notes": "双方分歧较大"}),
                   (9, "task", "med_twn01", "mediate", {"result": "no_agreement", "notes": "仍未达成"}),
                   (rng.uniform(14, 20), "task", "med_cty1", "mediate", {"result": "no_agreement", "notes": "建议诉讼"}),
                   (21, "task", "court_cty", "refer_to_court", {"court": COURT, "referral_kind":
                                                                rng.choice(("pre_filing_mediation", "filing"))}),
                   (rng.uniform(40, 60), "message", "court_cty", "court_result",
                    {"outcome": rng.choice(("mediated", "judgment", "judgment", "withdrawn", "dismissed")),
                     "reference": f"（{start.year}）黔2722民初{rng.randint(100, 9999)}号"}),
                   (62, "task", "med_cty1", "archive", {"checklist": {**FILE_OK, "agreement": False,
                                                                      "followup_record": False}})]


def _confirmed(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", f"intake_{home}", "", dispute(rng, home, amount_fen=rng.randint(5, 90) * 100_000)),
                   (rng.uniform(1, 7), "task", m, "mediate", agree(rng)),
                   (8, "task", m, "judicial_confirmation", {"applied": True}),
                   (rng.uniform(12, 20), "message", "court_cty", "court_confirmation", {"result": "confirmed"}),
                   (rng.uniform(30, 38), "task", m, "followup", {"performance": "performed", "satisfaction": 5}),
                   (40, "task", m, "archive", {"checklist": FILE_OK})]


def _open_court(rng, now, v):
    home = village(1, v)
    m = village_mediator(1, v)
    return _recent(now, rng.uniform(25, 45)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (2, "task", m, "mediate", {"result": "no_agreement", "notes": "双方分歧较大"}),
        (6, "task", "med_twn01", "mediate", {"result": "no_agreement", "notes": "仍未达成"}),
        (12, "task", "med_cty1", "mediate", {"result": "no_agreement", "notes": "建议诉讼"}),
        (rng.uniform(13, 20), "task", "court_cty", "refer_to_court", {"court": COURT,
                                                                      "referral_kind": "pre_filing_mediation"})]


def _open_court_confirmation(rng, now, v):
    home = village(1, v)
    m = village_mediator(1, v)
    return _recent(now, rng.uniform(3, 12)), [
        (0, "register", f"intake_{home}", "", dispute(rng, home)),
        (1, "task", m, "mediate", agree(rng)),
        (2, "task", m, "judicial_confirmation", {"applied": True})]


def _owned(rng, now, start, home, closed: bool):
    leader = f"lead_cty{rng.randint(1, 3)}"
    steps = [(0, "register", "pet_twn01", "", petition(rng, home, home)),
             (2, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
             (3, "owner", "pet_twn01", leader, {"reason": "群众反映强烈，县领导包案"}),
             (rng.uniform(8, 12), "task", leader, "progress_report", {"notes": "已约谈镇村干部，核对台账"})]
    if closed:
        steps += [(rng.uniform(16, 20), "task", leader, "progress_report", {"notes": "拟定化解方案"}),
                  (22, "task", "pet_twn01", "handle", {"opinion": "support", "opinion_text": "重新核定承包面积"})]
    return start, steps


def _petition_owned(rng, now, v):
    return _owned(rng, now, _closed_start(rng, now), village(1, v), True)


def _open_owned(rng, now, v):
    return _owned(rng, now, _recent(now, rng.uniform(13, 20)), village(1, v), False)


def _petition_transferred(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    return start, [(0, "register", "pet_twn01", "", petition(rng, home, home)),
                   (rng.uniform(1, 4), "task", "pet_twn01", "decide_acceptance",
                    {"decision": "transfer", "transfer_to": COUNTY, "reason": "涉及县直部门职权，转送县信访局"}),
                   (rng.uniform(10, 25), "task", "pet_cty1", "handle", {"opinion": "explain", "opinion_text": "已解释政策"})]


def _petition_final(rng, now, v):
    start, home = _closed_start(rng, now), village(1, v)
    opinion = {"opinion": "not_support", "opinion_text": "诉求缺乏政策依据"}
    return start, [(0, "register", "pet_twn01", "", petition(rng, home, home)),
                   (2, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
                   (rng.uniform(15, 25), "task", "pet_twn01", "handle", opinion),
                   (30, "message", "pet_twn01", "review_request", {}),
                   (rng.uniform(40, 50), "task", "pet_cty1", "review", opinion),
                   (55, "message", "pet_cty1", "rereview_request", {}),
                   (rng.uniform(60, 75), "task", "pet_cty2", "rereview", opinion)]


def _open_review(rng, now, v):
    home = village(1, v)
    return _recent(now, rng.uniform(40, 55)), [
        (0, "register", "pet_twn01", "", petition(rng, home, home)),
        (2, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
        (rng.uniform(12, 20), "task", "pet_twn01", "handle", {"opinion": "explain", "opinion_text": "已答复"}),
        (rng.uniform(24, 30), "message", "pet_twn01", "review_request", {})]


def _petition_mediated(rng, now, v):
    """A petition decided as `mediate`: it opens a mediation case (case_link), which settles at the
    village; its closing tells the petition, which closes as `mediation`. Two cases."""
    start, home = _closed_start(rng, now), village(1, v)
    m = village_mediator(1, v)
    return start, [(0, "register", "pet_twn01", "", petition(rng, home, home)),
                   (rng.uniform(1, 5), "task", "pet_twn01", "decide_acceptance",
                    {"decision": "mediate", "reason": "属民间纠纷，转人民调解"}),
                   (rng.uniform(7, 12), "task", m, "mediate", agree(rng), 1),
                   (13, "task", m, "judicial_confirmation", {"applied": False}, 1),
                   (rng.uniform(20, 40), "task", m, "followup", {"performance": "performed", "satisfaction": 4}, 1),
                   (44, "task", m, "archive", {"checklist": FILE_OK}, 1)]


def _open_repeat(rng, now, v):
    """The same petitioner again on the same matter after a refusal: flagged repeat, linked to the
    first, and waiting for its owner leader (assign_leader). Two cases, the first closed."""
    home = village(1, v)
    first = petition(rng, home, home)
    again = {**first, "channel": "letter", "summary": "再次反映承包面积问题"}
    start = _recent(now, rng.uniform(20, 40))
    return start, [(0, "register", "pet_twn01", "", first),
                   (2, "task", "pet_twn01", "decide_acceptance", {"decision": "not_accept", "reason": "已告知依法申请"}),
                   (rng.uniform(10, 15), "register", "pet_twn01", "", again, 1),
                   (rng.uniform(16, 18), "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}, 1)]


def _petition_repeat_owned(rng, now, v):
    """A repeat petition whose owner was named at `assign_leader`, who reported, then handled. Two cases."""
    home = village(1, v)
    first = petition(rng, home, home)
    again = {**first, "channel": "visit", "summary": "再次反映承包面积问题"}
    start, leader = _closed_start(rng, now), f"lead_cty{rng.randint(1, 3)}"
    return start, [(0, "register", "pet_twn01", "", first),
                   (2, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}),
                   (rng.uniform(8, 15), "task", "pet_twn01", "handle", {"opinion": "explain", "opinion_text": "已答复"}),
                   (rng.uniform(20, 25), "register", "pet_twn01", "", again, 1),
                   (27, "task", "pet_twn01", "decide_acceptance", {"decision": "accept"}, 1),
                   (28, "task", "pet_twn01", "assign_leader", {"leader": leader}, 1),
                   (rng.uniform(32, 38), "task", leader, "progress_report", {"notes": "已约谈，正在化解"}, 1),
                   (40, "task", "pet_twn01", "handle", {"opinion": "support", "opinion_text": "重新核定"}, 1)]


KINDS: tuple[Kind, ...] = (
    # mediation, closed (83.4 %): by outcome resolved_village 55 % (incl. judicial confirmation), resolved_town 13 %,
    # resolved_county 5 %, refused 6 %, withdrawn 3.5 %, court 1.5 % (and 1.2 % settled from petitions, below)
    Kind("village_settled", "mediation", "closed", 0.522, 40, _village_settled, "村级调解成功，已归档"),
    Kind("confirmed", "mediation", "closed", 0.040, 8, _confirmed, "村级调解成功，经司法确认，已归档"),
    Kind("town_settled", "mediation", "closed", 0.130, 12, _town_settled, "村级未成，镇级调解成功，已归档"),
    Kind("county_settled", "mediation", "closed", 0.050, 6, _county_settled, "跨镇，县级调解成功，已归档"),
    Kind("refused", "mediation", "closed", 0.060, 8, _refused, "当事人拒绝调解，已归档"),
    Kind("withdrawn", "mediation", "closed", 0.035, 5, _withdrawn, "申请人撤回，已归档"),
    Kind("court_closed", "mediation", "closed", 0.015, 6, _court_closed, "三级调解未成，诉调对接，法院结果，已归档"),
    # petitions, closed (10.0 %): not_accepted 3.5 %, resolved 5.0 % (owned, transferred, repeat among them),
    # final 0.5 %, mediation 0.6 % (+ its mediation case)
    Kind("petition_declined", "petition", "closed", 0.030, 8, _petition_declined, "信访不予受理"),
    Kind("petition_resolved", "petition", "closed", 0.032, 10, _petition_resolved, "信访办结，复查期满"),
    Kind("petition_owned", "petition", "closed", 0.008, 6, _petition_owned, "县领导包案，报告进展，办结"),
    Kind("petition_transferred", "petition", "closed", 0.006, 4, _petition_transferred, "转送县信访局办理，办结"),
    Kind("petition_repeat_owned", "petition", "closed", 0.008, 4, _petition_repeat_owned,
         "重复信访（两件：前案办结，后案关联前案、指定包案领导、报告进展、办结）"),
    Kind("petition_final", "petition", "closed", 0.005, 4, _petition_final, "复查、复核后终结"),
    Kind("petition_mediated", "petition", "closed", 0.012, 6, _petition_mediated,
         "转人民调解（两件：信访以调解化解结案，所开调解案件村级调解成功归档）"),
    # open (6.6 %): every step of both processes
    Kind("open_village", "mediation", "open", 0.010, 24, _open_village, "村级调解中"),
    Kind("open_town", "mediation", "open", 0.005, 10, _open_town, "镇级调解中"),
    Kind("open_county", "mediation", "open", 0.003, 8, _open_county, "县级调解中"),
    Kind("open_confirmation", "mediation", "open", 0.004, 10, _open_confirmation, "待司法确认申请"),
    Kind("open_court_confirmation", "mediation", "open", 0.001, 4, _open_court_confirmation, "等待法院司法确认"),
    Kind("open_court", "mediation", "open", 0.001, 4, _open_court, "诉调对接，等待法院结果"),
    Kind("open_followup", "mediation", "open", 0.006, 16, _open_followup, "待回访（部分逾期）"),
    Kind("open_archive", "mediation", "open", 0.002, 6, _open_archive, "待归档"),
    Kind("open_decision", "petition", "open", 0.002, 10, _open_decision, "待受理决定（部分逾期，督办）"),
    Kind("open_handling", "petition", "open", 0.004, 10, _open_handling, "办理中"),
    Kind("open_owned", "petition", "open", 0.003, 6, _open_owned, "办理中，县领导包案"),
    Kind("open_window", "petition", "open", 0.001, 5, _open_window, "复查申请期内"),
    Kind("open_review", "petition", "open", 0.001, 4, _open_review, "复查中（县信访局）"),
    Kind("open_repeat", "petition", "open", 0.004, 4, _open_repeat,
         "重复信访待指定包案领导（两件：前案不予受理，后案关联前案）"),
)


def _target(system, template: Template, target: int) -> int:
    """The template's case an action works: its `target`-th registered one, or the case its first one
    opened (case_link), found when first needed."""
    if target < len(template.case_ids):
        return template.case_ids[target]
    with system.db.read() as s:
        linked = s.scalar(select(CaseLink.linked_case_id).where(CaseLink.case_id == template.case_ids[0])
                          .order_by(CaseLink.id).limit(1))
    if linked is None:
        raise LookupError("the case opened no linked case")
    template.case_ids.append(linked)
    return linked


def register_templates(system, now: datetime, rng: random.Random, cases: int,
                       log: Callable[[str], None] = _write) -> list[Template]:
    """Register and work the templates through the application layer on the simulated clock, every
    action at its own time (the sweep run before each), ending with the clock at `now`."""
    services, people = system.services, actors(system)
    templates, actions = [], []
    for kind in KINDS:
        for _ in range(min(kind.templates, max(1, round(cases * kind.share)))):
            template = Template(kind.name, kind.case_type)
            start, steps = kind.script(rng, now, rng.randint(1, VILLAGES))
            for days, what, who, step, data, *target in steps:
                at = min(start + timedelta(days=days), now)
                actions.append(Action(at, template, what, who, step, data, kind.case_type, *target))
            templates.append(template)
    actions.sort(key=lambda a: a.at)
    started = time.perf_counter()
    for i, action in enumerate(actions, 1):
        template = action.template
        if template.failed:
            continue
        system.clock.set(action.at)
        system.sweep_all()
        actor = people[action.who]
        try:
            if action.kind == "register":
                template.case_ids.append(services.cases.register(actor, action.case_type, action.data)["id"])
                continue
            case_id = _target(system, template, action.target)
            if action.kind == "message":
                services.cases.send_message(actor, case_id, action.step, action.data)
            elif action.kind == "owner":  # the petition office names an owner leader (case.set_owner)
                services.cases.set_owner(actor, case_id, action.step, action.data.get("reason"))
            else:
                with system.db.read() as s:
                    task_id = s.scalar(select(HumanTask.id).where(
                        HumanTask.case_id == case_id, HumanTask.name == action.step,
                        HumanTask.status == "ready").order_by(HumanTask.id).limit(1))
                    version = s.scalar(select(Case.version).where(Case.id == case_id))
                if task_id is None:
                    raise LookupError(f"no ready {action.step} task")
                services.tasks.complete(actor, task_id, action.data, version)
        except Exception as e:  # noqa: BLE001 — a template that went astray is dropped, and said so
            template.failed = f"{action.kind} {action.step}: {type(e).__name__}: {e}"
        if i % 50 == 0 or i == len(actions):
            log(f"\r  templates: {i}/{len(actions)} actions through the engine "
                f"({time.perf_counter() - started:.0f} s)")
    system.clock.set(now)
    system.sweep_all()
    log("\n")
    for t in templates:
        if t.failed:
            log(f"  template {t.kind} dropped: {t.failed}\n")
    good = [t for t in templates if not t.failed and t.case_id]
    with system.db.read() as s:  # each kind must have ended in the state it stands for
        status = dict(s.execute(select(Case.id, Case.status).where(
            Case.id.in_([i for t in good for i in t.case_ids]))).all())
    expected = {k.name: k.status for k in KINDS}
    for t in good:  # the last case of a template is the one its kind names; the others are closed
        got = [status.get(i) for i in t.case_ids]
        if got[-1] != expected[t.kind] or any(g != "closed" for g in got[:-1]):
            log(f"  template {t.kind} (cases {t.case_ids}) is {got}, not {expected[t.kind]}: dropped\n")
            t.failed = "state"
    return [t for t in good if not t.failed]


