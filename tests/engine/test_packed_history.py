"""A closed case's history packed into one row (engine/history.py, migration 0021): every reader shows
it as it showed the rows; packing is idempotent, takes only closed cases, and leaves the kinds read
across cases as rows; events after the packing are rows until the next one. On SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import func, select

from engine import history
from engine.audit import verify_cases
from engine.check import ConsistencyCheck
from engine.store import Case, CaseEvent, CaseHistory, HumanTask
from tests.engine.test_durability import _closed_case_with_history, _loop_case


def _reads(system, case_id):
    """What every reader of a case's history gives: the API's history, the auditor's history and case
    file (with their chain verification), the consistency check, `audit verify`."""
    auditor = system.people["auditor"]
    case_file = system.services.audit.case_file(auditor, case_id)
    with system.db.read() as s:
        verified = verify_cases(s)
    return {"history": system.services.cases.history(auditor, case_id),
            "audit": system.services.audit.case_history(auditor, case_id)["events"],
            "file_events": case_file["events"], "verification": case_file["verification"],
            "verified": verified, "check": ConsistencyCheck(system.engine).run().as_dict()["findings"]}


def _counts(system, case_id):
    with system.db.read() as s:
        rows = s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))
        packed = s.scalar(select(CaseHistory.events).where(CaseHistory.case_id == case_id))
        return rows, len(history.decode(case_id, packed)) if packed is not None else None


def test_a_packed_history_reads_as_its_rows_did(system):
    open_id, _task = _loop_case(system)
    case_id = _closed_case_with_history(system)
    before = _reads(system, case_id)
    events = len(before["history"])
    assert events >= 4 and before["verification"]["ok"] and before["verified"] == (2, None) and before["check"] == []

    report = system.pack_closed()
    assert (report.cases, report.events) == (1, events)  # the open case is not packed
    assert _counts(system, case_id) == (0, events)
    assert _counts(system, open_id)[1] is None
    assert _reads(system, case_id) == before


def test_packing_twice_changes_nothing_and_later_events_are_rows_until_the_next_packing(system):
    case_id = _closed_case_with_history(system)
    events = len(system.services.cases.history(system.people["auditor"], case_id))
    assert system.pack_closed().events == events
    with system.db.read() as s:
        blob = s.scalar(select(CaseHistory.events).where(CaseHistory.case_id == case_id))
        assert history.pending(s, 10) == []
    assert system.pack_closed() == history.PackReport(0, 0, 0)
    with system.db.read() as s:
        assert s.scalar(select(CaseHistory.events).where(CaseHistory.case_id == case_id)) == blob

    # A closed case's history goes on (a printed document, an unmasked look): a row, shown after the
    # packed events and chained to the last of them.
    system.engine.record_event(case_id, "document_printed", {"kind": "closing_notice"}, system.people["mediator"])
    assert _counts(system, case_id) == (1, events)
    shown = system.services.cases.history(system.people["auditor"], case_id)
    assert [e["seq"] for e in shown] == list(range(1, events + 2))
    assert shown[-1]["kind"] == "document_printed" and shown[-1]["prev_hash"] == shown[-2]["hash"]
    before = _reads(system, case_id)
    assert before["verified"] == (1, None)

    assert system.pack_closed().events == 1  # appended to the packed history
    assert _counts(system, case_id) == (0, events + 1)
    assert _reads(system, case_id) == before


def test_the_kinds_read_across_cases_stay_rows(system):
    case_id = _closed_case_with_history(system)
    for kind in sorted(history.ROW_KINDS):
        system.engine.record_event(case_id, kind, {"note": kind}, system.people["mediator"])
    system.pack_closed()
    with system.db.read() as s:
        kept = set(s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case_id)))
        assert kept == set(history.ROW_KINDS)
        packed = history.decode(case_id, s.scalar(select(CaseHistory.events).where(CaseHistory.case_id == case_id)))
        assert packed and not {e.kind for e in packed} & history.ROW_KINDS
        merged = history.case_events(s, case_id)
        assert [e.seq for e in merged] == list(range(1, len(merged) + 1))
        assert verify_cases(s) == (1, None)


def test_a_case_packed_while_open_is_not_and_the_batch_reads_each_history_once(system):
    """pack() skips an open case even when named; events_of reads packed and rows in two statements."""
    open_id, task_id = _loop_case(system)
    closed_id = _closed_case_with_history(system)
    with system.db.write() as s:
        assert history.pack(s, [open_id, closed_id], lambda *_: False) > 0
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseHistory)) == 1
        assert s.scalar(select(HumanTask.status).where(HumanTask.id == task_id)) == "ready"
        heads = dict(s.execute(select(Case.id, Case.last_event_seq)).all())
        found = history.events_of(s, heads)
        assert {c: [e.seq for e in evs] for c, evs in found.items()} == {
            c: list(range(1, head + 1)) for c, head in heads.items()}


def test_the_scheduler_packs_closed_histories_periodically(system):
    from engine.scheduler import PACK, DeadlineScheduler

    case_id = _closed_case_with_history(system)
    scheduler = DeadlineScheduler(system)
    scheduler.start()
    try:
        assert scheduler._aps.get_job(PACK) is not None
        assert scheduler.holding  # PostgreSQL: every scheduler; SQLite: the lease holder, this one
        scheduler._pack_job()
        assert scheduler.packed == 1
    finally:
        scheduler.stop()
    assert _counts(system, case_id)[0] == 0


def test_migration_0021_down_unpacks_every_history_and_up_again(system):
    from sqlalchemy import inspect

    from tests.engine.test_event_kind_index import _downgrade

    case_id = _closed_case_with_history(system)
    before = _reads(system, case_id)
    events = len(before["history"])
    assert system.pack_closed().events == events
    _downgrade(system, "0020_newest_by_column")
    with system.db.write_engine.connect() as conn:
        assert not inspect(conn).has_table("case_history")
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(CaseEvent)) == events
        assert verify_cases(s) == (1, None)
    system.upgrade()
    assert system.pack_closed().events == events
    assert _reads(system, case_id) == before
