"""Two quarters of a county's disputes and petitions for the quarterly statistics, worked through the
real use cases on the simulated clock, with a log of what was done when (`World.did`), from which
the tests count every figure again in plain Python (never through the SQL of the report).

清河县 (qh): 东镇 (dz) with 柳村 (dz-lc) and 石桥村 (dz-sq); 西镇 (xz) with 河西村 (xz-hx).

2026Q3 (September):
- M1 柳村 neighbours: written agreement at the village, no confirmation, followed up, archived; its
  subsidy reviewed by 东镇's justice office and approved by the county bureau.
- M2 柳村 contract: the parties refuse mediation; archived (refused).
- M3 柳村 marriage: no agreement at the village, so 东镇 mediates: an oral agreement; the parties apply
  for judicial confirmation.
- P1 王五 (visit, complaint) against 柳村, held by 东镇: accepted the next day, handled on 10 September.
- P4 赵六 (phone, suggestion) against 石桥村: accepted, never handled: open past 90 days in December.

2026Q4:
- the county bureau pays the Q3 batch (M1's subsidy) on 8 October;
- the court confirms M3's agreement; M3 is followed up and archived (resolved at town);
- M4 河西村 labour: a written agreement at the village, waiting for its follow-up;
- M5 石桥村 damages: no agreement at village, town or county; referred to court, mediated there,
  archived (court);
- M6 柳村 (other): registered only;
- M7 柳村 land, red risk, so mediated by the county: a written agreement there;
- P2 王五 again on the same matter (letter): a repeat petition, accepted late;
- P3 孙七 (online, accusation) against 河西村, held by 西镇: accepted, marked backlog, handled on time;
- P4 handled late in December;
- P5 周八 (visit, complaint) against 柳村: marked backlog, then not accepted (closed).

The clock then stands at 20 December 2026, 09:00. No sweep runs: the tests count what people did.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from engine.accounts import (
    MAX_TOKEN_DAYS,
    actor_of,
    add_org_unit,
    add_user,
    create_token,
    find_user,
)
from engine.ledger import quarter_of
from tests.conftest import definition_files, deploy_files, make_system
from tests.mediation.conftest import COMPLETE_FILE, dispute
from tests.petition.conftest import (
    BPMN,
    SUN_QI,
    ZHAO_LIU,
    ZHOU_BA,
    at,
    petition,
)

UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"),
         ("dz-sq", "石桥村", "village", "dz"), ("xz", "西镇", "town", "qh"), ("xz-hx", "河西村", "village", "xz"))
PEOPLE = {  # username: (roles, unit)
    "intake1": (["intake"], "dz-lc"), "vmed1": (["mediator"], "dz-lc"), "smed1": (["mediator"], "dz-sq"),
    "xmed1": (["mediator"], "xz-hx"), "tmed1": (["mediator"], "dz"), "cmed1": (["mediator"], "qh"),
    "court1": (["court_liaison"], "qh"), "jtown1": (["justice_officer"], "dz"),
    "jxz1": (["justice_officer"], "xz"), "jcounty1": (["justice_officer"], "qh"),
    "officer1": (["petition_officer"], "qh"), "tofficer1": (["petition_officer"], "dz"),
    "xofficer1": (["petition_officer"], "xz"), "leader_wang": (["leader"], "qh"), "auditor1": (["auditor"], "qh"),
    "admin1": (["admin"], "qh"),
}
NOW = "2026-12-20 09:00"
BACKLOG_DAYS = 90


@dataclass
class World:
    system: Any
    actors: dict[str, Any]
    ids: dict[str, int] = field(default_factory=dict)
    data: dict[str, dict] = field(default_factory=dict)
    # (figure, case key, instant, extra): every countable thing the scenario did
    log: list[tuple[str, str, datetime, Any]] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self):
        return self.system.services

    def now(self) -> datetime:
        return self.system.clock.now()

    def did(self, figure: str, key: str, extra: Any = None) -> None:
        self.log.append((figure, key, self.now(), extra))

    def at(self, when: str) -> None:
        self.system.clock.set(at(when))

    def register(self, who: str, key: str, case_type: str, data: dict) -> int:
        case = self.services.cases.register(self.actors[who], case_type, data)
        self.ids[key], self.data[key] = case["id"], data
        self.did("received", key)
        return case["id"]

    def step(self, who: str, key: str, name: str, **values) -> dict:
        actor = self.actors[who]
        (task,) = [t for t in self.services.tasks.worklist(actor, self.ids[key]) if t["name"] == name]
        due = self.services.tasks.get(actor, task["id"])["due_at"]
        version = self.services.cases.get(actor, self.ids[key])["version"]
        self.did(f"step:{name}", key, {"due_at": due, "values": values})
        return self.services.tasks.complete(actor, task["id"], values, version)

    def message(self, who: str, key: str, name: str, **values) -> dict:
        self.did(f"message:{name}", key, values)
        return self.services.cases.send_message(self.actors[who], self.ids[key], name, values)

    def case(self, key: str) -> dict:
        return self.services.cases.get(self.actors["admin1"], self.ids[key])


def build(database_url: str) -> World:
    system = make_system(database_url, BPMN)
    deploy_files(system, definition_files(BPMN))
    with system.db.write() as s:
        for code, name, level, parent in UNITS:
            add_org_unit(s, code, name, level, parent)
        for username, (roles, unit) in PEOPLE.items():
            add_user(s, username, roles, unit, "password1", now=system.clock.now(),
                     display_name={"leader_wang": "王副县长"}.get(username, ""))
    with system.db.write() as s:
        actors = {name: actor_of(find_user(s, name)) for name in PEOPLE}
        tokens = {name: create_token(s, name, system.clock.now(), days=MAX_TOKEN_DAYS) for name in PEOPLE}
    world = World(system, actors, tokens=tokens)
    play(world)
    return world


def agree(world: World, who: str, key: str, form: str, difficulty: str = "general") -> None:
    world.step(who, key, "mediate", result="agreement", agreement_form=form, agreement_text="双方同意按协议履行",
               difficulty=difficulty)
    world.did("agreement", key, {"form": form, "level": world.case(key)["level"]})


def play(w: World) -> None:
    # ---- 2026Q3 -------------------------------------------------------------------------------
    w.at("2026-09-01 09:00")
    w.register("intake1", "M1", "mediation", dispute(category="neighbour"))
    agree(w, "vmed1", "M1", "written")
    w.step("vmed1", "M1", "judicial_confirmation", applied=False)
    w.step("vmed1", "M1", "followup", performance="performed", satisfaction=5)
    w.step("vmed1", "M1", "archive", checklist=COMPLETE_FILE)
    w.register("officer1", "P1", "petition", petition(respondent_unit="dz-lc"))
    w.at("2026-09-02 10:00")
    w.register("intake1", "M2", "mediation", dispute(category="contract", summary="货款纠纷"))
    w.step("vmed1", "M2", "mediate", result="refused")
    w.did("failed", "M2")
    w.step("vmed1", "M2", "archive", checklist=COMPLETE_FILE)
    w.step("tofficer1", "P1", "decide_acceptance", decision="accept")
    w.at("2026-09-03 10:00")
    w.register("intake1", "M3", "mediation", dispute(category="marriage_family", summary="赡养费纠纷"))
    w.step("vmed1", "M3", "mediate", result="no_agreement")
    w.at("2026-09-04 10:00")
    agree(w, "tmed1", "M3", "oral")
    w.step("tmed1", "M3", "judicial_confirmation", applied=True)
    w.did("confirmation_applied", "M3")
    w.at("2026-09-05 10:00")
    w.register("officer1", "P4", "petition", petition(petitioners=[dict(ZHAO_LIU)], residence_org="dz-sq",
                                                      respondent_unit="dz-sq", channel="phone", kind="suggestion",
                                                      category="labour"))
    w.at("2026-09-07 10:00")
    w.step("tofficer1", "P4", "decide_acceptance", decision="accept")
    w.at("2026-09-10 10:00")
    w.step("tofficer1", "P1", "handle", opinion="support", opinion_text="支持其合理诉求")
    (entry,) = w.case("M1")["subsidy"]
    w.services.subsidies.review(w.actors["jtown1"], entry["id"])
    w.at("2026-09-15 10:00")
    w.services.subsidies.approve(w.actors["jcounty1"], entry["id"])

    # ---- 2026Q4 -------------------------------------------------------------------------------
    w.at("2026-10-08 10:00")
    w.services.subsidies.batch(w.actors["jcounty1"], "2026Q3")
    w.did("paid", "M1", entry["amount_fen"])
    w.at("2026-10-12 10:00")
    w.message("court1", "M3", "court_confirmation", result="confirmed")
    w.did("confirmation_confirmed", "M3")
    w.step("tmed1", "M3", "followup", performance="performed", satisfaction=4)
    w.step("tmed1", "M3", "archive", checklist=COMPLETE_FILE)
    w.at("2026-10-13 10:00")
    w.register("admin1", "M4", "mediation", dispute(category="labour", summary="务工工资纠纷", parties=[
        {"side": "applicant", "name": "钱一", "residence_org": "xz-hx"},
        {"side": "respondent", "name": "冯二", "residence_org": "xz-hx"}]))
    agree(w, "xmed1", "M4", "written", "simple")
    w.step("xmed1", "M4", "judicial_confirmation", applied=False)
    w.at("2026-10-14 10:00")
    w.register("admin1", "M5", "mediation", dispute(category="damages", summary="耕牛损坏庄稼", parties=[
        {"side": "applicant", "name": "吴三", "residence_org": "dz-sq"},
        {"side": "respondent", "name": "郑四", "residence_org": "dz-sq"}]))
    w.step("smed1", "M5", "mediate", result="no_agreement")
    w.at("2026-10-15 10:00")
    w.step("tmed1", "M5", "mediate", result="no_agreement")
    w.at("2026-10-16 10:00")
    w.step("cmed1", "M5", "mediate", result="no_agreement")
    w.step("court1", "M5", "refer_to_court", court="清河县人民法院", referral_kind="pre_filing_mediation")
    w.at("2026-10-30 10:00")
    w.message("court1", "M5", "court_result", outcome="mediated", reference="(2026)清民诉前调 88 号")
    w.step("cmed1", "M5", "archive", checklist={**COMPLETE_FILE, "agreement": False, "followup_record": False})
    w.did("failed", "M5")
    w.at("2026-10-15 11:00")
    w.register("intake1", "M6", "mediation", dispute(category="other", summary="其他纠纷"))
    w.at("2026-10-16 11:00")
    w.register("officer1", "P2", "petition", petition(respondent_unit="dz-lc", channel="letter",
                                                      summary="再次反映承包面积问题"))
    w.at("2026-10-20 11:00")
    w.register("officer1", "P3", "petition", petition(petitioners=[dict(SUN_QI)], residence_org="xz-hx",
                                                      respondent_unit="xz-hx", channel="online", kind="accusation",
                                                      category="expropriation"))
    w.at("2026-10-21 11:00")
    w.step("xofficer1", "P3", "decide_acceptance", decision="accept")
    w.at("2026-10-22 11:00")
    w.services.cases.mark_backlog(w.actors["xofficer1"], w.ids["P3"], "群众反映强烈，列为积案", "leader_wang")
    w.did("backlog_marked", "P3")
    w.at("2026-10-25 11:00")
    w.register("officer1", "P5", "petition", petition(petitioners=[dict(ZHOU_BA)], respondent_unit="dz-lc",
                                                      category="neighbour", summary="邻里用水纠纷久拖未决"))
    w.at("2026-10-26 11:00")
    w.services.cases.mark_backlog(w.actors["tofficer1"], w.ids["P5"], "多年未决", "leader_wang")
    w.did("backlog_marked", "P5")
    w.at("2026-10-27 11:00")
    w.step("tofficer1", "P5", "decide_acceptance", decision="not_accept", reason="属于诉讼途径解决的事项")
    w.did("closed", "P5")
    w.at("2026-11-02 10:00")
    w.register("intake1", "M7", "mediation", dispute(category="land_forest", risk_level="red", summary="山林权属争议"))
    agree(w, "cmed1", "M7", "written", "difficult")
    w.at("2026-11-02 11:00")
    w.step("xofficer1", "P3", "handle", opinion="explain", opinion_text="已作解释说明")
    w.at("2026-11-20 11:00")
    w.step("tofficer1", "P2", "decide_acceptance", decision="accept")
    w.at("2026-12-10 11:00")
    w.step("tofficer1", "P4", "handle", opinion="not_support", opinion_text="不予支持")
    w.at(NOW)


# ------------------------------------------------------------------------------ counted again, in Python
def _row_of(unit: str, chosen: str) -> str:
    """The row a unit's case goes to: the chosen unit's own, or its child the unit is under."""
    parents = {code: parent for code, _n, _l, parent in UNITS}
    current = unit
    while current is not None and current != chosen:
        if parents.get(current) == chosen:
            return current
        current = parents.get(current)
    return chosen


def _in_scope(unit: str, chosen: str) -> bool:
    parents = {code: parent for code, _n, _l, parent in UNITS}
    current = unit
    while current is not None:
        if current == chosen:
            return True
        current = parents.get(current)
    return False


def expected_mediation(w: World, quarter: str, chosen: str) -> dict[str, dict]:
    """Per row (and "total"), and per category, the figures the scenario made, counted from its log."""
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    categories: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    held = {key: w.case(key)["jurisdiction"] for key in w.ids if key.startswith("M")}
    counted: dict[str, set] = defaultdict(set)
    for figure, key, when, extra in w.log:
        if not key.startswith("M") or quarter_of(when) != quarter or not _in_scope(held[key], chosen):
            continue
        row, category = _row_of(held[key], chosen), w.data[key].get("category") or "other"
        names = []
        if figure == "received":
            names = [("received", True)]
        elif figure == "step:mediate":
            names = [("mediated", True)]
        elif figure == "agreement":
            names = [("succeeded", True), (extra["form"], False), (f"agreed_{extra['level']}", False)]
        elif figure == "failed":
            names = [("failed", True)]
        elif figure in ("confirmation_applied", "confirmation_confirmed"):
            names = [(figure, False)]
        elif figure == "step:refer_to_court":
            names = [("court_referrals", False)]
        elif figure == "paid":
            rows[row]["subsidy_paid_entries"] += 1
            rows[row]["subsidy_paid_fen"] += extra
        for name, per_case in names:
            if per_case:  # a case counts once per figure in a quarter
                if (name, key) in counted[quarter]:
                    continue
                counted[quarter].add((name, key))
                categories[category][name] += 1
            rows[row][name] += 1
    total: dict[str, int] = defaultdict(int)
    for figures in rows.values():
        for name, n in figures.items():
            total[name] += n
    return {"rows": {k: dict(v) for k, v in rows.items()}, "total": dict(total),
            "categories": {k: dict(v) for k, v in categories.items()}}


def expected_petition(w: World, quarter: str, chosen: str) -> dict[str, dict]:
    rows: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    views = {key: w.case(key) for key in w.ids if key.startswith("P")}
    for figure, key, when, extra in w.log:
        if not key.startswith("P") or quarter_of(when) != quarter or not _in_scope(views[key]["jurisdiction"], chosen):
            continue
        r = rows[_row_of(views[key]["jurisdiction"], chosen)]
        if figure == "received":
            r["received"] += 1
            r[f"channel_{w.data[key]['channel']}"] += 1
            r[f"kind_{w.data[key]['kind']}"] += 1
            r["repeat"] += "repeat" in views[key]["flags"]
        elif figure in ("step:decide_acceptance", "step:handle"):
            done, ok = ("acceptance_decided", "accepted_within_deadline") if figure == "step:decide_acceptance" \
                else ("handled", "handled_on_time")
            r[done] += 1
            r[ok] += when <= datetime.fromisoformat(extra["due_at"])
    # Backlog: the first of being marked and being open for 90 days; resolved when it closes after that.
    for key, view in views.items():
        if not _in_scope(view["jurisdiction"], chosen):
            continue
        created = next(when for f, k, when, _e in w.log if k == key and f == "received")
        closed = next((when for f, k, when, _e in w.log if k == key and f == "closed"), None)
        marked = next((when for f, k, when, _e in w.log if k == key and f == "backlog_marked"), None)
        aged = created + timedelta(days=BACKLOG_DAYS)
        turns = [t for t in (marked, aged if closed is None or closed > aged else None) if t is not None]
        became = min(turns) if turns else None
        r = rows[_row_of(view["jurisdiction"], chosen)]
        if became is not None and quarter_of(became) == quarter and became <= w.now():
            r["backlog_opened"] += 1
        if closed is not None and became is not None and became < closed and quarter_of(closed) == quarter:
            r["backlog_resolved"] += 1
    total: dict[str, int] = defaultdict(int)
    for figures in rows.values():
        for name, n in figures.items():
            total[name] += n
    return {"rows": {k: {n: v for n, v in r.items() if v} for k, r in rows.items() if any(r.values())},
            "total": {n: v for n, v in total.items() if v}}
