"""A county's petition office at work, through the REST API on the simulated clock.

清河县 (qh) has its petition bureau (信访局: officer1, officer2), three leaders who own petitions
(领导包案: leader_wang, leader_li, leader_zhao), an auditor and an admin. 东镇 (dz) has a petition
office (tofficer1) and a town mediator; its villages are 柳村 (dz-lc, with a grid worker and a village
mediator) and 石桥村 (dz-sq). 西镇 (xz) has a petition office too. The bundled `bpmn/` (the petition
and mediation processes, their decisions and forms) is deployed as `fengqiao deploy` would.

The clock starts on Tuesday 1 September 2026, 09:00 in Shanghai. Dates the scenarios rely on
(the official 2026 schedule): Mid-Autumn Festival 25–27 September, National Day 1–7 October, and the
make-up working days Sunday 20 September and Saturday 10 October.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from engine.accounts import MAX_TOKEN_DAYS, add_org_unit, add_user, create_token
from engine.calendar import ZONE
from tests.api.conftest import ApiUser
from tests.conftest import definition_files, deploy_files, make_system

BPMN = Path(__file__).resolve().parents[2] / "bpmn"

UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"),
         ("dz-sq", "石桥村", "village", "dz"), ("xz", "西镇", "town", "qh"), ("xz-hx", "河西村", "village", "xz"))
PEOPLE = {  # key: (username, roles, unit)
    "officer": ("officer1", ["petition_officer"], "qh"),
    "officer2": ("officer2", ["petition_officer"], "qh"),
    "town_officer": ("tofficer1", ["petition_officer"], "dz"),
    "xz_officer": ("xofficer1", ["petition_officer"], "xz"),
    "intake": ("intake1", ["intake"], "dz-lc"),
    "wang": ("leader_wang", ["leader"], "qh"),
    "li": ("leader_li", ["leader"], "qh"),
    "zhao": ("leader_zhao", ["leader"], "qh"),
    "village_mediator": ("vmed1", ["mediator"], "dz-lc"),
    "town_mediator": ("tmed1", ["mediator"], "dz"),
    "county_mediator": ("cmed1", ["mediator"], "qh"),
    "auditor": ("auditor1", ["auditor"], "qh"),
    "admin": ("admin1", ["admin"], "qh"),
}

# Valid resident ID numbers (GB 11643 check digit) and phones of the invented petitioners.
WANG_WU = {"name": "王五", "id_number": "11010519491231002X", "phone": "13800138000", "address": "东镇柳村3组"}
ZHAO_LIU = {"name": "赵六", "id_number": "320582198001011231", "phone": "13912345678", "address": "东镇石桥村1组"}
SUN_QI = {"name": "孙七", "id_number": "51010719900606789X", "phone": "13700001111", "address": "西镇河西村"}
ZHOU_BA = {"name": "周八", "id_number": "440306197011119874", "phone": "13600002222", "address": "东镇柳村5组"}


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, `2026-10-09 09:00`."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def end_of(day: str) -> str:
    """How the API shows a period ending on `day` (DOMAIN.md §5: 23:59:59 in Shanghai)."""
    return f"{day}T23:59:59+08:00"


def petition(**overrides) -> dict:
    """王五 of 柳村 comes to the county bureau about the town's land contract decision."""
    data = {"petitioners": [dict(WANG_WU)], "residence_org": "dz-lc", "channel": "visit",
            "kind": "complaint_request", "category": "land_forest", "respondent_unit": "dz",
            "summary": "对东镇土地承包经营权调整决定不服，要求重新核定承包面积", "people_count": 1}
    data.update(overrides)
    return data


@pytest.fixture
def system(database_url):
    system = make_system(database_url, BPMN)
    deploy_files(system, definition_files(BPMN))
    with system.db.write() as session:
        for code, name, level, parent in UNITS:
            add_org_unit(session, code, name, level, parent)
        for username, roles, unit in PEOPLE.values():
            add_user(session, username, roles, unit, "password1", now=system.clock.now(),
                     display_name={"leader_wang": "王副县长", "leader_li": "李副县长"}.get(username, ""))
    yield system
    system.close()


class Person(ApiUser):
    """Someone of the county, with what they do to petitions through the API."""

    def register(self, **overrides) -> dict:
        response = self.post("/cases", {"type": "petition", "data": petition(**overrides)})
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def set_owner(self, case_id: int, leader: str, **extra):
        return self.post(f"/cases/{case_id}/owner", {"leader": leader, **extra})

    def board(self) -> dict[str | None, dict]:
        response = self.get("/petitions/owners")
        assert response.status_code == 200, response.get_json()
        return {row["leader"]: {k: row[k] for k in ("open", "due_within_7_days", "overdue", "backlog")}
                for row in response.get_json()["items"]}

    def petitions(self, **params) -> list[int]:
        response = self.get("/petitions", **params)
        assert response.status_code == 200, response.get_json()
        return [c["id"] for c in response.get_json()["items"]]


@pytest.fixture
def people(system, client) -> dict[str, Person]:
    with system.db.write() as session:
        tokens = {key: (username, create_token(session, username, system.clock.now(),
                                                        days=MAX_TOKEN_DAYS))  # scenarios run for years
                  for key, (username, *_rest) in PEOPLE.items()}
    return {key: Person(client, username, token) for key, (username, token) in tokens.items()}


@pytest.fixture
def office(people) -> Person:
    return people["officer"]


@pytest.fixture
def clock(system):
    """Move the simulated clock (`clock.to("2026-10-09 09:00")`) and sweep, as the scheduler would."""
    class Clock:
        def to(self, when: str) -> int:
            system.clock.set(at(when))
            return system.sweep()

        def advance(self, **delta) -> int:
            system.clock.advance(timedelta(**delta))
            return system.sweep()
    return Clock()
