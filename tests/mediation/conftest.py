"""A county where disputes are mediated, through the REST API on the simulated clock.

清河县 (qh) has two towns: 东镇 (dz) with the villages 柳村 (dz-lc) and 石桥村 (dz-sq), and 西镇 (xz)
with 河西村 (xz-hx). Mediators work at each level; the court liaison and the county justice bureau sit
at the county, the town justice office (司法所) at 东镇. The bundled `bpmn/` (mediation process, triage
and subsidy decisions, forms) is deployed as `fengqiao deploy` would.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from engine.accounts import MAX_TOKEN_DAYS, add_org_unit, add_user, create_token
from tests.api.conftest import ApiUser
from tests.conftest import deploy_files, make_system

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"),
         ("dz-sq", "石桥村", "village", "dz"), ("xz", "西镇", "town", "qh"), ("xz-hx", "河西村", "village", "xz"))
PEOPLE = {  # key: (username, roles, unit, civil servant)
    "intake": ("intake1", ["intake"], "dz-lc", False),
    "village": ("vmed1", ["mediator"], "dz-lc", False),
    "village2": ("vmed2", ["mediator"], "dz-lc", False),
    "village3": ("vmed3", ["mediator"], "dz-lc", False),
    "village_cs": ("vmed_cs", ["mediator"], "dz-lc", True),
    "other_village": ("smed1", ["mediator"], "dz-sq", False),
    "town": ("tmed1", ["mediator"], "dz", False),
    "county": ("cmed1", ["mediator"], "qh", False),
    "court": ("court1", ["court_liaison"], "qh", True),
    "justice_town": ("jtown1", ["justice_officer"], "dz", True),
    "justice_county": ("jcounty1", ["justice_officer"], "qh", True),
    "auditor": ("auditor1", ["auditor"], "qh", True),
    "admin": ("admin1", ["admin"], "qh", False),
}


MEDIATION_FILES = ("mediation.bpmn", "triage.dmn", "subsidy.dmn")


def bundle_files(folder: Path = BPMN) -> dict[str, bytes]:
    """The mediation bundle (other case types in bpmn/ are not this suite's business)."""
    return {name: (folder / name).read_bytes() for name in MEDIATION_FILES}


def deploy_bundle(system, files: dict[str, bytes]):
    """Deploy as `fengqiao deploy` does: the processes, and every decision on its own."""
    return deploy_files(system, files)


def seed_county(system) -> dict:
    with system.db.write() as s:
        for code, name, level, parent in UNITS:
            add_org_unit(s, code, name, level, parent)
        for username, roles, unit, servant in PEOPLE.values():
            add_user(s, username, roles, unit, "password1", now=system.clock.now(), civil_servant=servant)


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN)
    deploy_bundle(system, bundle_files())
    seed_county(system)
    yield system
    system.close()


class Mediation(ApiUser):
    """A person of the county, with what they do to mediation cases."""

    def register(self, **overrides) -> dict:
        response = self.post("/cases", {"type": "mediation", "data": dispute(**overrides)})
        assert response.status_code == 201, response.get_json()
        return response.get_json()


@pytest.fixture
def people(system, client) -> dict[str, Mediation]:
    with system.db.write() as session:
        tokens = {key: (username, create_token(session, username, system.clock.now(),
                                                        days=MAX_TOKEN_DAYS))  # scenarios run for years
                  for key, (username, *_rest) in PEOPLE.items()}
    return {key: Mediation(client, username, token) for key, (username, token) in tokens.items()}


def dispute(**overrides) -> dict:
    """A neighbours' quarrel over a drainage ditch in 柳村: two villagers, green risk."""
    data = {
        "parties": [
            {"side": "applicant", "name": "张三", "id_number": "11010519491231002X", "phone": "13800138000",
             "household_address": "东镇柳村3组", "residence_org": "dz-lc"},
            {"side": "respondent", "name": "李四", "phone": "13900139000", "household_address": "东镇柳村3组",
             "residence_org": "dz-lc"},
        ],
        "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷", "source": "party_application",
        "risk_level": "green",
    }
    data.update(overrides)
    return data


COMPLETE_FILE = {"registration_form": True, "rights_notice": True, "identity_proof": True,
                 "mediation_record": True, "agreement": True, "followup_record": True}


def settle(people, case_id: int, mediator: str = "village", *, form: str = "written", difficulty: str = "general",
           performance: str = "performed", checklist: dict | None = None, **agreement) -> dict:
    """Agreement at the case's level, no judicial confirmation, follow-up, complete file: the usual end."""
    m = people[mediator]
    m.do(case_id, "mediate", result="agreement", agreement_form=form, agreement_text="双方同意按协议履行",
         difficulty=difficulty, **agreement)
    m.do(case_id, "judicial_confirmation", applied=False)
    m.do(case_id, "followup", performance=performance, satisfaction=4)
    return m.do(case_id, "archive", checklist=checklist or COMPLETE_FILE)


def kinds(events: list[dict]) -> list[str]:
    return [e["kind"] for e in events]
