"""A county's petitions for the board and leader page tests, and the board's figures counted again here
from the stored rows in plain Python (never through the code that draws the board).

清河县's petition bureau (officer1) works seven petitions on the simulated clock from Tuesday
1 September 2026 (tests/petition/conftest.py's county and people):

- A  王五 of 柳村 against 东镇: held by the county (the town is complained about); accepted; owned by
     leader_wang (so his progress report falls due on 16 September).
- B  a group petition (8 people) of 石桥村: accepted, waiting for an owner (须领导包案).
- C  孙七 of 河西村 against the village: held by 西镇; owned by leader_zhao from 12 September; marked
     backlog by the bureau.
- D  周八 of 柳村 against the village: held by 东镇; never decided, so on 18 September its acceptance
     decision is overdue and the county bureau supervises it (督办, done: 通报).
- E  钱十一 of 石桥村 against the county itself: held by 东镇, withheld from 清河县 (Art. 30); owned by
     leader_li.
- F  王五 again on the same matter (12 September): a repeat petition nobody owns yet.
- G  孙七 again, on another matter: declined by 西镇, closed, on no board.

The clock then stands at Friday 18 September 2026, 09:00 (swept).
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.accounts import add_org_unit, add_user, create_token
from engine.store import Case, HumanTask, User
from tests.conftest import definition_files, deploy_files, make_system
from tests.petition.conftest import (
    BPMN,
    PEOPLE,
    SUN_QI,
    UNITS,
    ZHAO_LIU,
    ZHOU_BA,
    Person,
    at,
)

NOW = "2026-09-18 09:00"


def id_number(body17: str) -> str:
    """A resident ID number with its GB 11643 check digit."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return body17 + "10X98765432"[sum(int(d) * w for d, w in zip(body17, weights)) % 11]


QIAN = {"name": "钱十一", "id_number": id_number("32058219750505123"), "phone": "13512345678",
        "address": "东镇石桥村6组"}


def build_county(database_url: str):
    """tests/petition/conftest.py's county with the bundled processes (the leaders with their names)."""
    system = make_system(database_url, BPMN)
    deploy_files(system, definition_files(BPMN))
    names = {"leader_wang": "王副县长", "leader_li": "李副县长", "leader_zhao": "赵副县长"}
    with system.db.write() as session:
        for code, name, level, parent in UNITS:
            add_org_unit(session, code, name, level, parent)
        for username, roles, unit in PEOPLE.values():
            add_user(session, username, roles, unit, "password1", now=system.clock.now(),
                     display_name=names.get(username, ""))
    return system


def api_people(system, client) -> dict[str, Person]:
    """Everyone of the county at the REST API (to seed the world as people would)."""
    with system.db.write() as session:
        tokens = {key: (username, create_token(session, username, system.clock.now()))
                  for key, (username, *_rest) in PEOPLE.items()}
    return {key: Person(client, username, token) for key, (username, token) in tokens.items()}


class Clock:
    """The simulated clock moved as the scheduler would see it: set, then swept."""

    def __init__(self, system):
        self.system = system

    def to(self, when: str) -> int:
        self.system.clock.set(at(when))
        return self.system.sweep()


def seed(people, clock) -> dict[str, int]:
    office = people["officer"]
    ids = {}
    ids["A"] = office.register()["id"]
    office.do(ids["A"], "decide_acceptance", decision="accept")
    assert office.set_owner(ids["A"], "leader_wang", reason="县信访局安排包案").status_code == 200
    ids["B"] = office.register(petitioners=[dict(ZHAO_LIU), dict(SUN_QI)], residence_org="dz-sq", people_count=8,
                               category="expropriation", summary="征地补偿款未足额发放")["id"]
    office.do(ids["B"], "decide_acceptance", decision="accept")
    ids["C"] = office.register(petitioners=[dict(SUN_QI)], residence_org="xz-hx", respondent_unit="xz-hx",
                               category="labour", summary="村里拖欠工钱")["id"]
    ids["D"] = office.register(petitioners=[dict(ZHOU_BA)], residence_org="dz-lc", respondent_unit="dz-lc",
                               category="neighbour", summary="宅基地边界")["id"]
    ids["E"] = office.register(petitioners=[dict(QIAN)], residence_org="dz-sq", respondent_unit="qh",
                               category="other", summary="对县里的处理不满")["id"]
    assert office.set_owner(ids["E"], "leader_li", reason="涉县级事项").status_code == 200
    ids["G"] = office.register(petitioners=[dict(SUN_QI)], residence_org="xz-hx", respondent_unit="xz-hx",
                               category="other", summary="要求撤销判决")["id"]
    people["xz_officer"].do(ids["G"], "decide_acceptance", decision="not_accept", reason="属诉讼程序")

    clock.to("2026-09-12 09:00")
    assert office.set_owner(ids["C"], "leader_zhao", reason="西镇积案").status_code == 200
    assert office.post(f"/cases/{ids['C']}/backlog", {"reason": "久拖未决"}).status_code == 200
    ids["F"] = office.register(channel="letter", summary="再次反映承包面积问题")["id"]

    clock.to(NOW)
    supervise = [t for t in office.tasks(case=ids["D"]) if t["name"] == "supervise"]
    assert supervise, office.tasks(case=ids["D"])
    office.do(ids["D"], "supervise", action="circular", notes="已通报东镇")
    return ids


# ------------------------------------------------------------------------------ counting again
def rows(system):
    """Every case and ready task as stored."""
    with system.db.read() as s:
        cases = [dict(r._mapping) for r in s.execute(select(
            Case.id, Case.number, Case.type, Case.status, Case.owner, Case.flags, Case.created_at, Case.jurisdiction,
            Case.registered_by))]
        tasks = [dict(r._mapping) for r in s.execute(select(
            HumanTask.case_id, HumanTask.name, HumanTask.role, HumanTask.org_unit, HumanTask.assignee,
            HumanTask.status, HumanTask.due_at, HumanTask.completed_by))]
        leaders = [u for u, roles in s.execute(select(User.username, User.roles)) if "leader" in (roles or [])]
    return cases, tasks, leaders


def readable_by(case, tasks, username: str, unit: str, units_below: set[str]) -> bool:
    """A petition officer's reading (DOMAIN.md §1), written out: the case is in their unit or below it,
    they registered it, or worked, hold, or may work one of its tasks."""
    if case["jurisdiction"] == unit or case["jurisdiction"] in units_below or case["registered_by"] == username:
        return True
    for t in tasks:
        if t["case_id"] != case["id"]:
            continue
        if t["completed_by"] == username or t["assignee"] == username:
            return True
        if (t["status"] == "ready" and t["role"] == "petition_officer" and t["org_unit"] == unit
                and not t["assignee"]):
            return True
    return False


def expected_board(system, now, *, readable=lambda case: True, flags=(), units=None):
    """{leader or None: {figure: set of case numbers}} from the rows, as DOMAIN.md §3 defines them."""
    cases, tasks, leaders = rows(system)
    board = {name: {k: set() for k in ("open", "due_within_7_days", "overdue", "backlog")} for name in leaders}
    board[None] = {k: set() for k in ("open", "due_within_7_days", "overdue", "backlog", "needs_owner")}
    for c in cases:
        if c["type"] != "petition" or c["status"] != "open" or not readable(c):
            continue
        if any(f not in (c["flags"] or []) for f in flags) or (units is not None and c["jurisdiction"] not in units):
            continue
        ready = [t for t in tasks if t["case_id"] == c["id"] and t["status"] == "ready" and t["due_at"]]
        figures = board.setdefault(c["owner"], {k: set() for k in ("open", "due_within_7_days", "overdue", "backlog")})
        figures["open"].add(c["number"])
        if any(t["due_at"] <= now for t in ready):
            figures["overdue"].add(c["number"])
        if any(now < t["due_at"] <= now + timedelta(days=7) for t in ready):
            figures["due_within_7_days"].add(c["number"])
        backlog = "backlog" in (c["flags"] or []) or c["created_at"] < now - timedelta(days=90)
        if backlog:
            figures["backlog"].add(c["number"])
        if c["owner"] is None and (backlog or {"repeat", "group"} & set(c["flags"] or [])):
            figures["needs_owner"].add(c["number"])
    return board
