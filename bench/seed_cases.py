"""A county of 20 towns × 15 villages with its people, filled fast with N cases of the bundled processes.

Used by bench/pages.py. The county (`seed_county`): 清河县 (`cty`) with towns `twn01`…`twn20`, each with
villages `vil0101`…`vil2015`; per village a mediator (`med_vil0101`) and an intake worker
(`intake_vil0101`); per town a mediator, a petition officer and a justice officer (`med_twn01`,
`pet_twn01`, `jus_twn01`); at the county two mediators, two petition officers, a justice officer, a
court liaison, three leaders, an auditor and an admin. Every password is `password1`.

Filling (`fill_store`) has two parts:

1. **Templates through the real engine.** A few hundred cases of the kinds in `KINDS` (a village
   dispute settled and archived, one escalated to the town, a refusal, a withdrawal, a petition not
   accepted or resolved …; and open ones at each step and level) are registered with
   `services.cases.register` in villages of town 01 (and 02, for disputes across towns) and worked with
   `services.tasks.complete` / `services.cases.send_message` on the simulated clock, each action at its
   own time over the past 18 months, with the scheduler's sweep run before every action: deadlines
   that pass fire as in production (a follow-up left undone goes overdue, a late acceptance decision
   opens its 督办 task, a petition's review window closes it).
2. **Copies in bulk.** Each further case copies one template's rows — `case_record` (with its
   workflow `state`), `human_task`, `deadline`, `case_event`, `case_party`, `ledger_entry`,
   `ledger_event` — with new ids and a new case number, moved to another town and village by renaming
   every unit code and every username (usernames embed their unit's code) in every copied value,
   the state included, by one consistent rotation of towns and of villages. Nothing is run through
   the engine again. The copies' hash chains are recomputed (`engine.audit.event_hash`) over the
   renamed events with the new case id, so `fengqiao audit verify` passes on copies too
   (`verify_sample` checks some). Not copied: outbox/inbox rows (the reminders of the template's
   deadlines), case links (no template opens another case). Kept as the template's: the parties'
   names, the digests of their ID numbers and phones (`case_party`), so a search by a party's ID
   number finds every copy of its template.

Times are the template's: a copy was registered, and its deadlines fall, when its template's did, so
the due dates of open cases take as many distinct values as there are templates of their kind.
Everything random comes from one seeded `random.Random`, so runs with the same arguments build the
same store, its times counted back from the moment the run starts.
"""
from __future__ import annotations

import hashlib
import json
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from engine import state_codec  # noqa: E402
from engine.accounts import actor_of, hash_password  # noqa: E402
from engine import ledger, search  # noqa: E402
from engine.audit import GENESIS, canonical, event_hash  # noqa: E402
from engine.calendar import ZONE  # noqa: E402
from engine.definitions import parse_decisions, parse_files  # noqa: E402
from engine.definitions_repo import deploy, deploy_decisions  # noqa: E402
from engine.store import (Case, CaseCounter, CaseEvent, CaseParty, Deadline, HumanTask, LedgerEntry,  # noqa: E402
                          LedgerEvent, OrgUnit, User)
from workflows import dashboard_tally  # noqa: E402

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
    kind: str  # register | task | message
    who: str
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    case_type: str = ""


@dataclass
class Template:
    kind: str
    case_type: str
    case_id: int | None = None
    failed: str | None = None


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


KINDS: tuple[Kind, ...] = (
    Kind("village_settled", "mediation", "closed", 0.560, 40, _village_settled, "村级调解成功，已归档"),
    Kind("town_settled", "mediation", "closed", 0.140, 12, _town_settled, "村级未成，镇级调解成功，已归档"),
    Kind("county_settled", "mediation", "closed", 0.060, 6, _county_settled, "跨镇，县级调解成功，已归档"),
    Kind("refused", "mediation", "closed", 0.070, 8, _refused, "当事人拒绝调解，已归档"),
    Kind("withdrawn", "mediation", "closed", 0.040, 5, _withdrawn, "申请人撤回，已归档"),
    Kind("petition_declined", "petition", "closed", 0.040, 8, _petition_declined, "信访不予受理"),
    Kind("petition_resolved", "petition", "closed", 0.053, 10, _petition_resolved, "信访办结，复查期满"),
    Kind("open_village", "mediation", "open", 0.010, 24, _open_village, "村级调解中"),
    Kind("open_town", "mediation", "open", 0.005, 10, _open_town, "镇级调解中"),
    Kind("open_county", "mediation", "open", 0.003, 8, _open_county, "县级调解中"),
    Kind("open_confirmation", "mediation", "open", 0.004, 10, _open_confirmation, "待司法确认申请"),
    Kind("open_followup", "mediation", "open", 0.006, 16, _open_followup, "待回访（部分逾期）"),
    Kind("open_archive", "mediation", "open", 0.002, 6, _open_archive, "待归档"),
    Kind("open_decision", "petition", "open", 0.002, 10, _open_decision, "待受理决定（部分逾期，督办）"),
    Kind("open_handling", "petition", "open", 0.004, 10, _open_handling, "办理中"),
    Kind("open_window", "petition", "open", 0.001, 5, _open_window, "复查申请期内"),
)


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
            for days, what, who, step, data in steps:
                at = min(start + timedelta(days=days), now)
                actions.append(Action(at, template, what, who, step, data, kind.case_type))
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
                template.case_id = services.cases.register(actor, action.case_type, action.data)["id"]
            elif action.kind == "message":
                services.cases.send_message(actor, template.case_id, action.step, action.data)
            else:
                with system.db.read() as s:
                    task_id = s.scalar(select(HumanTask.id).where(
                        HumanTask.case_id == template.case_id, HumanTask.name == action.step,
                        HumanTask.status == "ready").order_by(HumanTask.id).limit(1))
                    version = s.scalar(select(Case.version).where(Case.id == template.case_id))
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
        status = dict(s.execute(select(Case.id, Case.status).where(Case.id.in_([t.case_id for t in good]))).all())
    expected = {k.name: k.status for k in KINDS}
    for t in good:
        if status.get(t.case_id) != expected[t.kind]:
            log(f"  template {t.kind} (case {t.case_id}) is {status.get(t.case_id)}, not {expected[t.kind]}: dropped\n")
            t.failed = "state"
    return [t for t in good if not t.failed]


# ------------------------------------------------------------------------------------ copying
# A unit code, a username (they embed their unit's code), a task id in an event, a case number.
_CODES = re.compile(r'vil(\d\d)(\d\d)|twn(\d\d)|("task_id": ?)(\d+)|((?:MED|XF)-\d{4}-\d{6})')


class Renamer:
    """One copy's renaming: towns rotated by dt, villages within their town by dv (a bijection of
    the county's units, and so of its usernames), the template's task ids and case number replaced."""

    def __init__(self, dt: int, dv: int, number: tuple[str, str], task_ids: dict[int, int]):
        self.dt, self.dv, self.number, self.task_ids = dt, dv, number, task_ids
        self.done: dict[tuple, str] = {}

    def token(self, token: tuple) -> str:
        found = self.done.get(token)
        if found is None:
            found = self.done[token] = self._token(token)
        return found

    def _token(self, token: tuple) -> str:
        kind = token[0]
        if kind == "v":
            return f"vil{(token[1] - 1 + self.dt) % TOWNS + 1:02d}{(token[2] - 1 + self.dv) % VILLAGES + 1:02d}"
        if kind == "t":
            return f"twn{(token[1] - 1 + self.dt) % TOWNS + 1:02d}"
        if kind == "k":
            return f"{token[1]}{self.task_ids.get(token[2], token[2])}"
        return self.number[1] if token[1] == self.number[0] else token[1]

    def text(self, value: str | None) -> str | None:
        """A short text (a unit code, a username) renamed."""
        return Pieces(value).render(self) if value else value


class Pieces:
    """A text cut once at its codes, so each copy joins the pieces with its own names instead of
    scanning the text again (a workflow state is some 14 KB)."""
    __slots__ = ("parts",)

    def __init__(self, text: str):
        parts: list[Any] = []
        last = 0
        for m in _CODES.finditer(text):
            parts.append(text[last:m.start()])
            if m.group(1):
                parts.append(("v", int(m.group(1)), int(m.group(2))))
            elif m.group(3):
                parts.append(("t", int(m.group(3))))
            elif m.group(4):
                parts.append(("k", m.group(4), int(m.group(5))))
            else:
                parts.append(("n", m.group(6)))
            last = m.end()
        parts.append(text[last:])
        self.parts = parts

    def render(self, r: Renamer) -> str:
        return "".join(p if p.__class__ is str else r.token(p) for p in self.parts)


def _stored(value: Any) -> str:
    """A JSON value as the store's JSON columns hold it (the engines' json_serializer)."""
    return state_codec.json_text(value)


def _json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


@dataclass
class TemplateRows:
    template: Template
    case: dict[str, Any]
    tasks: list[dict[str, Any]]
    deadlines: list[dict[str, Any]]
    events: list[dict[str, Any]]
    parties: list[dict[str, Any]]
    entries: list[dict[str, Any]]
    entry_events: list[dict[str, Any]]
    year: int
    home: int  # the template's home village index in town 01
    # cut once: the state, the JSON columns as stored, and each event's data as stored and as hashed
    state: Pieces = field(init=False)
    json_cols: dict[str, Pieces] = field(init=False)
    event_parts: list[tuple[Pieces, Pieces, Pieces]] = field(init=False)
    bound: dict[str, list[dict[str, Any]]] = field(init=False)  # the rows as the driver gets them

    def __post_init__(self):
        self.state = Pieces(state_codec.decode_json(self.case["state"]).decode("utf-8"))
        self.json_cols = {k: Pieces(_stored(self.case[k])) for k in ("data", "withheld_from", "flags")}
        self.event_parts = [(Pieces(_stored(e["data"])), Pieces(canonical(e["data"])), Pieces(e["actor"]))
                            for e in self.events]


def _rows(conn, table, *where) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(table).where(*where).order_by(table.c.id)).mappings()]


def load_templates(system, templates: list[Template]) -> list[TemplateRows]:
    case_t, task_t, deadline_t, event_t = (Case.__table__, HumanTask.__table__, Deadline.__table__,
                                           CaseEvent.__table__)
    party_t, entry_t, lev_t = CaseParty.__table__, LedgerEntry.__table__, LedgerEvent.__table__
    loaded = []
    with system.db.read() as s:
        conn = s.connection()
        for t in templates:
            case = _rows(conn, case_t, case_t.c.id == t.case_id)[0]
            entries = _rows(conn, entry_t, entry_t.c.case_id == t.case_id)
            home = case["data"].get("route", {}).get("village") or case["data"].get("residence_org")
            loaded.append(TemplateRows(
                t, case, _rows(conn, task_t, task_t.c.case_id == t.case_id),
                _rows(conn, deadline_t, deadline_t.c.case_id == t.case_id),
                sorted(_rows(conn, event_t, event_t.c.case_id == t.case_id), key=lambda e: e["seq"]),
                _rows(conn, party_t, party_t.c.case_id == t.case_id), entries,
                _rows(conn, lev_t, lev_t.c.entry_id.in_([e["id"] for e in entries])) if entries else [],
                case["created_at"].astimezone(ZONE).year, int(home[-2:])))
            t_rows = loaded[-1]
            t_rows.bound = {name: _bound(system, model, rows) for name, model, rows in (
                ("case", Case, [case]), ("task", HumanTask, t_rows.tasks), ("deadline", Deadline, t_rows.deadlines),
                ("event", CaseEvent, t_rows.events), ("party", CaseParty, t_rows.parties),
                ("entry", LedgerEntry, t_rows.entries), ("lev", LedgerEvent, t_rows.entry_events))}
    return loaded


def copy_plan(templates: list[TemplateRows], cases: int, rng: random.Random) -> list[TemplateRows]:
    """Which template each copy copies: per kind, its share of `cases` less its templates, round robin;
    sorted by registration time so newer cases get larger ids, as in a store that grew."""
    by_kind: dict[str, list[TemplateRows]] = {}
    for t in templates:
        by_kind.setdefault(t.template.kind, []).append(t)
    plan: list[TemplateRows] = []
    wanted = {k.name: max(0, round(cases * k.share)) for k in KINDS}
    for k in KINDS:
        own = by_kind.get(k.name) or []
        if own:
            plan.extend(own[i % len(own)] for i in range(max(0, wanted[k.name] - len(own))))
    # rounding: trim, or pad with the commonest kind, so that the store holds `cases` cases
    common = by_kind.get(KINDS[0].name) or templates
    while len(templates) + len(plan) > cases and plan:
        plan.pop(rng.randrange(len(plan)))
    while len(templates) + len(plan) < cases:
        plan.append(common[len(plan) % len(common)])
    plan.sort(key=lambda t: t.case["created_at"])
    return plan


def _untyped(table):
    """`table` with untyped columns: the copies' values are passed to the driver as they are, already
    in the store's form (`_bound`; JSON rendered as text), not processed again for every copy."""
    from sqlalchemy import column, table as light_table
    return light_table(table.name, *(column(c.name) for c in table.columns))


def _bound(system, model, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows in the form the driver gets them (each column type's bind processing, e.g. UTC datetimes
    as SQLite's text), done once per template; JSON columns as SQLAlchemy would serialize them."""
    from sqlalchemy import JSON
    dialect = system.db.write_engine.dialect
    processors = {}
    for c in model.__table__.columns:
        if isinstance(c.type, JSON):
            processors[c.name] = _stored
        else:
            bind = c.type.dialect_impl(dialect).bind_processor(dialect)
            if bind is not None:
                processors[c.name] = bind
    return [{k: (processors[k](v) if k in processors and (v is not None or processors[k] is _stored) else v)
             for k, v in row.items()} for row in rows]


def _hash(prev: str, case_id: int, seq: int, at: datetime, actor: str, kind: str, data_canonical: str) -> str:
    """engine.audit.event_hash, over data already in canonical JSON (its keys in sorted order)."""
    body = (f'{{"actor":{_json_str(actor)},"at":"{at.astimezone(timezone.utc).isoformat(timespec="microseconds")}",'
            f'"case_id":{case_id},"data":{data_canonical},"kind":{_json_str(kind)},"seq":{seq}}}')
    return hashlib.sha256((prev + body).encode("utf-8")).hexdigest()


def fill_copies(system, templates: list[TemplateRows], plan: list[TemplateRows], rng: random.Random,
                chunk: int = 2000, log: Callable[[str], None] = _write) -> float:
    """Insert the planned copies in batches of `chunk` cases, one transaction each; returns seconds."""
    models = (("case", Case), ("task", HumanTask), ("deadline", Deadline), ("event", CaseEvent),
              ("party", CaseParty), ("entry", LedgerEntry), ("lev", LedgerEvent))
    tables = {name: model.__table__ for name, model in models}
    raw = {name: _untyped(t) for name, t in tables.items()}
    with system.db.read() as s:
        next_id = {name: (s.scalar(select(func.max(t.c.id))) or 0) + 1 for name, t in tables.items()}
        counters = {(c.type, c.year): c.last for c in s.scalars(select(CaseCounter))}
    prefixes = {"mediation": "MED", "petition": "XF"}
    checked: set[int] = set()  # templates whose first copy's hashes were checked against engine.audit
    started, done = time.perf_counter(), 0
    while done < len(plan):
        batch: dict[str, list[dict[str, Any]]] = {name: [] for name in tables}
        for t in plan[done:done + chunk]:
            case_id = next_id["case"]
            next_id["case"] += 1
            key = (t.case["type"], t.year)
            counters[key] = counters.get(key, 0) + 1
            number = f"{prefixes[t.case['type']]}-{t.year}-{counters[key]:06d}"
            task_ids = {}
            for task in t.tasks:
                task_ids[task["id"]] = next_id["task"]
                next_id["task"] += 1
            r = Renamer(rng.randrange(TOWNS), rng.randint(1, VILLAGES) - t.home, (t.case["number"], number), task_ids)
            prev = GENESIS
            b = t.bound
            for e, eb, (stored, canon, actor_p) in zip(t.events, b["event"], t.event_parts):
                actor, data_canon = actor_p.render(r), canon.render(r)
                digest = _hash(prev, case_id, e["seq"], e["at"], actor, e["kind"], data_canon)
                if id(t) not in checked:
                    assert digest == event_hash(prev, case_id, e["seq"], e["at"], actor, e["kind"],
                                                json.loads(data_canon)), "hash recomputation differs"
                batch["event"].append({**eb, "id": next_id["event"], "case_id": case_id, "actor": actor,
                                       "data": stored.render(r), "hash": digest})
                next_id["event"] += 1
                prev = digest
            checked.add(id(t))
            c = t.case
            batch["case"].append({**b["case"][0], "id": case_id, "number": number, "jurisdiction": r.text(c["jurisdiction"]),
                                  "owner": r.text(c["owner"]), "registered_by": r.text(c["registered_by"]),
                                  "state": state_codec.encode_json(t.state.render(r)), "last_event_hash": prev,
                                  **{k: p.render(r) for k, p in t.json_cols.items()}})
            for task, tb in zip(t.tasks, b["task"]):
                batch["task"].append({**tb, "id": task_ids[task["id"]], "case_id": case_id,
                                      "org_unit": r.text(task["org_unit"]), "assignee": r.text(task["assignee"]),
                                      "completed_by": r.text(task["completed_by"])})
            for d in b["deadline"]:
                batch["deadline"].append({**d, "id": next_id["deadline"], "case_id": case_id})
                next_id["deadline"] += 1
            for p in b["party"]:
                batch["party"].append({**p, "id": next_id["party"], "case_id": case_id})
                next_id["party"] += 1
            entry_ids = {}
            for entry in t.entries:
                entry_ids[entry["id"]] = next_id["entry"]
                next_id["entry"] += 1
            for entry, enb in zip(t.entries, b["entry"]):
                batch["entry"].append({**enb, "id": entry_ids[entry["id"]], "case_id": case_id,
                                       "mediator": r.text(entry["mediator"]), "review_unit": r.text(entry["review_unit"]),
                                       "reverses": entry_ids.get(entry["reverses"], entry["reverses"])})
            for ev, evb in zip(t.entry_events, b["lev"]):
                batch["lev"].append({**evb, "id": next_id["lev"], "entry_id": entry_ids[ev["entry_id"]],
                                     "actor": r.text(ev["actor"])})
                next_id["lev"] += 1
        with system.db.write() as s:
            conn = s.connection()
            for name, _model in models:  # parents first
                if batch[name]:
                    conn.execute(raw[name].insert(), batch[name])
        done += len(batch["case"])
        elapsed = time.perf_counter() - started
        log(f"\r  copies: {done}/{len(plan)} cases ({elapsed:.0f} s, {done / max(elapsed, 1e-9):.0f} cases/s)")
    with system.db.write() as s:
        for (case_type, year), last in counters.items():
            found = s.get(CaseCounter, (case_type, year))
            if found is None:
                s.add(CaseCounter(type=case_type, year=year, last=last))
            else:
                found.last = last
        if system.db.is_postgres:  # explicit ids: move the sequences past them
            for t in tables.values():
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {t.name}))"))
    log("\n")
    return time.perf_counter() - started


def verify_sample(system, count: int, rng: random.Random) -> tuple[int, Any]:
    """Recompute the hash chains of `count` random cases (templates and copies)."""
    from engine.audit import verify_cases
    with system.db.read() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
        ids = sorted(rng.sample(range(1, top + 1), min(count, top)))
        return verify_cases(s, ids)


def fill_store(system, cases: int, now: datetime, seed: int = 20261201, chunk: int = 2000,
               log: Callable[[str], None] = _write) -> dict[str, Any]:
    """The county, the templates through the engine, and copies up to `cases` cases. The clock must be
    simulated; it is left at `now`."""
    rng = random.Random(seed)
    county = seed_county(system, now - timedelta(days=600))
    t0 = time.perf_counter()
    templates = register_templates(system, now, rng, cases, log=log)
    registered = time.perf_counter() - t0
    rows = load_templates(system, templates)
    plan = copy_plan(rows, cases, rng)
    copied = fill_copies(system, rows, plan, rng, chunk=chunk, log=log)
    search.rebuild(system.db, chunk=chunk)  # the copies went in without their search terms
    dashboard_tally.rebuild(system.db)  # nor the dashboard's counts
    ledger.rebuild_tally(system.db)  # nor the ledger's totals
    return {"county": county, "templates": len(templates), "registered_s": registered, "copies": len(plan),
            "copied_s": copied, "by_kind": {k.name: sum(1 for t in templates if t.kind == k.name) for k in KINDS}}


__all__ = ["fill_store", "seed_county", "village", "town", "village_mediator", "verify_sample", "KINDS",
           "PASSWORD", "COUNTY", "TOWNS", "VILLAGES"]
