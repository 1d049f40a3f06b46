"""A county of 20 towns × 15 villages with its people, filled fast with N cases of the bundled processes.

Used by bench/seed.py, bench/pages.py, bench/board.py. The county (`seed_county`): 清河县 (`cty`) with
towns `twn01`…`twn20`, each with villages `vil0101`…`vil2015`; per village a mediator (`med_vil0101`)
and an intake worker (`intake_vil0101`); per town a mediator, a petition officer and a justice officer (`med_twn01`,
`pet_twn01`, `jus_twn01`); at the county two mediators, two petition officers, a justice officer, a
court liaison, three leaders, an auditor and an admin. Every password is `password1`.

Filling (`fill_store`) has two parts:

1. **Templates through the real engine.** A few hundred cases of the kinds in `KINDS` (every outcome
   of both processes: a village dispute settled, one confirmed by the court, one escalated to the
   town, a refusal, a withdrawal, one that went to court after three levels; a petition not accepted,
   resolved, owned by a county leader with their progress reports, transferred, reviewed and
   re-reviewed to `final`, mediated through the mediation case it opened; a repeat petition linked to
   the earlier one and its owner named at `assign_leader`; and open ones at every step and level) are
   registered with `services.cases.register` in villages of town 01 (and 02, for disputes across
   towns) and worked with `services.tasks.complete` / `services.cases.send_message` /
   `services.cases.set_owner` on the simulated clock, each action at its own time over the past 18
   months, with the scheduler's sweep run before every action: deadlines that pass fire as in
   production (a follow-up left undone goes overdue, a late acceptance decision opens its 督办 task,
   a petition's review window closes it). A template is one case, or two (a petition and the
   mediation case it opened; a repeat petition and the earlier one), copied together.
2. **Copies in bulk.** Each further case copies one template's rows in every table of a case
   (`copied_tables`: `case_record`, and each table with a `case_id` or a foreign key to a copied
   table, read from the models: `case_event`, `case_link`, `case_party`, `deadline`, `human_task`,
   `ledger_entry`, `ledger_event` today; every column) with new ids and new case numbers, moved to
   another town and village by renaming every unit code and every username (usernames embed their
   unit's code) in every copied text, the workflow state included, by one consistent rotation of
   towns and of villages. Ids of the template's own rows are remapped in the id columns (foreign
   keys, `repeat_of`, `reverses`) and inside JSON values (`ID_KEYS`: `case_id`, `task_id`,
   `entry_id`, `entries[].id` …). Nothing is run through the engine again. The copies' hash chains
   are recomputed (`engine.audit.event_hash`) over the renamed events with the new case id, so
   `fengqiao audit verify` and `fengqiao check` pass on copies too. The rows go in through one
   connection (`Writer`: `executemany` of tuples on SQLite, `COPY` on PostgreSQL) with the copied
   tables' secondary indexes dropped meanwhile and rebuilt afterwards from their own statements
   (`BulkLoad`), then `finish` (search index, counts, ANALYZE). Not copied: outbox/inbox rows (the
   reminders of the template's deadlines). Kept as the template's: the parties' names, the digests of their ID
   numbers and phones (`case_party`), so a search by a party's ID number finds every copy of its
   template.

The code is in three files: bench/seed_templates.py (the county and the templates), bench/bulk_copy.py
(the copies; the workflow state is read and written only through its `decode_state` / `encode_state`),
and this one (`fill_store`, `finish`).

Times are the template's: a copy was registered, and its deadlines fall, when its template's did, so
the due dates of open cases take as many distinct values as there are templates of their kind.
Everything random comes from one seeded `random.Random`, so runs with the same arguments build the
same store, its times counted back from the moment the run starts.
"""
from __future__ import annotations

import random
import sys
import time
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


from engine import ledger, search  # noqa: E402
from workflows import board_reach, board_tally, dashboard_tally  # noqa: E402

from bulk_copy import (BulkLoad, TemplateRows, copied_tables, copy_plan, decode_state,  # noqa: E402,F401
                       encode_state, fill_copies, load_templates, progress, verify_sample,
                       Atoms)
from seed_templates import (BPMN, COUNTY, KINDS, PASSWORD, TOWNS, VILLAGES, Template, _write,  # noqa: E402,F401
                            register_templates, seed_county, town, village, village_mediator)


def _analyze(system, vacuum: bool = False) -> None:
    """ANALYZE; on PostgreSQL with `vacuum` VACUUM (ANALYZE), which also sets the visibility map of the
    loaded pages, as autovacuum would in time (else an index-only scan fetches every heap row)."""
    if system.db.is_postgres:
        with system.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM (ANALYZE)" if vacuum else "ANALYZE")
    else:
        with system.db.write_engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()


def pack(system, log: Callable[[str], None] = _write) -> tuple[float, Any]:
    """The closed cases' histories packed, as the scheduler's maintenance step leaves a store
    (`System.pack_closed`, engine/history.py), then the event table rewritten without the rows that
    moved (PostgreSQL: VACUUM FULL case_event, case_record — the packing's update of each closed
    case's `packed_seq` leaves a dead version of its row, whose space a live store reuses for the rows
    written after it; SQLite: VACUUM), as a bulk load of the packed cases would have written it: the
    store a benchmark reads is the store after packing. Returns seconds and
    the packing's report (cases, events)."""
    started = time.perf_counter()
    report = system.pack_closed(limit=10**9, batch=2000)
    packed = time.perf_counter() - started
    if system.db.is_postgres:
        with system.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM FULL case_event, case_record")
    else:  # outside any transaction: the driver's own connection (the engine's begins one itself)
        raw = system.db.write_engine.raw_connection()
        try:
            driver = raw.driver_connection
            if driver.in_transaction:
                driver.commit()
            driver.execute("VACUUM")
        finally:
            raw.close()
    log(f"  pack: {report.events} events of {report.cases} closed cases in {packed:.0f} s "
        f"({report.cases / max(packed, 1e-9):.0f} cases/s), the event table rewritten in "
        f"{time.perf_counter() - started - packed:.0f} s\n")
    return time.perf_counter() - started, report


def finish(system, log: Callable[[str], None] = _write) -> float:
    """After a bulk load: the search index and the count tables rebuilt (the copies went in without
    them), then fresh planner statistics (ANALYZE; on PostgreSQL before the rebuilds too, and at the
    end VACUUM (ANALYZE)); returns seconds."""
    started = time.perf_counter()
    if system.db.is_postgres:  # statistics first: without them the rebuilds' paged reads below pick
        _analyze(system)  # bitmap scans of every remaining row per page (seconds a page at 1M cases)
    # the copies went in without their search terms (SQLite; PostgreSQL's GIN index follows the rows),
    indexed = search.rebuild(system.db)
    dashboard_tally.rebuild(system.db)  # the dashboard's counts
    board_tally.rebuild(system.db)  # the petition board's
    board_reach.rebuild(system.db)  # and who reaches its petitions outside their units
    ledger.rebuild_tally(system.db)  # and the ledger's totals
    _analyze(system, vacuum=True)
    log(f"  finish: the search index of {indexed} cases, the counts, ANALYZE in {time.perf_counter() - started:.0f} s\n")
    return time.perf_counter() - started


def fill_store(system, cases: int, now: datetime, seed: int = 20261201, chunk: int = 2000,
               log: Callable[[str], None] = _write, drop_indexes: bool = True,
               pack_closed: bool = True) -> dict[str, Any]:
    """The county, the templates through the engine, and copies up to `cases` cases (the copied
    tables' secondary indexes dropped meanwhile and rebuilt), the closed cases' histories packed
    (`pack`; unless `pack_closed` is False), then `finish`. The clock must be simulated; it is left
    at `now`."""
    rng = random.Random(seed)
    county = seed_county(system, now - timedelta(days=600))
    t0 = time.perf_counter()
    templates = register_templates(system, now, rng, cases, log=log)
    registered = time.perf_counter() - t0
    rows = load_templates(system, templates)
    plan = copy_plan(rows, cases, rng)
    bulk = BulkLoad(system, copied_tables())
    if drop_indexes and plan:
        bulk.drop_indexes()
    try:
        copied = fill_copies(system, rows, plan, rng, chunk=chunk, log=log)
    finally:
        indexed = bulk.restore(log=log)
    packed, report = pack(system, log=log) if pack_closed else (0.0, None)
    finished = finish(system, log=log)
    expected = defaultdict(int)  # rows per copied table: the templates' and their copies'
    for t in [*rows, *plan]:
        for tr in t.tables:
            expected[tr.name] += len(tr.base)  # rows, with an id or not (case_event)
    # rows per copied table as copied, before the packing moved `packed_events` events of
    # `packed_cases` closed cases out of case_event
    return {"rows": dict(expected), "packed_events": report.events if report else 0,
            "packed_cases": report.cases if report else 0, "county": county, "templates": len(templates), "template_cases": sum(t.size for t in rows),
            "registered_s": registered, "copies": len(plan), "copied_cases": sum(t.size for t in plan),
            "copied_s": copied, "indexed_s": indexed, "packed_s": packed, "finish_s": finished,
            "by_kind": {k.name: sum(1 for t in templates if t.kind == k.name) for k in KINDS}}


__all__ = ["fill_store", "seed_county", "village", "town", "village_mediator", "verify_sample", "KINDS",
           "PASSWORD", "COUNTY", "TOWNS", "VILLAGES", "finish", "decode_state", "encode_state", "copied_tables"]
