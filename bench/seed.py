"""Fill a store with N cases of both processes, for benchmarks at scale, and say what it costs per case.

    python bench/seed.py --cases 1000000 [--database-url URL] [--schema NAME] [--keep]
                         [--seed 20261201] [--chunk 2000] [--verify 200] [--check 300]

The county of bench/seed_cases.py (20 towns × 15 villages, 671 users), a few hundred template cases
worked through the application layer on the simulated clock (every outcome and open step of both
processes, owner leaders with their reports, petitions that opened a mediation case, repeat
petitions linked to earlier ones; `seed_cases.KINDS` is the mix), then bulk copies of them up to
N cases with their whole rows, renamed to other towns and villages and with re-chained histories.
A progress bar goes to stderr; the figures to stdout: the time of each part, the mix, a sample of
hash chains verified, a sample of cases through `fengqiao check`, and the store's size per case,
by table.

The store: without --database-url, a new SQLite file in a temporary directory, removed afterwards
unless --keep (which prints its path). A `sqlite:///PATH` URL fills that file, which must be new or
empty, and keeps it. A PostgreSQL URL fills a new schema of its database, dropped afterwards unless
--keep or --schema NAME (a new or empty schema of that name, kept: `--schema public` fills a new
database's default schema, so the plain URL reaches the store); the URL printed at the end points at
it (`?options=-csearch_path=…`), for the next benchmark's --database-url.
"""
from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import create_engine, func, inspect, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.check import ConsistencyCheck  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.store import Base, Case  # noqa: E402
from seed_cases import BPMN, KINDS, copied_tables, fill_store, verify_sample  # noqa: E402
from usecases import Services  # noqa: E402
from workflows import build_system  # noqa: E402


def _progress(message: str) -> None:
    sys.stderr.write(message)
    sys.stderr.flush()


# ------------------------------------------------------------------------------ the store
class Store:
    """Where the cases go: its URL, and what to remove afterwards."""

    def __init__(self, args, tmp: Path):
        self.args, self.tmp = args, tmp
        self.file: Path | None = None
        self.schema: str | None = None
        self.admin = None
        url = args.database_url
        if not url:
            self.file = (Path(tempfile.mkdtemp(prefix="fq_seed_")) if args.keep else tmp) / "seed.db"
            self.url, self.kept = f"sqlite:///{self.file}", args.keep
        elif make_url(url).get_backend_name() == "sqlite":
            self.file = Path(make_url(url).database).resolve()
            if self.file.exists() and self.file.stat().st_size > 0:
                raise SystemExit(f"{self.file} is not empty: seed.py fills a new store")
            self.url, self.kept = url, True
        elif make_url(url).get_backend_name() == "postgresql":
            base = make_url(url)
            if base.drivername == "postgresql":
                base = base.set(drivername="postgresql+psycopg")
            self.schema = args.schema or f"fq_seed_{uuid.uuid4().hex[:12]}"
            self.kept = bool(args.keep or args.schema)
            self.admin = create_engine(base, isolation_level="AUTOCOMMIT")
            with self.admin.connect() as conn:
                if not conn.scalar(text("SELECT 1 FROM pg_namespace WHERE nspname = :n"), {"n": self.schema}):
                    conn.execute(text(f'CREATE SCHEMA "{self.schema}"'))
                elif not args.schema or conn.scalar(text("SELECT 1 FROM pg_class c JOIN pg_namespace n ON "
                                                         "n.oid = c.relnamespace WHERE n.nspname = :n LIMIT 1"),
                                                    {"n": self.schema}):
                    raise SystemExit(f"schema {self.schema} exists and is not empty: seed.py fills a new or empty one")
            self.url = base.update_query_dict({"options": f"-csearch_path={self.schema}"}).render_as_string(
                hide_password=False)
        else:
            raise SystemExit("--database-url: SQLite or PostgreSQL")

    def remove(self) -> None:
        if self.schema and not self.kept:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA "{self.schema}" CASCADE'))
        if self.admin is not None:
            self.admin.dispose()

    def describe(self) -> str:
        if self.kept:
            return f"kept: --database-url '{self.url}'"
        return "removed (--keep to keep it)"


# ------------------------------------------------------------------------------ what it holds
def mix(system) -> list[str]:
    with system.db.read() as s:
        rows = s.execute(select(Case.type, Case.status, Case.outcome, func.count())
                         .group_by(Case.type, Case.status, Case.outcome)
                         .order_by(Case.type, Case.status, Case.outcome)).all()
        owned = s.scalar(select(func.count()).where(Case.owner.is_not(None))) or 0
        repeat = s.scalar(select(func.count()).where(Case.repeat_of.is_not(None))) or 0
        links = s.scalar(text("SELECT COUNT(*) FROM case_link")) or 0
        open_steps = s.execute(text("SELECT name, COUNT(*) FROM human_task WHERE status = 'ready' "
                                    "GROUP BY name ORDER BY 2 DESC")).all()
    total = sum(n for *_k, n in rows) or 1
    lines = ["mix (type, status, outcome: cases, share):"]
    lines += [f"  {t:9} {st:6} {o or '-':17} {n:>10,} {n / total:7.2%}" for t, st, o, n in rows]
    lines.append(f"  owner leaders on {owned:,} petitions, {repeat:,} repeat petitions linked to an earlier one, "
                 f"{links:,} case links (petition -> its mediation case)")
    lines.append("  open steps: " + ", ".join(f"{name} {n:,}" for name, n in open_steps))
    return lines


def sizes(system) -> tuple[int, dict[str, int], dict[str, int]]:
    """(bytes of the whole store, bytes per table with its indexes, rows per table)."""
    with system.db.read() as s:
        present = set(inspect(s.connection()).get_table_names())  # PostgreSQL has no case_search_term
        tables = [t.name for t in Base.metadata.sorted_tables if t.name in present]
        rows = {name: s.scalar(text(f'SELECT COUNT(*) FROM "{name}"')) or 0 for name in tables}
        if system.db.is_postgres:
            by_table = dict(s.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r'")).all())
            return sum(by_table.values()), by_table, rows
    path = Path(system.db.write_engine.url.database)
    system.db.dispose()  # the pools' connections and a thread's kept command connection
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = Path(f"{path}-wal")
        total = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        by_table: dict[str, int] = defaultdict(int)
        try:  # dbstat, when SQLite was built with it: bytes per table and index
            owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
            for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                by_table[owner.get(name, name)] += size
        except sqlite3.Error:
            pass
    finally:
        conn.close()
    return total, dict(by_table), rows


def size_lines(system, cases: int) -> list[str]:
    total, by_table, rows = sizes(system)
    lines = [f"store: {total / 2**20:,.0f} MiB for {cases:,} cases = {total / cases / 1024:.1f} KiB per case"]
    if by_table:
        lines.append("  per case, by table (with its indexes):")
        for name, size in sorted(by_table.items(), key=lambda kv: -kv[1]):
            if size >= total / 1000:
                lines.append(f"    {name:14} {size / cases / 1024:7.2f} KiB  {rows.get(name, 0) / cases:6.2f} rows")
    return lines


def sample_check(system, count: int, rng: random.Random) -> str:
    """`fengqiao check` (engine/check.py) on `count` random cases: every case's chain, history, tasks,
    deadlines and workflow state, and its ledger entries."""
    with system.db.read() as s:
        top = s.scalar(select(func.max(Case.id))) or 0
    ids = sorted(rng.sample(range(1, top + 1), min(count, top)))
    report = ConsistencyCheck(system.engine).run(ids)
    if not report.findings:
        return f"fengqiao check on {report.cases} random cases ({report.ledger_entries} ledger entries): no findings"
    kinds = Counter(f.kind for f in report.findings)
    return (f"fengqiao check on {report.cases} random cases: {len(report.findings)} findings {dict(kinds)}; "
            f"first: {report.findings[0]}")


# ------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, required=True)
    parser.add_argument("--database-url", default=os.environ.get("FENGQIAO_BENCH_DATABASE_URL"))
    parser.add_argument("--schema", help="PostgreSQL: a new or empty schema of this name, kept")
    parser.add_argument("--keep", action="store_true", help="keep the store (a temporary one, or a new schema)")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--chunk", type=int, default=2000, help="copies per transaction")
    parser.add_argument("--verify", type=int, default=200, help="hash chains of this many random cases")
    parser.add_argument("--check", type=int, default=300, help="`fengqiao check` on this many random cases")
    args = parser.parse_args()
    if args.cases < 1:
        parser.error("--cases: at least 1")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="fq_seed_") as tmp:
        store = Store(args, Path(tmp))
        try:
            run(store, args, Path(tmp))
        finally:
            store.remove()
            if store.file is not None and not store.kept:
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{store.file}{suffix}").unlink(missing_ok=True)
        print(f"store {store.describe()}")
    print(f"done in {time.perf_counter() - started:,.0f} s")


def run(store: Store, args, tmp: Path) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    system = build_system(Settings(database_url=store.url, simulated_clock=True, bpmn_dir=BPMN,
                                   notification_log=tmp / "notifications.log"))
    system.upgrade()
    system.clock.set(now)
    system.services = Services(system)
    backend = "PostgreSQL" if system.db.is_postgres else "SQLite"
    print(f"{backend}: {args.cases:,} cases (run of {now.date().isoformat()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f})", flush=True)
    info = fill_store(system, args.cases, now, seed=args.seed, chunk=args.chunk, log=_progress)
    copied = info["copied_cases"]
    print(f"templates: {info['template_cases']} cases of {len(KINDS)} kinds through the engine in "
          f"{info['registered_s']:,.0f} s")
    print(f"copies: {copied:,} cases in {info['copied_s']:,.0f} s = {copied / max(info['copied_s'], 1e-9):,.0f} "
          f"cases/s; secondary indexes rebuilt in {info['indexed_s']:,.0f} s; finish (ANALYZE) "
          f"{info['finish_s']:,.0f} s")
    print(f"copied tables: {', '.join(t.name for t in copied_tables())}")
    for line in mix(system):
        print(line)
    rng = random.Random(args.seed)
    if args.verify:
        checked, broken = verify_sample(system, args.verify, rng)
        print(f"hash chains of {checked} random cases: {'all verify' if broken is None else broken}")
    if args.check:
        print(sample_check(system, args.check, rng))
    for line in size_lines(system, args.cases):
        print(line)
    system.clock.reset()  # the real clock from here on (the simulated one is kept in the store)
    system.close()


if __name__ == "__main__":
    main()
