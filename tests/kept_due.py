"""What `case_record.next_due_at` and `overdue_at` must hold (migration 0018), counted again from the
stored steps and deadlines: for tests that move cases through the commands that keep them."""
from __future__ import annotations

from sqlalchemy import select

from engine.store import Case, Deadline, HumanTask


def assert_due_kept(system) -> int:
    """Every case's soonest due of its ready steps, and of those and its pending deadlines; returns
    how many cases have due work (so a test can tell it checked something)."""
    with system.db.read() as s:
        kept = {i: (n, o) for i, n, o in s.execute(select(Case.id, Case.next_due_at, Case.overdue_at))}
        steps = s.execute(select(HumanTask.case_id, HumanTask.due_at).where(HumanTask.status == "ready",
                                                                            HumanTask.due_at.is_not(None))).all()
        deadlines = s.execute(select(Deadline.case_id, Deadline.due_at).where(Deadline.status == "pending")).all()
    step_due: dict[int, object] = {}
    for case_id, due in steps:
        step_due[case_id] = min(due, step_due.get(case_id, due))
    any_due = dict(step_due)
    for case_id, due in deadlines:
        any_due[case_id] = min(due, any_due.get(case_id, due))
    assert kept == {i: (step_due.get(i), any_due.get(i)) for i in kept}
    return len(any_due)
