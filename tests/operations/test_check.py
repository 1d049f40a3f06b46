"""`fengqiao check`: an operator's consistency check of the whole store. A demo county's store is
consistent; each kind of damage done to it on purpose is reported, and the command exits 1 naming it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import insert, select, text, update

from engine.clock import utcnow
from engine.store import (Case, CaseEvent, Deadline, HumanTask, LedgerBatch, LedgerEntry, LedgerEvent, OutboxAttempt,
                          OutboxMessage)
from usecases import CLI


def _open_case_with_task(s):
    return s.execute(select(HumanTask.case_id, HumanTask.id).where(HumanTask.status == "ready")
                     .order_by(HumanTask.id)).first()


def garble_state(s):
    case_id, _ = _open_case_with_task(s)
    s.execute(update(Case).where(Case.id == case_id).values(state='{"not": "a workflow"}'))


def drop_ready_task(s):
    _, task_id = _open_case_with_task(s)
    s.execute(update(HumanTask).where(HumanTask.id == task_id).values(status="cancelled"))


def move_deadline(s):
    deadline = s.scalars(select(Deadline).where(Deadline.status == "pending", Deadline.spiff_id.is_not(None))
                         .order_by(Deadline.id)).first()
    s.execute(update(Deadline).where(Deadline.id == deadline.id).values(due_at=deadline.due_at.replace(year=2030)))


def fire_deadline_in_store_only(s):
    deadline = s.scalars(select(Deadline).where(Deadline.status == "pending", Deadline.spiff_id.is_not(None))
                         .order_by(Deadline.id)).first()
    s.execute(update(Deadline).where(Deadline.id == deadline.id).values(status="fired", fired_at=utcnow()))


def close_open_case(s):
    case_id, _ = _open_case_with_task(s)
    s.execute(update(Case).where(Case.id == case_id).values(status="closed"))


def edit_event(s):
    event = s.scalars(select(CaseEvent).where(CaseEvent.kind == "case_created").order_by(CaseEvent.case_id, CaseEvent.seq)).first()
    s.execute(update(CaseEvent).where(CaseEvent.case_id == event.case_id, CaseEvent.seq == event.seq).values(data={**event.data, "summary": "改过"}))


def task_without_history(s):
    case_id, _ = _open_case_with_task(s)
    now = utcnow()
    s.execute(insert(HumanTask).values(case_id=case_id, spiff_id="00000000-0000-0000-0000-000000000000",
                                       name="mediate", role="mediator", status="completed", created_at=now,
                                       completed_at=now, completed_by="someone"))


def ledger_status_without_event(s):
    entry_id = s.scalar(select(LedgerEntry.id).order_by(LedgerEntry.id))
    s.execute(insert(LedgerEvent).values(entry_id=entry_id, status="approved", at=utcnow(), actor="nobody"))


def kept_status_that_lies(s):
    entry_id, status = s.execute(select(LedgerEntry.id, LedgerEntry.status).order_by(LedgerEntry.id)).first()
    s.execute(update(LedgerEntry).where(LedgerEntry.id == entry_id)
              .values(status="reviewed" if status == "accrued" else "accrued"))


def batch_that_lies(s):
    s.execute(insert(LedgerBatch).values(key="2026Q3", created_at=utcnow(), created_by="cli", entry_count=3,
                                         total_fen=30000))


def sent_without_attempt(s):
    message_id = s.scalar(select(OutboxMessage.id).where(OutboxMessage.status == "sent").order_by(OutboxMessage.id))
    s.execute(update(OutboxAttempt).where(OutboxAttempt.message_id == message_id).values(ok=False))


def sent_twice(s):
    message = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent").order_by(OutboxMessage.id)).first()
    s.execute(insert(OutboxAttempt).values(message_id=message.id, attempt=message.attempts + 1, at=utcnow(), ok=True))


def acknowledged_but_pending(s):
    message = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "sent").order_by(OutboxMessage.id)).first()
    s.execute(update(OutboxMessage).where(OutboxMessage.id == message.id).values(status="pending", sent_at=None))


DAMAGE = {  # what is done → the kind of finding it must produce, and a word of its message
    "garbled workflow state": (garble_state, "workflow", "does not restore"),
    "a ready task row cancelled behind the workflow's back": (drop_ready_task, "tasks", "no ready task row"),
    "a deadline row moved without its timer": (move_deadline, "deadlines", "in the workflow"),
    "a deadline fired in the store only": (fire_deadline_in_store_only, "deadlines", "no pending deadline row"),
    "an open case marked closed": (close_open_case, "status", "not finished"),
    "an event edited": (edit_event, "chain", "edited"),
    "a task row the history never saw": (task_without_history, "history", "never opened"),
    "a ledger status without its history event": (ledger_status_without_event, "ledger", "status row"),
    "an entry's kept status that is not its newest status row's": (kept_status_that_lies, "ledger",
                                                                    "its newest status row"),
    "a payment batch whose totals lie": (batch_that_lies, "ledger", "the batch says"),
    "an outbox message marked sent without sending": (sent_without_attempt, "outbox", "without a successful attempt"),
    "an outbox message sent twice": (sent_twice, "outbox", "sent 2 times"),
    "an acknowledged message put back to pending": (acknowledged_but_pending, "outbox", "an attempt succeeded"),
}


def test_a_demo_county_is_consistent(store, fengqiao):
    done = fengqiao("check")
    assert done.code == 0, done.out
    assert done.out.startswith("一致 / consistent")
    report = store.services.operations.check(CLI)
    assert report.ok and report.cases >= 10 and report.ledger_entries >= 1 and report.outbox_messages >= 4


@pytest.mark.parametrize("damage", DAMAGE, ids=list(DAMAGE))
def test_damage_is_reported(store, fengqiao, damage):
    do, kind, words = DAMAGE[damage]
    with store.db.write() as session:
        do(session)
    done = fengqiao("check")
    assert done.code == 1, done.out
    assert "不一致 / " in done.out and f"[{kind}]" in done.out, done.out
    report = json.loads(fengqiao("check", "--json").out)
    assert not report["ok"]
    assert any(f["kind"] == kind and words in f["message"] for f in report["findings"]), report["findings"]


def test_only_admins_and_the_system_may_check(store):
    from engine.application import Actor
    from engine.errors import Forbidden
    assert store.services.operations.check(CLI).ok
    with pytest.raises(Forbidden):
        store.services.operations.check(Actor("auditor1", frozenset({"auditor"})))
    assert store.services.operations.check(Actor("admin1", frozenset({"admin"}))).ok


def test_the_check_changes_nothing(store):
    """The check only reads: running it changes nothing."""
    with store.db.read() as session:
        before = session.execute(text("SELECT count(*) FROM case_event")).scalar()
    store.services.operations.check(CLI)
    with store.db.read() as session:
        assert session.execute(text("SELECT count(*) FROM case_event")).scalar() == before
