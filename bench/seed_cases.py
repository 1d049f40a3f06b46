"""A county of 20 towns × 15 villages with its people, filled fast with N cases of the bundled processes.

Used by bench/seed.py, bench/pages.py, bench/board.py. The county (`seed_county`): 清河县 (`cty`) with
towns `twn01`…`twn20`, each with villages `vil0101`…`vil2015`; per village a mediator (`med_vil0101`)
and an intake worker (`intake_vil0101`); per town a mediator, a petition officer and a justice officer (`med_twn01`,
`pet_twn01`, `jus_twn01`); at the county two mediators, two petition officers, a justice officer, a
court liaison, three leaders, an auditor and an admin. Every password is `password1`.

Filling (`fill_store`) has two parts:

1. **Templates through the real engine.** A few hundred cases of the kinds in `KINDS` (every outcome
   of both processes: a village dispute settled, one confirmed by the court, one escalated to the
   town, a refusal, a withdrawal, one that went to court after three levels; a petition not accepted,
   resolved, owned by a county leader with their progress reports, transferred, reviewed and
   re-reviewed to `final`, mediated through the mediation case it opened; a repeat petition linked to
   the earlier one and its owner named at `assign_leader`; and open ones at every step and level) are
   registered with `services.cases.register` in villages of town 01 (and 02, for disputes across
   towns) and worked with `services.tasks.complete` / `services.cases.send_message` /
   `services.cases.set_owner` on the simulated clock, each action at its own time over the past 18
   months, with the scheduler's sweep run before every action: deadlines that pass fire as in
   production (a follow-up left undone goes overdue, a late acceptance decision opens its 督办 task,
   a petition's review window closes it). A template is one case, or two (a petition and the
   mediation case it opened; a repeat petition and the earlier one), copied together.
2. **Copies in bulk.** Each further case copies one template's rows in every table of a case
   (`copied_tables`: `case_record`, and each table with a `case_id` or a foreign key to a copied
   table, read from the models: `case_event`, `case_link`, `case_party`, `deadline`, `human_task`,
   `ledger_entry`, `ledger_event` today; every column) with new ids and new case numbers, moved to
   another town and village by renaming every unit code and every username (usernames embed their
   unit's code) in every copied text, the workflow state included, by one consistent rotation of
   towns and of villages. Ids of the template's own rows are remapped in the id columns (foreign
   keys, `repeat_of`, `reverses`) and inside JSON values (`ID_KEYS`: `case_id`, `task_id`,
   `entry_id`, `entries[].id` …). Nothing is run through the engine again. The copies' hash chains
   are recomputed (`engine.audit.event_hash`) over the renamed events with the new case id, so
   `fengqiao audit verify` and `fengqiao check` pass on copies too. The rows go in through one
   connection (`Writer`: `executemany` of tuples on SQLite, `COPY` on PostgreSQL) with the copied
   tables' secondary indexes dropped meanwhile and rebuilt afterwards from their own statements
   (`BulkLoad`), then `finish` (ANALYZE). Not copied: outbox/inbox rows (the reminders of the
   template's deadlines). Kept as the template's: the parties' names, the digests of their ID
   numbers and phones (`case_party`), so a search by a party's ID number finds every copy of its
   template.

The workflow state is read and written only through `decode_state` / `encode_state` (today the JSON
text as stored).

Times are the template's: a copy was registered, and its deadlines fall, when its template's did, so
the due dates of open cases take as many distinct values as there are templates of their kind.
Everything random comes from one seeded `random.Random`, so runs with the same arguments build the
same store, its times counted back from the moment the run starts.
"""
from __future__ import annotations

from hashlib import sha256
import json
import operator
import random
import re
import sys
import time
from collections import defaultdict
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
from engine.store import Base, Case, CaseCounter, CaseLink, HumanTask, OrgUnit, User  # noqa: E402
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


# ------------------------------------------------------------------------------------ copying
# What a copy renames in a text: a unit code, a username (they embed their unit's code), a marked id
# of one of its template's rows (`_mark`: 9107, the table's digit, the id in 8 digits), a case number.
_CODES = re.compile(r'vil(\d\d)(\d\d)|twn(\d\d)|(?<!\d)9107(\d)(\d{8})(?!\d)|((?:MED|XF)-\d{4}-\d{6})')
_MARK = 9107 * 10 ** 9

# Tables holding a case's rows that are not copied: the reminders of the template's deadlines.
# The search index is not copied: its terms hold each case's own number, so `finish` rebuilds it.
NOT_COPIED = frozenset({"outbox", "outbox_attempt", "inbox_item", "case_search_term"})
# Columns naming a row of a copied table without a foreign key.
REFERENCES = {("case_record", "repeat_of"): "case_record", ("ledger_entry", "reverses"): "ledger_entry"}
# Keys of JSON values (case data, event data, the workflow state) naming a copied row.
ID_KEYS = {"case_id": "case_record", "petition_case_id": "case_record", "repeat_of": "case_record",
           "linked_case_id": "case_record", "task_id": "human_task", "entry_id": "ledger_entry",
           "reverses": "ledger_entry"}
ID_LISTS = {"entry_ids": "ledger_entry", "entries": "ledger_entry"}  # ints, or objects with that `id`


def decode_state(stored: Any) -> str:
    """A workflow state as JSON text, from `case_record.state` as stored (engine.state_codec's form).
    The seeder's one reader of states."""
    return state_codec.decode_json(stored).decode("utf-8") if stored else ""


def encode_state(text: str) -> Any:
    """A workflow state's JSON text in `case_record.state`'s stored form: `decode_state`'s inverse."""
    return state_codec.encode_json(text)


def copied_tables() -> list[Any]:
    """`case_record`, every table with a `case_id` column or a foreign key to a copied table (not the
    outbox's), in an order where a row's parents come first: read from the models, so a table or a
    column added to engine/store.py is copied too."""
    tables = Base.metadata.sorted_tables
    order, names = [Base.metadata.tables["case_record"]], {"case_record"}
    grown = True
    while grown:
        grown = False
        for t in tables:
            if t.name in names or t.name in NOT_COPIED:
                continue
            if "case_id" in t.c or {fk.column.table.name for fk in t.foreign_keys} & names:
                if "id" not in t.c or len(t.primary_key.columns) != 1:
                    raise RuntimeError(f"{t.name}: a copied table needs an `id` primary key")
                order.append(t)
                names.add(t.name)
                grown = True
    if len(order) > 10:
        raise RuntimeError("more than 10 copied tables: widen the table digit of _CODES")
    return order


def _refs(table, names: set[str]) -> dict[str, str]:
    """Column -> the copied table whose ids it holds."""
    found = {fk.parent.name: fk.column.table.name for fk in table.foreign_keys if fk.column.table.name in names}
    if "case_id" in table.c:
        found.setdefault("case_id", "case_record")
    for (t, c), target in REFERENCES.items():
        if t == table.name and c in table.c:
            found[c] = target
    return found


class Renamer:
    """One copy's renaming: towns rotated by dt, villages within their town by dv (a bijection of
    the county's units, and so of its usernames), the template's row ids and case numbers replaced."""

    def __init__(self, dt: int, dv: int, numbers: dict[str, str], ids: list[dict[int, int]]):
        self.dt, self.dv, self.numbers, self.ids = dt, dv, numbers, ids

    def token(self, token: tuple) -> str:
        kind = token[0]
        if kind == "v":
            return f"vil{(token[1] - 1 + self.dt) % TOWNS + 1:02d}{(token[2] - 1 + self.dv) % VILLAGES + 1:02d}"
        if kind == "t":
            return f"twn{(token[1] - 1 + self.dt) % TOWNS + 1:02d}"
        if kind == "i":
            return str(self.ids[token[1]][token[2]])
        return self.numbers.get(token[1], token[1])

    def values(self, atoms: Atoms) -> list[str]:
        """The template's pieces with this copy's names in the codes' places."""
        found = atoms.values.copy()
        for token, slot in atoms.slots.items():
            found[slot] = self.token(token)
        return found


class Atoms:
    """All the texts of one template cut once at their codes: one list of the literal pieces and of
    one place per distinct code, so that a copy fills the codes' places once (`Renamer.values`) and
    joins each text from its positions (`Pieces`) instead of scanning it again (a workflow state is
    some 16 KB)."""

    def __init__(self):
        self.values: list[str] = []
        self.slots: dict[tuple, int] = {}

    def position(self, piece: str | tuple) -> int:
        if isinstance(piece, tuple):
            slot = self.slots.get(piece)
            if slot is None:
                slot = self.slots[piece] = len(self.values)
                self.values.append("")
            return slot
        self.values.append(piece)
        return len(self.values) - 1


class Pieces:
    """A text cut at its codes: the positions of its pieces among its template's `Atoms`."""
    __slots__ = ("getter", "single", "plain")

    def __init__(self, text: str, atoms: Atoms):
        parts: list[Any] = []
        last = 0
        for m in _CODES.finditer(text):
            parts.append(text[last:m.start()])
            if m.group(1):
                parts.append(("v", int(m.group(1)), int(m.group(2))))
            elif m.group(3):
                parts.append(("t", int(m.group(3))))
            elif m.group(4):
                parts.append(("i", int(m.group(4)), int(m.group(5))))
            else:
                parts.append(("n", m.group(6)))
            last = m.end()
        parts.append(text[last:])
        parts = [p for p in parts if p != ""] or [""]
        self.plain = len(parts) == 1 and isinstance(parts[0], str)
        positions = [atoms.position(p) for p in parts]
        self.single = positions[0] if len(positions) == 1 else None
        self.getter = operator.itemgetter(*positions)

    def render(self, values: list[str]) -> str:
        if self.single is not None:
            return values[self.single]
        return "".join(self.getter(values))


def _stored(value: Any) -> str:
    """A JSON value as the store's JSON columns hold it (the engines' json_serializer)."""
    return state_codec.json_text(value)


def _json_str(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _mark(value: Any, ids: dict[str, set[int]], digit: dict[str, int], id_table: str | None = None) -> Any:
    """`value` with every id of one of the group's rows, under a key that names one (`ID_KEYS`,
    `ID_LISTS`), replaced by a marked number the copies rename (`_CODES`)."""
    def marked(table: str, i: Any) -> Any:
        if isinstance(i, int) and not isinstance(i, bool) and i in ids.get(table, ()):
            return _MARK + digit[table] * 10 ** 8 + i
        return i

    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in ID_KEYS and isinstance(v, int):
                out[k] = marked(ID_KEYS[k], v)
            elif k == "id" and id_table:
                out[k] = marked(id_table, v)
            elif k in ID_LISTS and isinstance(v, list):
                out[k] = [marked(ID_LISTS[k], i) if isinstance(i, int) else _mark(i, ids, digit, ID_LISTS[k])
                          for i in v]
            else:
                out[k] = _mark(v, ids, digit)
        return out
    if isinstance(value, list):
        return [_mark(v, ids, digit) for v in value]
    return value


@dataclass
class TableRows:
    """A template group's rows of one table, ready to copy: per row the values in the driver's form
    with what changes per copy (`ops`: column index, what, argument)."""
    name: str
    old_ids: list[int]
    base: list[list[Any]]
    ops: list[list[tuple[int, str, Any]]]


@dataclass
class TemplateRows:
    """A template's cases (one, or two linked) and all their rows, cut once for copying."""
    template: Template
    size: int  # cases
    created_at: datetime
    types: list[str]  # per case
    years: list[int]
    numbers: list[str]
    home: int  # the template's home village index in town 01
    tables: list[TableRows]
    events: list[list[tuple]]  # per case: (head Pieces, tail Pieces, seq, at, kind, actor, canonical data)
    event_order: list[int]  # per event, in the order of `events`: its row in case_event's rows
    atoms: Atoms


def _bind_processors(table, dialect) -> dict[str, Callable[[Any], Any]]:
    """Each column's bind processing (UTC datetimes as SQLite's text …), JSON rendered as SQLAlchemy does."""
    from sqlalchemy import JSON
    found = {}
    for c in table.columns:
        if isinstance(c.type, JSON):
            found[c.name] = _stored
        else:
            bind = c.type.dialect_impl(dialect).bind_processor(dialect)
            if bind is not None:
                found[c.name] = bind
    return found


def load_templates(system, templates: list[Template]) -> list[TemplateRows]:
    tables = copied_tables()
    names = {t.name for t in tables}
    digit = {t.name: i for i, t in enumerate(tables)}
    dialect = system.db.write_engine.dialect
    processors = {t.name: _bind_processors(t, dialect) for t in tables}
    refs = {t.name: _refs(t, names) for t in tables}
    loaded = []
    with system.db.read() as s:
        conn = s.connection()
        for t in templates:
            rows: dict[str, list[dict[str, Any]]] = {}
            ids: dict[str, set[int]] = {}
            group = set(t.case_ids)
            for table in tables:
                if table.name == "case_record":
                    where = table.c.id.in_(sorted(group))
                else:
                    col, parent = next((c, p) for c, p in refs[table.name].items()
                                       if table.c[c].foreign_keys or c == "case_id")
                    where = table.c[col].in_(sorted(ids[parent]))
                rows[table.name] = [dict(r) for r in conn.execute(select(table).where(where).order_by(table.c.id))
                                    .mappings()]
                ids[table.name] = {r["id"] for r in rows[table.name]}
            for link in rows.get("case_link", []):
                if link["linked_case_id"] not in group or link["case_id"] not in group:
                    raise RuntimeError(f"template {t.kind}: case {link['case_id']} links outside its cases")
            cases = rows["case_record"]
            case_index = {c["id"]: i for i, c in enumerate(cases)}
            home = cases[0]["data"].get("route", {}).get("village") or cases[0]["data"].get("residence_org")
            atoms = Atoms()
            cut: list[TableRows] = []
            for table in tables:
                tr = TableRows(table.name, [r["id"] for r in rows[table.name]], [], [])
                columns = [c.name for c in table.columns]
                proc = processors[table.name]
                for row in rows[table.name]:
                    base, ops = [], []
                    for i, name in enumerate(columns):
                        value = row[name]
                        if table.name == "case_record" and name == "state":
                            text_ = json.dumps(_mark(json.loads(decode_state(value) or "{}"), ids, digit),
                                               separators=(",", ":"), ensure_ascii=False) if value else ""
                            base.append(None)
                            ops.append((i, "state", Pieces(text_, atoms)))
                            continue
                        if isinstance(value, (dict, list)):
                            value = _mark(value, ids, digit)
                        if name in proc and (value is not None or proc[name] is _stored):
                            value = proc[name](value)
                        base.append(value)
                        if name == "id":
                            ops.append((i, "id", digit[table.name]))
                        elif name in refs[table.name] and value is not None:
                            if value in ids[refs[table.name][name]]:
                                ops.append((i, "ref", digit[refs[table.name][name]]))
                        elif table.name == "case_record" and name == "last_event_hash":
                            ops.append((i, "head", case_index[row["id"]]))
                        elif table.name == "case_event" and name in ("prev_hash", "hash"):
                            ops.append((i, name, None))
                        elif isinstance(value, str):
                            p = Pieces(value, atoms)
                            if not p.plain:
                                ops.append((i, "text", p))
                    tr.base.append(base)
                    tr.ops.append(ops)
                cut.append(tr)
            events: list[list[tuple]] = [[] for _ in cases]
            event_rows: list[list[int]] = [[] for _ in cases]
            for j, e in enumerate(rows.get("case_event", [])):  # in id order, which is each case's seq order
                k = case_index[e["case_id"]]
                # the hashed body (engine.audit.event_hash) around the new case id, cut like the texts
                at = e["at"].astimezone(timezone.utc).isoformat(timespec="microseconds")
                data = canonical(_mark(e["data"], ids, digit))
                head = f'{{"actor":{_json_str(e["actor"])},"at":"{at}","case_id":'
                tail = f',"data":{data},"kind":{_json_str(e["kind"])},"seq":{e["seq"]}}}'
                events[k].append((Pieces(head, atoms), Pieces(tail, atoms), e["seq"], e["at"], e["kind"],
                                  Pieces(e["actor"], atoms), Pieces(data, atoms)))
                event_rows[k].append(j)
            for k, evs in enumerate(events):
                if [e[2] for e in evs] != sorted(e[2] for e in evs):
                    raise RuntimeError(f"case {cases[k]['id']}: events not in seq order by id")
            loaded.append(TemplateRows(
                t, len(cases), cases[0]["created_at"], [c["type"] for c in cases],
                [c["created_at"].astimezone(ZONE).year for c in cases], [c["number"] for c in cases],
                int(home[-2:]), cut, events, [j for per_case in event_rows for j in per_case], atoms))
    return loaded


def copy_plan(templates: list[TemplateRows], cases: int, rng: random.Random) -> list[TemplateRows]:
    """Which template each copy copies: per kind, its share of `cases` less its templates' cases,
    round robin; sorted by registration time so newer cases get larger ids, as in a store that grew."""
    by_kind: dict[str, list[TemplateRows]] = {}
    for t in templates:
        by_kind.setdefault(t.template.kind, []).append(t)
    plan: list[TemplateRows] = []
    for k in KINDS:
        own = by_kind.get(k.name) or []
        if own:
            wanted = round(cases * k.share) - sum(t.size for t in own)
            size = sum(t.size for t in own) / len(own)
            plan.extend(own[i % len(own)] for i in range(max(0, round(wanted / size))))
    # rounding: trim, or pad with single cases of the commonest kind, so the store holds `cases` cases
    total = sum(t.size for t in templates) + sum(t.size for t in plan)
    singles = [t for t in plan if t.size == 1]
    while total > cases and singles:
        t = singles.pop(rng.randrange(len(singles)))
        plan.remove(t)
        total -= 1
    common = [t for t in by_kind.get(KINDS[0].name) or templates if t.size == 1]
    while total < cases and common:
        plan.append(common[total % len(common)])
        total += 1
    plan.sort(key=lambda t: t.created_at)
    return plan


class Writer:
    """Rows into the store in bulk on one connection of its own: SQLite `executemany` of tuples,
    PostgreSQL `COPY … FROM STDIN` (psycopg 3)."""

    def __init__(self, system, tables):
        self.postgres = system.db.is_postgres
        if not self.postgres:  # no other connection, so the journal mode can change
            system.db.write_engine.dispose()
            if system.db.read_engine is not system.db.write_engine:
                system.db.read_engine.dispose()
        self.raw = system.db.write_engine.raw_connection()
        if not self.postgres:
            sqlite_bulk_pragmas(self.raw)
        self.columns = {t.name: [c.name for c in t.columns] for t in tables}
        self.sql = {}
        for t in tables:
            cols = ", ".join(f'"{c}"' for c in self.columns[t.name])
            self.sql[t.name] = (f'COPY "{t.name}" ({cols}) FROM STDIN' if self.postgres else
                                f'INSERT INTO "{t.name}" ({cols}) VALUES ({", ".join("?" * len(t.columns))})')

    def write(self, batch: dict[str, list[list[Any]]]) -> None:
        """One transaction, the tables in the order given (parents first)."""
        cur = self.raw.cursor()
        if not self.postgres:
            cur.execute("BEGIN")  # engine/db.py leaves opening transactions to the caller
        for name, rows in batch.items():
            if not rows:
                continue
            if self.postgres:
                with cur.copy(self.sql[name]) as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cur.executemany(self.sql[name], rows)
        cur.close()
        self.raw.commit()

    def close(self) -> None:
        if not self.postgres:
            sqlite_restore_pragmas(self.raw)
        self.raw.close()


def fill_copies(system, templates: list[TemplateRows], plan: list[TemplateRows], rng: random.Random,
                chunk: int = 2000, log: Callable[[str], None] = _write) -> float:
    """Insert the planned copies in batches of about `chunk` cases, one transaction each; returns seconds."""
    tables = copied_tables()
    with system.db.read() as s:
        next_id = [(s.scalar(select(func.max(t.c.id))) or 0) + 1 for t in tables]
        counters = {(c.type, c.year): c.last for c in s.scalars(select(CaseCounter))}
    prefixes = {"mediation": "MED", "petition": "XF"}
    checked: set[int] = set()  # templates whose first copy's hashes were checked against engine.audit
    started, done, cases_done, total = time.perf_counter(), 0, 0, sum(t.size for t in plan)
    event_digit = next((i for i, t in enumerate(tables) if t.name == "case_event"), None)
    writer = Writer(system, tables)
    try:
        while done < len(plan):
            batch: dict[str, list[list[Any]]] = {t.name: [] for t in tables}
            step = plan[done:done + chunk]
            for t in step:
                ids: list[dict[int, int]] = []
                for k, tr in enumerate(t.tables):
                    start = next_id[k]
                    ids.append({old: start + i for i, old in enumerate(tr.old_ids)})
                    next_id[k] += len(tr.old_ids)
                numbers = {}
                for old, case_type, year in zip(t.numbers, t.types, t.years):
                    counters[(case_type, year)] = counters.get((case_type, year), 0) + 1
                    numbers[old] = f"{prefixes[case_type]}-{year}-{counters[(case_type, year)]:06d}"
                values = Renamer(rng.randrange(TOWNS), rng.randint(1, VILLAGES) - t.home, numbers, ids).values(t.atoms)
                new_case_ids = list(ids[0].values())
                by_row: list[Any] = [None] * len(t.event_order)  # per event row: (prev, hash)
                heads = []
                n = 0
                for k, evs in enumerate(t.events):
                    prev, case_id = GENESIS, str(new_case_ids[k])
                    for head, tail, seq, at, kind, actor_p, canon_p in evs:
                        body = head.render(values) + case_id + tail.render(values)
                        digest = sha256((prev + body).encode("utf-8")).hexdigest()
                        if id(t) not in checked:
                            assert digest == event_hash(prev, int(case_id), seq, at, actor_p.render(values), kind,
                                                        json.loads(canon_p.render(values))), "hash recomputation differs"
                        by_row[t.event_order[n]] = (prev, digest)
                        n += 1
                        prev = digest
                    heads.append(prev)
                checked.add(id(t))
                for k, tr in enumerate(t.tables):
                    out = batch[tr.name]
                    own = ids[k]
                    for j, (base, ops) in enumerate(zip(tr.base, tr.ops)):
                        row = base.copy()
                        for i, what, arg in ops:
                            if what == "text":
                                row[i] = arg.render(values)
                            elif what == "id":
                                row[i] = own[row[i]]
                            elif what == "ref":
                                row[i] = ids[arg][row[i]]
                            elif what == "state":
                                row[i] = encode_state(arg.render(values))
                            elif what == "head":
                                row[i] = heads[arg]
                            elif what == "prev_hash":
                                row[i] = by_row[j][0]
                            elif what == "hash":
                                row[i] = by_row[j][1]
                        out.append(row)
                    if k == event_digit and len(tr.base) != len(by_row):
                        raise RuntimeError("event rows and hashes differ")
            writer.write(batch)
            done += len(step)
            cases_done += sum(t.size for t in step)
            log(progress("copies", cases_done, total, time.perf_counter() - started))
    finally:
        writer.close()
    with system.db.write() as s:
        for (case_type, year), last in counters.items():
            found = s.get(CaseCounter, (case_type, year))
            if found is None:
                s.add(CaseCounter(type=case_type, year=year, last=last))
            else:
                found.last = last
        if system.db.is_postgres:  # explicit ids: move the sequences past them
            for t in tables:
                s.execute(text(f"SELECT setval(pg_get_serial_sequence('{t.name}', 'id'), "
                               f"(SELECT COALESCE(MAX(id), 1) FROM {t.name}))"))
    log("\n")
    return time.perf_counter() - started


def progress(what: str, done: int, total: int, elapsed: float, width: int = 30) -> str:
    """`\r` and one line of a plain-text progress bar: share done, rate, time left."""
    share = done / total if total else 1.0
    rate = done / elapsed if elapsed > 0 else 0.0
    left = (total - done) / rate if rate else 0.0
    bar = "#" * int(share * width) + "." * (width - int(share * width))
    return (f"\r  {what} [{bar}] {share:6.1%} {done}/{total} cases, {rate:,.0f}/s, "
            f"{elapsed:,.0f} s, ~{left:,.0f} s left ")


def verify_sample(system, count: int, rng: random.Random) -> tuple[int, Any]:
    """Recompute the hash chains of `count` random cases (templates and copies)."""
    from engine.audit import verify_cases
    with system.db.read() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
        ids = sorted(rng.sample(range(1, top + 1), min(count, top)))
        return verify_cases(s, ids)


class BulkLoad:
    """What the copies are loaded under, undone afterwards: the copied tables' secondary indexes dropped
    (rebuilt by `restore`, from the very statements that made them, so the schema ends as
    `fengqiao init` made it) and, on SQLite, the Writer's connection without journal, sync or foreign
    key checks and with a large cache."""

    def __init__(self, system, tables):
        self.system, self.names = system, [t.name for t in tables]
        self.dropped: list[tuple[str, str]] = []  # (index name, its CREATE statement)

    def drop_indexes(self) -> None:
        with self.system.db.write() as s:
            if self.system.db.is_postgres:
                found = s.execute(text(
                    "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                    "AND i.tablename = ANY(:names) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                    "WHERE c.conname = i.indexname AND c.connamespace = (SELECT oid FROM pg_namespace "
                    "WHERE nspname = current_schema())) ORDER BY i.indexname"), {"names": self.names}).all()
            else:
                found = s.execute(text(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                    f"AND tbl_name IN ({', '.join(repr(n) for n in self.names)}) ORDER BY name")).all()
            self.dropped = [(name, sql) for name, sql in found]
            for name, _sql in self.dropped:
                s.execute(text(f'DROP INDEX "{name}"'))

    def restore(self, log: Callable[[str], None] = _write) -> float:
        started = time.perf_counter()
        with self.system.db.write() as s:
            for i, (name, sql) in enumerate(self.dropped, 1):
                s.execute(text(sql))
                log(f"\r  indexes: {i}/{len(self.dropped)} rebuilt ({time.perf_counter() - started:.0f} s, {name}) ")
        if self.dropped:
            log("\n")
        self.dropped = []
        return time.perf_counter() - started


def sqlite_bulk_pragmas(raw) -> None:
    """A bulk load's connection on SQLite: no journal (a failed seed is redone, not recovered), no
    syncs, no foreign key checks (the copies' rows are consistent by construction: `fengqiao check`
    says so afterwards), 1 GiB of page cache, temporary b-trees in memory."""
    cur = raw.cursor()
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-1048576",
                   "temp_store=MEMORY"):
        cur.execute(f"PRAGMA {pragma}")
    cur.close()


def sqlite_restore_pragmas(raw) -> None:
    cur = raw.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # as engine/db.py sets every connection
    cur.close()


def finish(system, log: Callable[[str], None] = _write) -> float:
    """After a bulk load: the search index and the count tables rebuilt (the copies went in without
    them), then fresh planner statistics (ANALYZE); returns seconds."""
    started = time.perf_counter()
    indexed = search.rebuild(system.db)  # the copies went in without their search terms,
    dashboard_tally.rebuild(system.db)  # the dashboard's counts
    ledger.rebuild_tally(system.db)  # and the ledger's totals
    if system.db.is_postgres:
        with system.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    else:
        with system.db.write_engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    log(f"  finish: ANALYZE and the search index of {indexed} cases in {time.perf_counter() - started:.0f} s\n")
    return time.perf_counter() - started


def fill_store(system, cases: int, now: datetime, seed: int = 20261201, chunk: int = 2000,
               log: Callable[[str], None] = _write, drop_indexes: bool = True) -> dict[str, Any]:
    """The county, the templates through the engine, and copies up to `cases` cases (the copied
    tables' secondary indexes dropped meanwhile and rebuilt), then `finish`. The clock must be
    simulated; it is left at `now`."""
    rng = random.Random(seed)
    county = seed_county(system, now - timedelta(days=600))
    t0 = time.perf_counter()
    templates = register_templates(system, now, rng, cases, log=log)
    registered = time.perf_counter() - t0
    rows = load_templates(system, templates)
    plan = copy_plan(rows, cases, rng)
    bulk = BulkLoad(system, copied_tables())
    if drop_indexes and plan:
        bulk.drop_indexes()
    try:
        copied = fill_copies(system, rows, plan, rng, chunk=chunk, log=log)
    finally:
        indexed = bulk.restore(log=log)
    finished = finish(system, log=log)
    expected = defaultdict(int)  # rows per copied table: the templates' and their copies'
    for t in [*rows, *plan]:
        for tr in t.tables:
            expected[tr.name] += len(tr.old_ids)
    return {"rows": dict(expected), "county": county, "templates": len(templates), "template_cases": sum(t.size for t in rows),
            "registered_s": registered, "copies": len(plan), "copied_cases": sum(t.size for t in plan),
            "copied_s": copied, "indexed_s": indexed, "finish_s": finished,
            "by_kind": {k.name: sum(1 for t in templates if t.kind == k.name) for k in KINDS}}


__all__ = ["fill_store", "seed_county", "village", "town", "village_mediator", "verify_sample", "KINDS",
           "PASSWORD", "COUNTY", "TOWNS", "VILLAGES", "finish", "decode_state", "encode_state", "copied_tables"]
