"""The mediation county of tests/mediation (东镇 with 柳村 and 石桥村, 西镇 with 河西村) on the simulated
clock, with the bundled mediation process deployed, and its people as actors of the application layer."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.accounts import actor_of, add_user, find_user
from engine.calendar import ZONE
from tests.conftest import make_system
from tests.mediation.conftest import (
    BPMN,
    PEOPLE,
    bundle_files,
    deploy_bundle,
    dispute,
    seed_county,
)


def local(text: str) -> datetime:
    """A time as the county's clocks show it: "2026-11-02 09:30"."""
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


class County:
    def __init__(self, system):
        self.system = system
        self.services = system.services
        self.reports = system.services.zero_reports

    def actor(self, key_or_username: str):
        username = PEOPLE[key_or_username][0] if key_or_username in PEOPLE else key_or_username
        with self.system.db.read() as s:
            return actor_of(find_user(s, username))

    def at(self, text: str) -> None:
        self.system.clock.set(local(text))

    def register_dispute(self, village: str = "dz-lc") -> int:
        data = dispute()
        for party in data["parties"]:
            party["residence_org"] = village
        return self.services.cases.register(self.actor("intake"), "mediation", data)["id"]

    def status(self, month: str, unit: str = "qh", who: str = "county") -> dict[str, dict]:
        view = self.reports.overview(self.actor(who), month=month, unit=unit)
        return {row["code"]: row for row in view["villages"]}


@pytest.fixture
def county(database_url):
    system = make_system(database_url, BPMN)
    deploy_bundle(system, bundle_files())
    seed_county(system)
    with system.db.write() as s:  # a leader at 东镇 and a mediator of 河西村
        add_user(s, "tleader1", ["leader"], "dz", "password1", now=system.clock.now())
        add_user(s, "xmed1", ["mediator"], "xz-hx", "password1", now=system.clock.now())
        add_user(s, "xjustice1", ["justice_officer"], "xz", "password1", now=system.clock.now())
    yield County(system)
    system.close()
