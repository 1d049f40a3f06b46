"""What a case costs in the store, by table and index: the code of a baseline commit beside this one.

    python bench/store_size.py [--cases 10000] [--database-url URL] [--baseline REF]

Fills two fresh stores with the same county and the same N cases (bench/seed_cases.fill_store: a few
hundred cases worked through the engine, the rest copied in bulk; 96 % closed), one with the code of
`--baseline` (default: the commit before the smaller store of migration 0010, i.e. the parent of the
commit that added engine/state_codec.py) and one with this working tree, and prints bytes per case of
each table with its indexes, the largest indexes, the workflow state's share, and the ratio.

The baseline's store is made by the baseline's own code: its tree is taken from git (`git archive`)
into a temporary folder and its seeder run there in a subprocess, so what is compared is what each
release writes, not a switch that imitates the old layout. SQLite: the file's size after a checkpoint,
and per table and index from the dbstat virtual table. PostgreSQL: each store in a schema of its own
(dropped afterwards), `pg_total_relation_size` per table (with its indexes and TOAST) after VACUUM.
"""
from __future__ import annotations

import argparse
import io
import os
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from tests.stores import postgres_schema  # noqa: E402

# Run inside a tree (this one or the baseline's): fill the store at argv[1] with argv[2] cases.
FILL = """
import sys
from datetime import datetime, timezone
from pathlib import Path
sys.path.insert(0, "bench")
from engine.config import Settings
from seed_cases import BPMN, fill_store
from usecases import Services
from workflows import build_system
url, cases, log = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
now = datetime.now(timezone.utc).replace(microsecond=0)
system = build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=BPMN, notification_log=log))
system.upgrade()
system.clock.set(now)
system.services = Services(system)
fill_store(system, cases, now, log=lambda message: None)
system.close()
"""


# Rows counted in both stores: how the two seeders' mixes of cases compare (the baseline's seeder is
# the baseline's own, which made fewer kinds of cases than today's).
COUNTED = ("case_record", "case_event", "human_task", "deadline", "case_party", "outbox")


def baseline_ref(given: str | None) -> str:
    if given:
        return given
    first = subprocess.run(["git", "log", "--diff-filter=A", "--format=%H", "--", "engine/state_codec.py"],
                           cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    if not first:
        sys.exit("no commit adds engine/state_codec.py here: name the baseline with --baseline REF")
    return first[-1] + "^"


def export_tree(ref: str, into: Path) -> Path:
    """The files of commit `ref` in a new folder (no .git, nothing of the working tree)."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def fill(tree: Path, url: str, cases: int, tmp: Path) -> float:
    started = time.perf_counter()
    env = {**os.environ, "PYTHONPATH": str(tree)}
    subprocess.run([sys.executable, "-c", FILL, url, str(cases), str(tmp / "n.log")], cwd=tree, env=env, check=True)
    return time.perf_counter() - started


def measure(url: str, cases: int) -> dict:
    """Bytes in all, per table (with its indexes), per index, and the workflow states' bytes."""
    if make_url(url).get_backend_name() == "sqlite":
        path = Path(make_url(url).database)
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
            tables, indexes = defaultdict(int), {}
            for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                tables[owner.get(name, name)] += size
                if owner.get(name, name) != name:
                    indexes[name] = size
            state = conn.execute("SELECT SUM(length(state)) FROM case_record").fetchone()[0] or 0
            rows = {name: conn.execute(f'SELECT COUNT(*) FROM "{name}"').fetchone()[0] for name in COUNTED}
            event_data = conn.execute("SELECT SUM(length(CAST(data AS BLOB))) FROM case_event").fetchone()[0] or 0
            total = path.stat().st_size
        finally:
            conn.close()
    else:
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
            rows = conn.execute(text(
                "SELECT c.relname, c.relkind, pg_total_relation_size(c.oid), pg_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                "AND c.relkind IN ('r', 'i')")).all()
            tables = {name: size for name, kind, size, _own in rows if kind == "r"}
            indexes = {name: own for name, kind, _size, own in rows if kind == "i"}
            state = conn.execute(text("SELECT SUM(pg_column_size(state)) FROM case_record")).scalar() or 0
            rows = {name: conn.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar() for name in COUNTED}
            event_data = conn.execute(text("SELECT SUM(pg_column_size(data)) FROM case_event")).scalar() or 0
        engine.dispose()
        total = sum(tables.values())
    return {"total": total, "tables": dict(tables), "indexes": indexes, "state": state, "cases": cases,
            "rows": rows, "event_data": event_data}


@contextmanager
def fresh(database_url: str | None, tmp: Path, name: str) -> Iterator[str]:
    if not database_url:
        yield f"sqlite:///{tmp / f'{name}.db'}"
    else:
        with postgres_schema(database_url, prefix="fq_size_") as url:
            yield url


def report(before: dict, after: dict, ref: str, store: str) -> None:
    n = before["cases"]
    kib = lambda b: b / n / 1024  # noqa: E731
    print(f"\n{store}, {n} cases: bytes per case, baseline ({ref}) -> this tree")
    print(f"  {'table (with its indexes)':<28}{'before':>10}{'after':>10}")
    names = sorted(set(before["tables"]) | set(after["tables"]), key=lambda t: -before["tables"].get(t, 0))
    for name in names:
        b, a = before["tables"].get(name, 0), after["tables"].get(name, 0)
        if max(a, b) / n >= 20:
            print(f"  {name:<28}{b / n:>10.0f}{a / n:>10.0f}")
    print(f"  {'workflow states (column)':<28}{before['state'] / n:>10.0f}{after['state'] / n:>10.0f}")
    print("  largest indexes (after): " + ", ".join(
        f"{name} {size / n:.0f}" for name, size in sorted(after["indexes"].items(), key=lambda kv: -kv[1])[:8]))
    print("  rows per case (the mix): " + ", ".join(
        f"{name} {before['rows'][name] / n:.2f} -> {after['rows'][name] / n:.2f}" for name in COUNTED[1:]))
    def per_event(r: dict, value: float) -> float:
        return value / max(r["rows"]["case_event"], 1)
    print(f"  bytes per event: case_event with its indexes {per_event(before, before['tables']['case_event']):.0f}"
          f" -> {per_event(after, after['tables']['case_event']):.0f}, of which its data "
          f"{per_event(before, before['event_data']):.0f} -> {per_event(after, after['event_data']):.0f}")
    print(f"  store: {kib(before['total']):.1f} KiB a case -> {kib(after['total']):.1f} KiB a case, "
          f"{before['total'] / after['total']:.2f}x smaller")
    # The outbox is the template cases' reminders (never copied): a fixed number of rows, not a cost
    # per case, and today's templates leave many more than the baseline's (see the rows above).
    b_rest = before["total"] - before["tables"].get("outbox", 0)
    a_rest = after["total"] - after["tables"].get("outbox", 0)
    print(f"  store without the outbox: {kib(b_rest):.1f} KiB a case -> {kib(a_rest):.1f} KiB a case, "
          f"{b_rest / a_rest:.2f}x smaller")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10000)
    parser.add_argument("--database-url", help="PostgreSQL: measure there (each store in a schema of its own)")
    parser.add_argument("--baseline", metavar="REF", help="git commit of the baseline (default: before 0010)")
    args = parser.parse_args()
    ref = baseline_ref(args.baseline)
    store = "PostgreSQL" if args.database_url else "SQLite"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base_tree = export_tree(ref, tmp / "baseline")
        results = {}
        for label, tree in (("baseline", base_tree), ("this tree", ROOT)):
            with fresh(args.database_url, tmp, label.replace(" ", "_")) as url:
                seconds = fill(tree, url, args.cases, tmp)
                results[label] = measure(url, args.cases)
                print(f"{label}: filled {args.cases} cases in {seconds:.0f} s")
            if not args.database_url:
                Path(make_url(url).database).unlink(missing_ok=True)
        report(results["baseline"], results["this tree"], ref, store)


if __name__ == "__main__":
    main()
