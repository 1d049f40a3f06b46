"""A load test: 200 simulated people doing a day's mix against `fengqiao serve --workers 2` on
PostgreSQL with 100,000 cases, for a bounded time on loopback. Prints throughput, p50/p95/p99 per
kind of request and overall, the errors, and the machine's CPU load during the run.

    python bench/load.py --database-url URL [--cases 100000] [--users 200] [--ramp 60] [--minutes 3]
                         [--workers 2] [--keep SCHEMA] [--prepare] [--seed N]

Needs locust (`pip install -e '.[bench]'`). The store: a fresh schema of URL's PostgreSQL database,
filled with CASES cases by bench/seed_cases.py (the county of 20 towns × 15 villages, about 96 %
closed) and dropped afterwards; with `--keep SCHEMA` the schema SCHEMA is filled once and reused by
later runs as it is (`--prepare` fills it and stops). Then `fengqiao serve --workers N` starts as a
child process on a free loopback port, on the real clock, with its scheduler in one worker; API
tokens are made for the people who call the API, and `bench/locustfile.py` runs USERS users
(spawned over RAMP seconds; the figures are reset when all are running) for MINUTES minutes more.

Who they are and what they do (the think time is the pause between two actions of one person):

- village mediators (55 %), in the pages, signed in through /login: their worklist (/tasks), a
  task's page, a case's page; now and then a completion through the API (the step's form filled
  as a mediator would: agreement or not, confirmation, follow-up, archive); think 5–20 s;
- intake workers (20 %), through the API: register a mediation case in their village, look at it,
  list their cases; think 10–30 s;
- town and county staff (15 %), in the pages: the worklist, a search of the county's cases by a word
  or a party's name (/cases?q=…), a case's page; think 5–20 s;
- auditors and leaders (10 %), in the pages: the auditors' search (/audit?q=…), a case's audit
  page, the dashboard; think 10–30 s.

Every simulated person is a distinct user of the seeded county, so no two of them complete the
same task. An error is any answer other than the expected (a 5xx, a 4xx other than a refused
completion whose task another process changed first, a broken connection or a timeout); the run
exits 1 when there were any.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from engine.config import Settings  # noqa: E402
from tests.stores import postgres_schema  # noqa: E402

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
TARGET_P95_MS = 300.0


# ------------------------------------------------------------------------------ the store
def fill(url: str, cases: int, seed: int, workdir: Path) -> None:
    """The one place the load test seeds its store (bench/seed_cases.py's county and cases)."""
    from bench.seed_cases import BPMN, fill_store, verify_sample
    from usecases import Services
    from workflows import build_system
    now = datetime.now(timezone.utc).replace(microsecond=0)
    seeder = build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=BPMN,
                                   notification_log=workdir / "seed-notifications.log"))
    seeder.upgrade()
    seeder.clock.set(now)
    seeder.services = Services(seeder)
    print(f"filling the store with {cases} cases …", flush=True)
    started = time.perf_counter()
    info = fill_store(seeder, cases, now, seed=seed)
    with seeder.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    checked, broken = verify_sample(seeder, 100, random.Random(seed))
    print(f"\nfilled in {time.perf_counter() - started:.0f} s: {info['templates']} templates, {info['copies']} "
          f"copies; hash chains of {checked} random cases {'verify' if broken is None else broken}", flush=True)
    seeder.clock.reset()  # the real clock from here on
    seeder.close()


def case_count(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            has_table = conn.execute(text("SELECT to_regclass('case_record')")).scalar() is not None
            return conn.execute(text("SELECT count(*) FROM case_record")).scalar() if has_table else 0
    finally:
        engine.dispose()


@contextmanager
def store(database_url: str, keep: str | None) -> Iterator[str]:
    """The URL of the run's schema: `keep` (created when missing, never dropped) or a fresh one, dropped."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise SystemExit("bench/load.py runs on PostgreSQL: --database-url postgresql+psycopg://…")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    if keep is None:
        with postgres_schema(url.render_as_string(hide_password=False), prefix="fq_load_") as fresh:
            yield fresh
        return
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{keep}"'))
    admin.dispose()
    yield url.update_query_dict({"options": f"-csearch_path={keep}"}).render_as_string(hide_password=False)


# ------------------------------------------------------------------------------ the run
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("FENGQIAO_TEST_DATABASE_URL"),
                        help="a PostgreSQL database (default: $FENGQIAO_TEST_DATABASE_URL)")
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--ramp", type=float, default=60.0, help="seconds to start all users in")
    parser.add_argument("--minutes", type=float, default=3.0, help="measured time once all users run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", metavar="SCHEMA", help="fill this schema once and reuse it (never dropped)")
    parser.add_argument("--prepare", action="store_true", help="only fill the --keep schema")
    parser.add_argument("--seed", type=int, default=20261201)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url is needed (a PostgreSQL database)")
    if args.prepare and not args.keep:
        parser.error("--prepare fills a --keep schema")
    with tempfile.TemporaryDirectory(prefix="fengqiao-load-") as tmp, store(args.database_url, args.keep) as url:
        workdir = Path(tmp)
        found = case_count(url)
        if found == 0:
            fill(url, args.cases, args.seed, workdir)
        else:
            print(f"reusing the store of schema {args.keep}: {found} cases", flush=True)
        if args.prepare:
            return 0
        return run(url, args, workdir)


if __name__ == "__main__":
    sys.exit(main())
