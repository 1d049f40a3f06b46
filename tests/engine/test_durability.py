"""What an auditor relies on: no lost or half-done commands, and a history nobody can quietly change."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select, text, update

from engine.audit import verify_cases
from engine.errors import Conflict
from engine import history
from engine.store import Case, CaseEvent, CaseHistory, HumanTask
from tests.conftest import FIXTURES, make_system

ROOT = Path(__file__).resolve().parents[2]


def _loop_case(system):
    med = system.people["mediator"]
    case_id = system.engine.start_case("loop", {"attempts": 0, "settled": False}, med).case_id
    with system.db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.case_id == case_id, HumanTask.status == "ready"))
    return case_id, task_id


def _snapshot(system, case_id):
    with system.db.read() as s:
        case = s.execute(select(Case.version, Case.status, Case.last_event_seq).where(Case.id == case_id)).one()
        events = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        tasks = s.execute(select(HumanTask.id, HumanTask.status).where(HumanTask.case_id == case_id)
                          .order_by(HumanTask.id)).all()
        return tuple(case), events, [tuple(t) for t in tasks]


def test_two_mediators_completing_the_same_task_at_once_exactly_one_wins(system):
    case_id, task_id = _loop_case(system)
    med, med2 = system.people["mediator"], system.people["mediator2"]
    barrier = threading.Barrier(2)
    outcomes = []

    def complete(actor, settled):
        barrier.wait()
        try:
            system.engine.complete_task(task_id, {"settled": settled}, actor)
            outcomes.append(("ok", actor.username))
        except Conflict:
            outcomes.append(("conflict", actor.username))

    threads = [threading.Thread(target=complete, args=(med, True)), threading.Thread(target=complete, args=(med2, False))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o[0] for o in outcomes) == ["conflict", "ok"]
    winner = next(o[1] for o in outcomes if o[0] == "ok")
    with system.db.read() as s:
        history = system.services.cases.history(system.people["auditor"], case_id)
        assert [e["actor"] for e in history if e["kind"] == "task_completed"] == [winner]
        assert verify_cases(s) == (1, None)


_KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from engine.config import Settings
from workflows import build_system
import engine.rows as rows
from engine.accounts import actor_of, find_user

real_insert_events = rows.insert_events
def insert_then_die(conn, event_rows):
    real_insert_events(conn, event_rows)  # everything of the command is written, nothing committed
    os.kill(os.getpid(), signal.SIGKILL)
rows.insert_events = insert_then_die

system = build_system(Settings(database_url={url!r}, simulated_clock=True))
with system.db.read() as s:
    actor = actor_of(find_user(s, "med1"))
system.engine.complete_task({task_id}, {{"settled": True}}, actor)
print("survived")
"""


def test_a_process_killed_in_the_middle_of_a_command_leaves_the_case_as_it_was(system):
    case_id, task_id = _loop_case(system)
    before = _snapshot(system, case_id)
    script = _KILLER.format(root=str(ROOT), url=system.settings.database_url, task_id=task_id)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == -9, result.stderr
    assert "survived" not in result.stdout
    assert _snapshot(system, case_id) == before
    with system.db.read() as s:
        assert verify_cases(s) == (1, None)
    # and the case carries on normally
    system.engine.complete_task(task_id, {"settled": True}, system.people["mediator"])
    assert _snapshot(system, case_id)[0][1] == "closed"


def _closed_case_with_history(system):
    case_id, task_id = _loop_case(system)
    system.engine.complete_task(task_id, {"settled": True}, system.people["mediator"])
    return case_id


def _verify(system):
    with system.db.read() as s:
        return verify_cases(s)


def _tamper_rows(s, case_id, tampering):
    rows = s.execute(select(CaseEvent.seq).where(CaseEvent.case_id == case_id)
                     .order_by(CaseEvent.seq)).all()
    if tampering == "edit":
        s.execute(update(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == rows[1].seq).values(actor="someone_else"))
        return 2
    if tampering == "delete_middle":
        s.execute(delete(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == rows[2].seq))
        return 3
    if tampering == "reorder":
        a, b = rows[1], rows[2]
        same = CaseEvent.case_id == case_id
        s.execute(update(CaseEvent).where(same, CaseEvent.seq == a.seq).values(seq=-1))
        s.execute(update(CaseEvent).where(same, CaseEvent.seq == b.seq).values(seq=a.seq))
        s.execute(update(CaseEvent).where(same, CaseEvent.seq == -1).values(seq=b.seq))
        return 2
    s.execute(delete(CaseEvent).where(CaseEvent.case_id == case_id, CaseEvent.seq == rows[-1].seq))
    return None


def _tamper_packed(s, case_id, tampering):
    """The same tampering inside the case's packed history (engine/history.py's blob), each event's
    stored hash left as it was."""
    packed = history.decode(case_id, s.scalar(select(CaseHistory.events).where(CaseHistory.case_id == case_id)))
    expected = {"edit": 2, "delete_middle": 3, "reorder": 2, "delete_last": None}[tampering]
    if tampering == "edit":
        packed[1].actor = "someone_else"
    elif tampering == "delete_middle":
        del packed[2]
    elif tampering == "reorder":
        packed[1].seq, packed[2].seq = packed[2].seq, packed[1].seq
        packed[1], packed[2] = packed[2], packed[1]
    else:
        del packed[-1]
    s.execute(update(CaseHistory).where(CaseHistory.case_id == case_id).values(events=history.encode(packed)))
    return expected


@pytest.mark.parametrize("packed", [False, True], ids=["rows", "packed"])
@pytest.mark.parametrize("tampering", ["edit", "delete_middle", "reorder", "delete_last"])
def test_audit_verify_finds_a_tampered_history(system, tampering, packed):
    other = _closed_case_with_history(system)  # an untouched case is checked first and passes
    case_id = _closed_case_with_history(system)
    if packed:  # both closed cases' histories packed into one row each, no event left a row
        assert system.pack_closed().cases == 2
        with system.db.read() as s:
            assert s.scalar(select(func.count()).select_from(CaseEvent)) == 0
    assert _verify(system) == (2, None)
    with system.db.write() as s:
        expected_seq = (_tamper_packed if packed else _tamper_rows)(s, case_id, tampering)
    checked, broken = _verify(system)
    assert broken is not None and broken.case_id == case_id and broken.seq == expected_seq
    assert other < case_id and checked == 2
