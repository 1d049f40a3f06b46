"""A county that prints its papers: 清河县 with two towns (东镇: 柳村, 石桥村; 西镇: 河西村), mediators at
every level, the court liaison, the petition offices of the county and both towns, a leader, an auditor
and an admin. The bundled `bpmn/` is deployed as `fengqiao deploy` would; cases are driven through the
REST API on the simulated clock to each state a paper belongs to, and the papers are read as a signed-in
browser gets them (Flask's test client)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.accounts import MAX_TOKEN_DAYS, add_org_unit, add_user, create_token
from tests.api.conftest import ApiUser
from tests.conftest import definition_files, deploy_files, make_system
from tests.pages.conftest import PageUser

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"),
         ("dz-sq", "石桥村", "village", "dz"), ("xz", "西镇", "town", "qh"), ("xz-hx", "河西村", "village", "xz"))
PEOPLE = {  # key: (username, roles, unit, display name)
    "intake": ("intake1", ["intake"], "dz-lc", "柳村网格员"),
    "sq_intake": ("intake2", ["intake"], "dz-sq", "石桥村网格员"),
    "village": ("vmed1", ["mediator"], "dz-lc", "赵调解"),
    "other_village": ("smed1", ["mediator"], "dz-sq", "石桥调解员"),
    "town": ("tmed1", ["mediator"], "dz", "钱调解"),
    "county": ("cmed1", ["mediator"], "qh", "孙调解"),
    "court": ("court1", ["court_liaison"], "qh", ""),
    "officer": ("officer1", ["petition_officer"], "qh", ""),
    "officer2": ("officer2", ["petition_officer"], "qh", ""),
    "town_officer": ("tofficer1", ["petition_officer"], "dz", ""),
    "xz_officer": ("xofficer1", ["petition_officer"], "xz", ""),
    "sq_officer": ("sqofficer1", ["petition_officer"], "dz-sq", ""),
    "leader": ("leader_wang", ["leader"], "qh", "王副县长"),
    "auditor": ("auditor1", ["auditor"], "qh", ""),
    "admin": ("admin1", ["admin"], "qh", ""),
}
PASSWORD = "password1"

ZHANG = {"side": "applicant", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
         "household_address": "东镇柳村3组", "residence_org": "dz-lc"}
LI = {"side": "respondent", "name": "李四", "id_number": "320582198001011231", "phone": "13900139000",
      "household_address": "东镇柳村3组", "residence_org": "dz-lc"}
WANG_WU = {"name": "王五", "id_number": "51010719900606789X", "phone": "13700001111", "address": "东镇柳村5组"}


def dispute(**overrides) -> dict:
    data = {"parties": [dict(ZHANG), dict(LI)], "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷",
            "source": "party_application", "risk_level": "green", "amount_fen": 120050}
    data.update(overrides)
    return data


def petition(**overrides) -> dict:
    data = {"petitioners": [dict(WANG_WU)], "residence_org": "dz-lc", "channel": "visit",
            "kind": "complaint_request", "category": "land_forest", "respondent_unit": "dz-sq",
            "summary": "对石桥村土地承包经营权调整不服", "people_count": 1}
    data.update(overrides)
    return data


def seed(system, **settings) -> None:
    with system.db.write() as s:
        for code, name, level, parent in UNITS:
            add_org_unit(s, code, name, level, parent)
        for username, roles, unit, display in PEOPLE.values():
            add_user(s, username, roles, unit, PASSWORD, now=system.clock.now(), display_name=display)


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN)
    deploy_files(system, definition_files(BPMN))
    seed(system)
    yield system
    system.close()


class Person(ApiUser):
    def register(self, case_type: str, data: dict) -> dict:
        response = self.post("/cases", {"type": case_type, "data": data})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def people(system, client) -> dict[str, Person]:
    with system.db.write() as session:
        tokens = {key: (username, create_token(session, username, system.clock.now(), days=MAX_TOKEN_DAYS))
                  for key, (username, *_rest) in PEOPLE.items()}
    return {key: Person(client, username, token) for key, (username, token) in tokens.items()}


@pytest.fixture
def browser(system):
    """`browser("vmed1")`: a signed-in browser of that user, on the same app as the API."""
    from tests.pages.app import page_app
    app = page_app(system)
    opened = {}

    def of(username: str) -> PageUser:
        if username not in opened:
            user = PageUser(app)
            assert user.login(username, PASSWORD).status_code in (302, 303)
            opened[username] = user
        return opened[username]

    return of


# ------------------------------------------------------------------------------ the bundled paths
def written_after_escalation(people) -> int:
    """Village mediation fails; the town settles in writing, the court confirms, the follow-up finds it
    performed, the file is complete."""
    case = people["intake"].register("mediation", dispute())["id"]
    people["village"].do(case, "mediate", result="no_agreement", notes="第一次调解，双方分歧较大")
    people["town"].do(case, "mediate", result="agreement", agreement_form="written",
                      agreement_text="李四于十日内疏通排水沟，张三不再追究", difficulty="general",
                      performance_terms="李四自费雇工疏通，9月11日前完成，张三到场验收", notes="第二次调解达成书面协议")
    people["town"].do(case, "judicial_confirmation", applied=True, court="清河县人民法院")
    people["court"].send(case, "court_confirmation", result="confirmed")
    people["town"].do(case, "followup", performance="performed", satisfaction=5, notes="排水沟已疏通，双方满意")
    people["town"].do(case, "archive", checklist=COMPLETE_FILE)
    return case


def oral_in_the_village(people) -> int:
    case = people["intake"].register("mediation", dispute(summary="宅基地边界争议"))["id"]
    people["village"].do(case, "mediate", result="agreement", agreement_form="oral",
                         agreement_text="双方以界桩为界，当场确认", difficulty="simple", notes="当场调解")
    people["village"].do(case, "judicial_confirmation", applied=False)
    people["village"].do(case, "followup", performance="partial", satisfaction=3, notes="界桩已立，围墙未拆")
    people["village"].do(case, "archive", checklist=COMPLETE_FILE)
    return case


def refused(people) -> int:
    case = people["intake"].register("mediation", dispute(summary="借款纠纷", category="contract"))["id"]
    people["village"].do(case, "mediate", result="refused", notes="被申请人拒绝调解")
    people["village"].do(case, "archive", checklist=BASIC_FILE)
    return case


def withdrawn(people) -> int:
    case = people["intake"].register("mediation", dispute(summary="噪音扰邻"))["id"]
    people["village"].send(case, "withdraw", reason="双方已自行和解")
    people["village"].do(case, "archive", checklist=BASIC_FILE, missing_reason="未经调解即撤回")
    return case


def to_court(people) -> int:
    """No agreement at any level: the court liaison refers it, the court mediates."""
    case = people["intake"].register("mediation", dispute(summary="合伙经营分红纠纷", category="business"))["id"]
    for level in ("village", "town", "county"):
        people[level].do(case, "mediate", result="no_agreement", notes=f"{level}调解未成")
    people["court"].do(case, "refer_to_court", court="清河县人民法院", referral_kind="pre_filing_mediation")
    people["court"].send(case, "court_result", outcome="mediated", reference="（2026）清民调字第1号")
    people["county"].do(case, "archive", checklist=BASIC_FILE)
    return case


def petition_to_final(people) -> int:
    """Accepted by the town office, opinion, review and re-review by the county: final."""
    case = people["intake"].register("petition", petition())["id"]
    people["town_officer"].do(case, "decide_acceptance", decision="accept", reason="属于本机关职责范围")
    people["town_officer"].do(case, "handle", opinion="not_support", opinion_text="调整程序符合村民自治章程")
    people["officer"].send(case, "review_request")
    people["officer"].do(case, "review", opinion="not_support", opinion_text="维持原处理意见")
    people["officer"].send(case, "rereview_request")
    people["officer2"].do(case, "rereview", opinion="explain", opinion_text="复核维持，已当面解释")
    return case


def petition_declined(people) -> int:
    case = people["intake"].register("petition", petition(summary="要求撤销民事判决", category="contract"))["id"]
    people["town_officer"].do(case, "decide_acceptance", decision="not_accept",
                              reason="属于应当通过诉讼途径解决的事项")
    return case


def petition_transferred(people) -> int:
    case = people["intake"].register("petition", petition(summary="西镇集市占道经营", category="business"))["id"]
    people["town_officer"].do(case, "decide_acceptance", decision="transfer", transfer_to="xz",
                              reason="属西镇管辖事项")
    return case


COMPLETE_FILE = {"registration_form": True, "rights_notice": True, "identity_proof": True,
                 "mediation_record": True, "agreement": True, "followup_record": True}
BASIC_FILE = {"registration_form": True, "rights_notice": True, "identity_proof": True,
              "mediation_record": True, "agreement": False, "followup_record": False}

PATHS = {"written_after_escalation": written_after_escalation, "oral_in_the_village": oral_in_the_village,
         "refused": refused, "withdrawn": withdrawn, "to_court": to_court,
         "petition_to_final": petition_to_final, "petition_declined": petition_declined,
         "petition_transferred": petition_transferred}


def flat(text: str) -> str:
    """Text without whitespace: a PDF's text breaks lines wherever the page does."""
    return re.sub(r"\s+", "", text)
