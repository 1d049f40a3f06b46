"""Shared fixtures: every test that needs a store gets a fresh one, on SQLite and, when
FENGQIAO_TEST_DATABASE_URL is set, on PostgreSQL too (each test in a schema of its own)."""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.accounts import actor_of, add_org_unit, add_user
from engine.config import Settings
from engine.definitions import load_directory
from engine.definitions_repo import deploy
from tests.stores import postgres_schema

FIXTURES = Path(__file__).parent / "fixtures"
PG_URL = os.environ.get("FENGQIAO_TEST_DATABASE_URL")
START = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai, a Tuesday


@pytest.fixture(autouse=True, scope="session")
def _cheap_password_hashing():
    """scrypt is slow on purpose; the tests hash the same few passwords over and over."""
    import functools

    import engine.accounts as accounts
    real = accounts.hash_password
    accounts.hash_password = functools.lru_cache(maxsize=None)(real)
    yield
    accounts.hash_password = real


def pytest_terminal_summary(terminalreporter):
    """What the authorization matrices checked, whichever worker ran them."""
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get("failed", []):
        for name, value in getattr(report, "user_properties", []):
            if name == "matrix" and report.when == "call":
                terminalreporter.write_line(f"{value} [{report.nodeid.rsplit('[', 1)[-1].rstrip(']')}]")


def pytest_report_header(config):
    return f"fengqiao databases: SQLite{' and PostgreSQL' if PG_URL else ' (PostgreSQL skipped: FENGQIAO_TEST_DATABASE_URL not set)'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A database nobody else uses: a SQLite file, or a fresh PostgreSQL schema.

    Every test that needs a store runs on both; the PostgreSQL run is skipped (and CI fails)
    when FENGQIAO_TEST_DATABASE_URL is not set."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fengqiao.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        yield url


def fresh_postgres_schema():
    """The URL of a new, empty PostgreSQL schema, dropped afterwards: a store nobody else uses."""
    return postgres_schema(PG_URL)


@pytest.fixture
def client(system):
    """A Flask test client on the test's `system` (each test folder's conftest says which system)."""
    from web.app import create_app
    app = create_app(services=system.services)
    app.testing = True
    return app.test_client()


def make_system(database_url: str, bpmn_dir: Path, **settings):
    from workflows import build_system
    system = build_system(Settings(database_url=database_url, simulated_clock=True, bpmn_dir=bpmn_dir, **settings))
    system.upgrade()
    system.clock.set(START)
    from usecases import Services
    system.services = Services(system)  # the application layer: what every entry point calls
    return system


def seed_people(system):
    """A small county: one town, one village, and the people who work its cases."""
    with system.db.write() as s:
        add_org_unit(s, "qh", "清河县", "county", None)
        add_org_unit(s, "qh-dz", "东镇", "town", "qh")
        add_org_unit(s, "qh-dz-lc", "柳村", "village", "qh-dz")
        people = {
            "intake": add_user(s, "intake1", ["intake"], "qh-dz-lc", "password1", now=START),
            "mediator": add_user(s, "med1", ["mediator"], "qh", "password1", now=START),
            "mediator2": add_user(s, "med2", ["mediator"], "qh", "password1", now=START),
            "officer": add_user(s, "officer1", ["petition_officer"], "qh", "password1", now=START),
            "justice": add_user(s, "justice1", ["justice_officer"], "qh", "password1", now=START),
            "auditor": add_user(s, "auditor1", ["auditor"], "qh", "password1", now=START),
            "village_mediator": add_user(s, "vmed1", ["mediator"], "qh-dz-lc", "password1", now=START),
        }
        return {k: actor_of(u) for k, u in people.items()}


BPMN_DIR = Path(__file__).resolve().parents[1] / "bpmn"


def definition_files(path: Path = BPMN_DIR, names: tuple[str, ...] | None = None) -> dict[str, bytes]:
    """The .bpmn and .dmn files of a folder (or just `names`), as `fengqiao deploy` reads them."""
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())
            if p.suffix in (".bpmn", ".dmn") and (names is None or p.name in names)}


def deploy_files(system, files: dict[str, bytes]):
    """Deploy as `fengqiao deploy` does, through the application layer's use case."""
    from usecases import CLI
    return system.services.admin.deploy(CLI, files)


def deploy_dir(system, path: Path):
    """Deploy a folder of test processes straight into the engine's store (the engine's own tests)."""
    with system.db.write() as s:
        return deploy(s, load_directory(path), now=system.clock.now(), actor="admin")


@pytest.fixture
def engine_system(database_url):
    """A migrated store with the engine fixture processes deployed and a few people."""
    system = make_system(database_url, FIXTURES / "engine")
    deploy_dir(system, FIXTURES / "engine")
    deploy_dir(system, FIXTURES / "bpmn")
    system.people = seed_people(system)
    yield system
    system.close()
