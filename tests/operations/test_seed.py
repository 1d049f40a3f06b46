"""bench/seed.py's store (bench/seed_cases.py): a few hundred cases, on SQLite and PostgreSQL, hold
every outcome of both processes, verify, pass `fengqiao check`, and end with `fengqiao init`'s schema."""
from __future__ import annotations

import random
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine import history, search
from engine.audit import verify_cases
from engine.check import ConsistencyCheck
from engine.config import Settings
from engine.store import Case, CaseCounter, CaseHistory
from tests.kept_due import assert_due_kept
from tests.stores import postgres_schema
from workflows import build_system

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

import seed  # noqa: E402  (bench/seed.py)
import seed_cases  # noqa: E402  (bench/seed_cases.py)

CASES = 300
OUTCOMES = {"mediation": {"resolved_village", "resolved_town", "resolved_county", "court", "refused", "withdrawn"},
            "petition": {"resolved", "not_accepted", "final", "mediation"}}


def _system(url: str, tmp: Path):
    return build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=seed_cases.BPMN,
                                 notification_log=tmp / "n.log"))


def schema(url: str) -> set[tuple]:
    """Tables, columns, indexes and constraints as the database has them (planner statistics aside)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if make_url(url).get_backend_name() == "sqlite":
                return set(conn.execute(text("SELECT type, name, tbl_name, sql FROM sqlite_master "
                                             "WHERE name NOT LIKE 'sqlite_stat%'")).all())
            columns = conn.execute(text(
                "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
                "WHERE table_schema = current_schema()")).all()
            indexes = conn.execute(text("SELECT tablename, indexname, replace(indexdef, current_schema() || '.', '') "
                                        "FROM pg_indexes WHERE schemaname = current_schema()")).all()
            constraints = conn.execute(text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE connamespace = current_schema()::regnamespace")).all()
            return {("column", *c) for c in columns} | {("index", *i) for i in indexes} | {
                ("constraint", *c) for c in constraints}
    finally:
        engine.dispose()


@pytest.fixture
def init_schema(database_url, tmp_path):
    """The schema of a store `fengqiao init` made (upgrade to head) beside the one under test."""
    def made(url: str) -> set[tuple]:
        system = _system(url, tmp_path)
        system.upgrade()
        system.close()
        return schema(url)

    if make_url(database_url).get_backend_name() == "sqlite":
        return made(f"sqlite:///{tmp_path / 'init.db'}")
    from tests.conftest import PG_URL
    with postgres_schema(PG_URL) as url:
        return made(url)


def test_seeded_store(database_url, tmp_path, init_schema):
    now = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)
    system = _system(database_url, tmp_path)
    system.upgrade()
    system.clock.set(now)
    from usecases import Services
    system.services = Services(system)
    info = seed_cases.fill_store(system, CASES, now, chunk=50, log=lambda _m: None)
    assert info["copied_cases"] > 0 and info["template_cases"] + info["copied_cases"] == CASES

    with system.db.read() as s:
        # the mix: every outcome of both processes, open cases of both, owners, links, repeats
        got = {(t, o) for t, o in s.execute(select(Case.type, Case.outcome).where(Case.status == "closed").distinct())}
        for case_type, outcomes in OUTCOMES.items():
            assert {o for t, o in got if t == case_type} == outcomes
        open_types = set(s.scalars(select(Case.type).where(Case.status == "open").distinct()))
        assert open_types == {"mediation", "petition"}
        assert s.scalar(select(func.count()).where(Case.owner.is_not(None))) > 0
        assert s.scalar(select(func.count()).where(Case.repeat_of.is_not(None))) > 0
        # counts per table: what the templates and their copies had; numbers and counters agree
        assert s.scalar(select(func.count()).select_from(Case)) == CASES
        for table, rows in info["rows"].items():  # less the events packed (seed_cases.pack)
            packed = info["packed_events"] if table == "case_event" else 0
            assert s.scalar(text(f'SELECT COUNT(*) FROM "{table}"')) == rows - packed, table
        # every closed case's history packed: one row each, a few events left rows (history.ROW_KINDS)
        closed = s.scalar(select(func.count()).select_from(Case).where(Case.status != "open"))
        assert info["packed_cases"] == closed > 0 and info["packed_events"] > 0
        assert s.scalar(select(func.count()).select_from(CaseHistory)) == closed
        assert history.pending(s, 10) == []
        assert s.scalar(select(func.count(func.distinct(Case.number)))) == CASES
        per_year = {(c.type, c.year): c.last for c in s.scalars(select(CaseCounter))}
        assert sum(per_year.values()) == CASES
        heads = dict(s.execute(select(Case.id, Case.last_event_seq)).all())
        events = history.events_of(s, heads)  # packed and rows: seqs 1..head, each once
        assert all([e.seq for e in events[c]] == list(range(1, head + 1)) for c, head in heads.items())
        # links join a petition to the mediation case it opened, both in the store
        links = s.execute(text("SELECT p.type, m.type, m.data FROM case_link l JOIN case_record p ON p.id = l.case_id "
                               "JOIN case_record m ON m.id = l.linked_case_id")).all()
        assert links and all(p == "petition" and m == "mediation" for p, m, _d in links)
        repeats = s.execute(select(Case.id, Case.repeat_of).where(Case.repeat_of.is_not(None))).all()
        kinds = dict(s.execute(select(Case.id, Case.type).where(Case.id.in_([r for _i, r in repeats]))).all())
        assert all(r < i and kinds[r] == "petition" for i, r in repeats)
        # every hash chain, the copies' among them
        checked, broken = verify_cases(s, None)
        assert (checked, broken) == (CASES, None)
    # the copies' kept due times (migration 0018) as their steps and deadlines say
    assert assert_due_kept(system) > 0
    with system.db.read() as s:  # foreign keys were not checked during the load
        if not system.db.is_postgres:
            assert s.execute(text("PRAGMA foreign_key_check")).all() == []
        for table in seed_cases.copied_tables():
            for fk in table.foreign_keys:
                child, parent = fk.parent, fk.column
                orphans = s.scalar(select(func.count()).select_from(child.table.outerjoin(
                    parent.table, child == parent)).where(child.is_not(None), parent.is_(None)))
                assert orphans == 0, f"{child} without its {parent}"
    if system.db.is_postgres:  # no table: the GIN index follows the copied rows by itself
        with system.db.read() as s:
            number = s.scalar(select(Case.number).order_by(Case.id.desc()).limit(1))
            newest = s.scalar(select(func.max(Case.id)))
            assert newest in set(s.scalars(search.number_candidates(s, number)))
    else:  # the search index as engine.search.rebuild makes it
        with system.db.read() as s:
            terms = set(s.execute(text("SELECT term, case_id FROM case_search_term")).all())
        search.rebuild(system.db)
        with system.db.read() as s:
            assert set(s.execute(text("SELECT term, case_id FROM case_search_term")).all()) == terms
            assert len(terms) > CASES

    report = ConsistencyCheck(system.engine).run()
    assert report.findings == ()
    assert report.cases == CASES and report.ledger_entries > 0

    lines = seed.size_lines(system, CASES)
    assert "KiB per case" in lines[0]
    system.close()
    assert schema(database_url) == init_schema


def test_progress_bar_says_share_rate_and_time_left():
    line = seed_cases.progress("copies", 250, 1000, 10.0, width=10)
    assert line.startswith("\r  copies [##........]  25.0% 250/1000 cases, 25/s")
    assert "~30 s left" in line


def test_copy_plan_fills_exactly_the_cases_asked(monkeypatch):
    """The plan's copies and the templates make `cases` cases, two-case templates counted twice."""
    def rows(kind: str, size: int, day: int):
        t = seed_cases.Template(kind, "mediation", list(range(size)))
        return seed_cases.TemplateRows(t, size, datetime(2026, 1, day, tzinfo=timezone.utc), [], [], [], 1, [], [], [],
                                       seed_cases.Atoms())

    templates = [rows(k.name, 2 if k.name == "petition_mediated" else 1, 1 + i % 28) for i, k in enumerate(seed_cases.KINDS)]
    for cases in (len(templates) + 1, 1000, 12345):
        plan = seed_cases.copy_plan(templates, cases, random.Random(1))
        assert sum(t.size for t in templates) + sum(t.size for t in plan) == cases
        assert [t.created_at for t in plan] == sorted(t.created_at for t in plan)


def test_copy_fields_in_postgres_text_format():
    import bulk_copy
    assert bulk_copy.copy_field(None) == "\\N"
    assert bulk_copy.copy_field("a\tb\nc\\d\re 调解") == "a\\tb\\nc\\\\d\\re 调解"
    assert bulk_copy.copy_field(b"\x01\xff") == "\\\\x01ff"
    assert (bulk_copy.copy_field(True), bulk_copy.copy_field(False), bulk_copy.copy_field(42)) == ("t", "f", "42")
    assert bulk_copy.copy_field(datetime(2026, 1, 2, 3, 4, 5, 6)) == "2026-01-02 03:04:05.000006"
    with pytest.raises(ValueError):
        bulk_copy.copy_field(datetime(2026, 1, 2).astimezone())  # aware: the bind processing was skipped
    # a text joined from escaped pieces is the whole text escaped
    atoms = bulk_copy.Atoms()
    piece = bulk_copy.Pieces('{"note":"村\\n\tvil0101 说"}', atoms)
    atoms.escape_all()
    values, escaped = bulk_copy.Renamer(1, 1, {}, []).values(atoms)
    assert piece.render(escaped) == bulk_copy.copy_escape(piece.render(values))
    assert "vil0202" in piece.render(values)
