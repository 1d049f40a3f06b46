"""A demo county's store as an operator finds it: the bundled processes deployed, the demo people and
cases seeded (mediation and petition cases at different stages, a subsidy entry, reminders in the
outbox, some of them delivered), on the simulated clock. The command line reaches it through the
FENGQIAO_* environment, as an operator's shell would."""
from __future__ import annotations

import io
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

import usecases.demo

from notifications.dispatcher import OutboxDispatcher
from tests.conftest import BPMN_DIR, definition_files, deploy_files, make_system
from usecases import CLI


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def seed_demo_store(system) -> None:
    deploy_files(system, definition_files(BPMN_DIR))
    system.services.admin.seed_demo(CLI)
    OutboxDispatcher.for_system(system).dispatch()


@pytest.fixture(scope="session")
def sqlite_demo_template(tmp_path_factory) -> Path:
    """A seeded SQLite demo store, made once per test process and copied for each test that wants one."""
    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    system = make_system(f"sqlite:///{path}", BPMN_DIR, notification_log=path.parent / "notifications.log")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(usecases.demo, "new_password", lambda: "demo-password-1")
        seed_demo_store(system)
    system.close()
    return path


@pytest.fixture
def store(database_url, monkeypatch, tmp_path, request):
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_SIMULATED_CLOCK", "1")
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(BPMN_DIR))
    monkeypatch.setenv("FENGQIAO_NOTIFICATION_LOG", str(tmp_path / "notifications.log"))
    monkeypatch.setattr(usecases.demo, "new_password", lambda: "demo-password-1")  # hashed once (tests' cache)
    if database_url.startswith("sqlite"):
        template = request.getfixturevalue("sqlite_demo_template")
        source, target = sqlite3.connect(template), sqlite3.connect(make_url(database_url).database)
        source.backup(target)
        source.close()
        target.close()
        system = make_system(database_url, BPMN_DIR, notification_log=tmp_path / "notifications.log")
    else:
        system = make_system(database_url, BPMN_DIR, notification_log=tmp_path / "notifications.log")
        seed_demo_store(system)
    yield system
    system.close()


@pytest.fixture
def fengqiao(capsys, monkeypatch):
    """Run `fengqiao ARGS…` as an operator would; its exit code and output."""
    from web.cli import main

    def run(*args: str, stdin: str | None = None) -> Outcome:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Outcome(code, out, err)
    return run
