"""`fengqiao definitions …` as an operator uses it: list the versions, compare two, try a migration
dry, then move the open cases; the history says so and the chains still verify."""
from __future__ import annotations

from sqlalchemy import select

from engine.store import Case, CaseEvent, Deadline
from tests.cli.test_cli import start_timed_case
from tests.conftest import FIXTURES

VARIANT = FIXTURES / "versions" / "timed_one_day.bpmn"


def test_an_operator_compares_two_versions_tries_a_dry_run_and_moves_the_open_case(fengqiao, system, tmp_path):
    assert fengqiao("init").code == 0
    fengqiao("clock", "set", "2026-09-01T09:00:00+08:00")
    case = start_timed_case(fengqiao, system, days=3)
    variant = tmp_path / "timed.bpmn"
    variant.write_bytes(VARIANT.read_bytes())
    assert "v2  新版本 / new" in fengqiao("deploy", str(variant)).out

    listing = fengqiao("definitions", "list", "timed")
    assert listing.code == 0
    lines = listing.out.splitlines()
    assert lines[0].startswith("timed") and "v2" in lines[0] and "最新 / newest" in lines[0]
    assert "在办 / open      0" in lines[0] and "在办 / open      1" in lines[1]

    diff = fengqiao("definitions", "diff", "timed", "1", "2")
    assert diff.code == 0, diff.err
    assert "~ late（respond (1 day)）" in diff.out and "due_in_days(days) → due_in_days(1)" in diff.out
    assert f"{case.number}  可以迁移 / can move" in diff.out
    assert "2026-09-04T23:59:59+08:00 → 2026-09-02T23:59:59+08:00" in diff.out

    dry = fengqiao("definitions", "migrate", "timed", "--from", "1", "--to", "2", "--dry-run")
    assert dry.code == 0 and dry.out.startswith("试运行，未作任何更改 / dry run, nothing changed")
    with system.db.read() as s:
        assert s.scalar(select(Deadline.due_at).where(Deadline.case_id == case.id)).day == 4

    moved = fengqiao("definitions", "migrate", "timed", "--from", "1", "--to", "2", "--case", case.number)
    assert moved.code == 0, moved.out + moved.err
    assert "已迁移 / moved 1" in moved.out
    with system.db.read() as s:
        assert s.scalar(select(Deadline.due_at).where(Deadline.case_id == case.id)).day == 2
        assert "definition_migrated" in s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
        assert s.scalar(select(Case.definition_id).where(Case.id == case.id)) != 1
    assert fengqiao("audit", "verify").code == 0
    assert "没有要迁移的案件 / no case to move" in fengqiao("definitions", "migrate", "timed", "--from", "1",
                                                              "--to", "2").out


def test_versions_that_do_not_exist_are_said_so(fengqiao):
    assert fengqiao("init").code == 0
    missing = fengqiao("definitions", "diff", "timed", "1", "7")
    assert missing.code == 2 and "没有第 7 版" in missing.err and "has no version 7" in missing.err
    same = fengqiao("definitions", "migrate", "timed", "--from", "1", "--to", "1")
    assert same.code == 1 and "两个不同的版本" in same.err
    assert fengqiao("definitions", "list", "nothing").code == 2
