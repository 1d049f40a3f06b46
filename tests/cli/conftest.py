"""The command line as an operator meets it: `fengqiao …` run in-process on a store of its own.

The store comes from the shared `database_url` fixture (a SQLite file, or a fresh PostgreSQL schema
when FENGQIAO_TEST_DATABASE_URL is set), handed to the command line the way an operator would:
through FENGQIAO_* environment variables.
"""
from __future__ import annotations

import io
import sys
from dataclasses import dataclass

import pytest

from engine.config import Settings
from tests.conftest import FIXTURES
from web.cli import main


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


@pytest.fixture
def cli_env(monkeypatch, database_url):
    """FENGQIAO_* as a trainer's machine would have them: simulated clock on, test processes deployed."""
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", database_url)
    monkeypatch.setenv("FENGQIAO_SIMULATED_CLOCK", "1")
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(FIXTURES / "bpmn"))
    return database_url


@pytest.fixture
def fengqiao(cli_env, capsys, monkeypatch):
    """Run `fengqiao ARGS…` (optionally with text on stdin); returns exit code and output."""
    def run(*args: str, stdin: str | None = None) -> Outcome:
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out, err = capsys.readouterr()
        return Outcome(code, out, err)
    return run


@pytest.fixture
def system(cli_env):
    """The same store seen from the engine, for what the command line does not do (start a case)."""
    from workflows.registry import build_system
    built = build_system(Settings.from_env())
    built.upgrade()
    yield built
    built.close()
