"""What a village mediator's pages cost the server in a county store of 100,000 cases.

    python bench/pages.py [--cases 100000] [--database-url URL] [--requests 200] [--warmup 20]
                          [--user USERNAME] [--explain] [--profile] [--index SQL …]
                          [--store FILE] [--reuse] [--seed N] [--chunk 2000]

Fills a fresh store (a SQLite file in a temporary directory, or with --database-url a schema of its
own in that PostgreSQL database, dropped afterwards) with CASES cases of the bundled `bpmn/`
processes in a county of 20 towns × 15 villages (bench/seed_cases.py: a few hundred template cases
registered and worked through the application layer on the simulated clock, the rest copied in bulk
with their workflow state, tasks, deadlines, ledger entries and re-chained history): about 96 %
closed, the rest open at village, town and county level, some overdue. It prints the store's size
per case.

Then, on the real clock as in production, it times the server side of the three page paths a
mediator uses, through Flask's test client signed in as a village mediator (by default the one
with the longest worklist): `GET /tasks`, `GET /tasks/<id>` and `GET /cases/<id>` (cycling over up
to ten of that mediator's tasks and their cases), REQUESTS times each after WARMUP requests; and the
same reads through the application layer (`tasks.worklist_page`, `tasks.get`, `cases.get` +
`history` + `diagram`), so what the rendering costs shows apart from the reads. Two extra lines time
the case page and `cases.get` of closed cases of the mediator's village (those with subsidy entries),
which the open cases of the worklist do not have. It prints p50 / p95
/ max in ms per path, what each page answered, and the worklist's length. Target: every p95 under
150 ms on SQLite at 100,000 cases.

Times are wall-clock and, beside them, the process's CPU time per request: on a shared machine the
CPU time is the steadier figure of what a request costs.

--explain prints, per path, the statements one request runs (count and time each) and the plan of
the slowest ones (EXPLAIN QUERY PLAN on SQLite, EXPLAIN ANALYZE on PostgreSQL); --profile prints the
application's functions that take the time (cProfile over 30 requests). To measure a proposed index
before anyone edits the schema, --index "CREATE INDEX …" (repeatable) creates it in the benchmark's
own store after the first timing, and everything is timed again. --store FILE keeps the SQLite store
in FILE and reuses it on the next run (a 100,000-case fill takes a few minutes).
PostgreSQL stores are ANALYZEd after filling (autovacuum would do it soon after a bulk load); SQLite
is left as the application leaves it (it never runs ANALYZE). About 5 minutes at 100,000 cases.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import math
import os
import pstats
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from fresh_store import fresh_store
from seed_cases import BPMN, PASSWORD, fill_store, verify_sample
from sqlalchemy import event, func, select, text

from engine.accounts import actor_of
from engine.config import Settings
from engine.store import Case, CaseEvent, Deadline, HumanTask, LedgerEntry, User
from usecases import Services
from workflows import build_system

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
TARGET_MS = 150.0
PLANS_SHOWN = 4


def _write(message: str) -> None:
    sys.stdout.write(message)
    sys.stdout.flush()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# ------------------------------------------------------------------------------------ the store
def store_size(system, cases: int) -> list[str]:
    """Lines: the store's size, per case, and its largest tables (with their indexes)."""
    lines = []
    with system.db.read() as s:
        state = s.scalar(select(func.avg(func.length(Case.state)))) or 0
        events = s.scalar(select(func.count()).select_from(CaseEvent)) or 0
        if system.db.is_postgres:
            tables = s.execute(text(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
                "ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind = 'r' "
                "ORDER BY 2 DESC")).all()
            total = sum(size for _name, size in tables)
    if not system.db.is_postgres:
        import sqlite3
        path = Path(system.db.write_engine.url.database)
        conn = sqlite3.connect(path)
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            total = path.stat().st_size
            try:  # dbstat: bytes per table and index, when SQLite was built with it
                owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')"))
                by_table: dict[str, int] = defaultdict(int)
                for name, size in conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
                    by_table[owner.get(name, name)] += size
                tables = sorted(by_table.items(), key=lambda kv: -kv[1])
            except sqlite3.Error:
                tables = []
        finally:
            conn.close()
    lines.append(f"store: {total / 2**20:.0f} MiB for {cases} cases = {total / cases / 1024:.1f} KiB per case "
                 f"(workflow state {state / 1024:.1f} KiB per case, {events / cases:.1f} history events per case)")
    if tables:
        lines.append("  largest tables with their indexes: " + ", ".join(
            f"{name} {size / cases / 1024:.1f} KiB" for name, size in tables[:6]) + " per case")
    return lines


def census(system) -> list[str]:
    with system.db.read() as s:
        by = s.execute(select(Case.type, Case.status, Case.level, func.count()).group_by(
            Case.type, Case.status, Case.level).order_by(Case.type, Case.status, Case.level)).all()
        tasks = s.execute(select(HumanTask.name, HumanTask.level, func.count()).where(HumanTask.status == "ready")
                          .group_by(HumanTask.name, HumanTask.level).order_by(HumanTask.name)).all()
        pending = s.scalar(select(func.count()).select_from(Deadline).where(Deadline.status == "pending"))
        overdue = s.scalar(select(func.count()).select_from(HumanTask).where(
            HumanTask.status == "ready", HumanTask.due_at <= datetime.now(UTC)))
    return ["cases: " + ", ".join(f"{t} {st} {lv or '-'} {n}" for t, st, lv, n in by),
            "open tasks: " + ", ".join(f"{name}@{lv} {n}" for name, lv, n in tasks)
            + f"; {pending} pending deadlines, {overdue} open tasks overdue"]


# ------------------------------------------------------------------------------------ signing in
class Browser:
    """One signed-in browser on the Flask test client (as tests/pages/conftest.py's PageUser)."""

    def __init__(self, app, username: str):
        self.client = app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = _TOKEN.search(page)
        assert token, "no CSRF token on /login"
        answer = self.client.post("/login", data={"username": username, "password": PASSWORD, "next": "/",
                                                  "csrf_token": token.group(1)})
        assert answer.status_code in (302, 303), f"sign-in as {username} answered {answer.status_code}"

    def get(self, path: str):
        return self.client.get(path)


# ------------------------------------------------------------------------------------ timing
def timed(call, paths: list, requests: int, warmup: int) -> tuple[list[float], list[float], dict]:
    """Wall and CPU ms of `requests` calls (cycling over `paths`) after `warmup`, and what they answered.
    CPU time (this process's, user + system) is what the request cost; wall time includes waiting for
    the CPU when other processes share the machine."""
    answers: dict = defaultdict(int)
    for i in range(warmup):
        call(paths[i % len(paths)])
    wall, cpu = [], []
    for i in range(requests):
        t, c = time.perf_counter(), time.process_time()
        answer = call(paths[i % len(paths)])
        cpu.append((time.process_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
        answers[answer] += 1
    return wall, cpu, answers


def page_call(browser):
    def call(path):
        response = browser.get(path)
        body = response.get_data()
        return f"{response.status_code} ({len(body) // 1024} KiB)" if response.status_code == 200 \
            else f"{response.status_code}{' → ' + response.headers.get('Location', '') if response.status_code in (301, 302, 303) else ''}"
    return call


def use_case_calls(services, actor):
    def worklist(_):
        found = services.tasks.worklist_page(actor)
        return f"{len(found.items)} of {found.total}"

    def task(task_id):
        services.tasks.get(actor, task_id)
        return "ok"

    def case(case_id):
        services.cases.get(actor, case_id)
        services.cases.history(actor, case_id)
        services.cases.diagram(actor, case_id)
        return "ok"

    def case_get(case_id):
        services.cases.get(actor, case_id)
        return "ok"

    def history(case_id):
        services.cases.history(actor, case_id)
        return "ok"

    def diagram(case_id):
        services.cases.diagram(actor, case_id)
        return "ok"

    return worklist, task, case, case_get, history, diagram


def paths_of(services, actor, browser, wanted: int = 10):
    """(label, call, arguments) of every path timed."""
    items = services.tasks.worklist_page(actor).items[:wanted]
    task_ids = [t["id"] for t in items]
    case_ids = list(dict.fromkeys(t["case_id"] for t in items))
    with services.system.db.read() as s:  # closed cases of the mediator's unit, with their subsidy entries
        closed = list(s.scalars(select(Case.id).where(
            Case.jurisdiction == actor.org_unit, Case.status == "closed",
            select(LedgerEntry.id).where(LedgerEntry.case_id == Case.id).exists())
            .order_by(Case.id.desc()).limit(wanted)))
    page = page_call(browser)
    worklist, task, case, case_get, history, diagram = use_case_calls(services, actor)
    return [
        ("page GET /tasks", page, ["/tasks"]),
        ("page GET /tasks/<id>", page, [f"/tasks/{i}" for i in task_ids]),
        ("page GET /cases/<id>", page, [f"/cases/{i}" for i in case_ids]),
        ("use case tasks.worklist_page", worklist, [None]),
        ("use case tasks.get", task, task_ids),
        ("use case cases.get+history+diagram", case, case_ids),
        ("  of which cases.get", case_get, case_ids),
        ("  of which cases.history", history, case_ids),
        ("  of which cases.diagram", diagram, case_ids),
        ("extra: page GET /cases/<id> closed", page, [f"/cases/{i}" for i in closed]),
        ("extra: cases.get of a closed case", case_get, closed),
    ]


def run_timings(paths, requests: int, warmup: int) -> dict[str, float]:
    print(f"{'path (ms)':<38}{'p50':>7}{'p95':>7}{'max':>7} {'cpu p50':>8}{'cpu p95':>8}   answered")
    p95s = {}
    for label, call, args in paths:
        if not args:
            print(f"{label:<38}  (no task on the worklist)")
            continue
        wall, cpu, answers = timed(call, args, requests, warmup)
        p95 = percentile(wall, 95)
        p95s[label] = p95
        flag = "" if not label.startswith("page") or p95 < TARGET_MS else f"  over the {TARGET_MS:.0f} ms target"
        said = ", ".join(f"{a} ×{n}" for a, n in sorted(answers.items()))
        print(f"{label:<38}{percentile(wall, 50):7.1f}{p95:7.1f}{max(wall):7.1f} {percentile(cpu, 50):8.1f}"
              f"{percentile(cpu, 95):8.1f}   {said}{flag}")
    return p95s


# ------------------------------------------------------------------------------------ explaining
@contextmanager
def statements(engines):
    """Capture (sql, parameters, ms) of every statement the engines run."""
    found, started = [], {}

    def before(conn, cursor, statement, parameters, context, executemany):
        started[id(cursor)] = time.perf_counter()

    def after(conn, cursor, statement, parameters, context, executemany):
        found.append((statement, parameters, (time.perf_counter() - started.pop(id(cursor), time.perf_counter())) * 1000))

    for e in engines:
        event.listen(e, "before_cursor_execute", before)
        event.listen(e, "after_cursor_execute", after)
    try:
        yield found
    finally:
        for e in engines:
            event.remove(e, "before_cursor_execute", before)
            event.remove(e, "after_cursor_execute", after)


def _one_line(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def explain(system, paths, plans: int = PLANS_SHOWN) -> None:
    db = system.db
    engines = {id(e): e for e in (db.write_engine, db.read_engine)}.values()
    for label, call, args in paths:
        if not args:
            continue
        call(args[0])  # warm
        with statements(engines) as found:
            call(args[0])
        total = sum(ms for _s, _p, ms in found)
        print(f"\n== {label} ({args[0]}): {len(found)} statements, {total:.1f} ms in the database")
        grouped: dict[str, list] = defaultdict(list)
        for sql, params, ms in found:
            grouped[_one_line(sql)].append((params, ms))
        ranked = sorted(grouped.items(), key=lambda kv: -sum(ms for _p, ms in kv[1]))
        for sql, runs in ranked:
            print(f"  {sum(ms for _p, ms in runs):7.2f} ms ×{len(runs):<3} {sql[:200]}{' …' if len(sql) > 200 else ''}")
        for sql, runs in ranked[:plans]:
            if not sql.upper().startswith("SELECT"):
                continue
            params = runs[0][0]
            print(f"  -- plan of: {sql[:160]}{' …' if len(sql) > 160 else ''}")
            with db.read_engine.connect() as conn:
                prefix = "EXPLAIN (ANALYZE, BUFFERS) " if db.is_postgres else "EXPLAIN QUERY PLAN "
                raw = conn.connection.dbapi_connection.cursor()
                raw.execute(prefix + sql, params)
                for row in raw.fetchall():
                    print("     ", " | ".join(str(x) for x in (row if db.is_postgres else row[1:])))
                raw.close()


def profile(paths, requests: int = 30, top: int = 22) -> None:
    for label, call, args in paths[:3]:
        if not args:
            continue
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(requests):
            call(args[i % len(args)])
        profiler.disable()
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(r"(web|usecases|engine|workflows)[/\\]", top)
        print(f"\n== profile of {label}, {requests} requests (cumulative)")
        print("\n".join(line for line in out.getvalue().splitlines()[6:] if line.strip()))


# ------------------------------------------------------------------------------------ main
def choose_user(system, services, username: str | None):
    """The village mediator asked for, or the one with the longest worklist."""
    with system.db.read() as s:
        if username:
            return actor_of(s.scalar(select(User).where(User.username == username)))
        rows = s.execute(select(HumanTask.org_unit, func.count()).where(
            HumanTask.status == "ready", HumanTask.level == "village", HumanTask.role == "mediator")
            .group_by(HumanTask.org_unit).order_by(func.count().desc(), HumanTask.org_unit).limit(1)).all()
        unit = rows[0][0] if rows else "vil0101"
        return actor_of(s.scalar(select(User).where(User.username == f"med_{unit}")))


def measure(system, services, args, heading: str) -> dict[str, float]:
    from web.app import create_app
    actor = choose_user(system, services, args.user)
    found = services.tasks.worklist_page(actor)
    app = create_app(services=services)
    browser = Browser(app, actor.username)
    print(f"\n{heading}: signed in as {actor.username} ({actor.org_unit}); worklist: {found.total} tasks "
          f"({len(found.items)} on its first page), steps {', '.join(k for k, _t in found.steps) or '-'}")
    paths = paths_of(services, actor, browser)
    p95s = run_timings(paths, args.requests, args.warmup)
    if args.explain:
        explain(system, paths)
    if args.profile:
        profile(paths)
    return p95s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--user", help="sign in as this user (default: the village mediator with most tasks)")
    parser.add_argument("--explain", action="store_true", help="statements and plans of one request per path")
    parser.add_argument("--profile", action="store_true", help="cProfile of the three pages")
    parser.add_argument("--index", action="append", default=[], metavar="SQL",
                        help="CREATE INDEX … to try in the store after the first timing (repeatable)")
    parser.add_argument("--store", type=Path, metavar="FILE",
                        help="SQLite: keep the store in FILE, and reuse it when it exists (no filling)")
    parser.add_argument("--reuse", action="store_true",
                        help="the --database-url store is filled already (e.g. bench/load.py's --keep schema, "
                             "its URL with ?options=-csearch_path=SCHEMA): time it as it is")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--chunk", type=int, default=2000, help="copies per transaction")
    args = parser.parse_args()
    if args.cases < 400:
        parser.error("--cases must be at least 400 (the templates alone are a few hundred)")

    if args.reuse and not args.database_url:
        parser.error("--reuse times the store of --database-url")
    if args.store and args.database_url:
        parser.error("--store is for SQLite; a --database-url store is always filled afresh")

    with tempfile.TemporaryDirectory() as tmp, store_url(args, Path(tmp)) as (url, fill):
        started = time.perf_counter()
        settings = {"database_url": url, "bpmn_dir": BPMN, "notification_log": Path(tmp) / "n.log"}
        if fill:
            seed(url, settings, args)
        else:
            print(f"reusing the store {args.store.name if args.store else 'of --database-url'} "
                  "(its own size and census as filled)")

        # As in production: the real clock (a simulated one reads the store at every "now").
        system = build_system(Settings(simulated_clock=False, **settings))
        system.services = Services(system)
        measure(system, system.services, args, "timing")
        if args.index:
            with system.db.write() as s:
                for sql in args.index:
                    s.execute(text(sql))
            if system.db.is_postgres:
                with system.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    conn.exec_driver_sql("ANALYZE")
            measure(system, system.services, args, "with " + "; ".join(args.index))
            if args.store:  # leave a reused store as it was filled
                with system.db.write() as s:
                    for sql in args.index:
                        name = re.search(r"INDEX\s+(?:IF NOT EXISTS\s+)?(\w+)", sql, re.IGNORECASE)
                        if name:
                            s.execute(text(f"DROP INDEX IF EXISTS {name.group(1)}"))
        system.close()
        print(f"\ndone in {time.perf_counter() - started:.0f} s")


@contextmanager
def store_url(args, tmp: Path):
    """(url, whether to fill it): a fresh store, or the kept SQLite file of --store."""
    if args.reuse:
        yield args.database_url, False
        return
    if args.store:
        path = args.store.resolve()
        yield f"sqlite:///{path}", not (path.exists() and path.stat().st_size > 0)
        return
    with fresh_store(args.database_url, tmp, "pages") as url:
        yield url, True


def seed(url: str, settings: dict, args) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    seeder = build_system(Settings(simulated_clock=True, **settings))
    seeder.upgrade()
    seeder.clock.set(now)
    seeder.services = Services(seeder)
    print(f"{url.split(':', 1)[0]}: filling a county with {args.cases} cases "
          f"(run of {now.date().isoformat()}, {os.cpu_count()} cores)")
    info = fill_store(seeder, args.cases, now, seed=args.seed, chunk=args.chunk)
    if seeder.db.is_postgres:
        with seeder.db.write_engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
    checked, broken = verify_sample(seeder, 200, random.Random(args.seed))
    print(f"{info['templates']} templates through the engine in {info['registered_s']:.0f} s, "
          f"{info['copies']} copies in {info['copied_s']:.0f} s; hash chains of {checked} random cases: "
          f"{'all verify' if broken is None else broken}")
    for line in census(seeder) + store_size(seeder, args.cases):
        print(line)
    seeder.clock.reset()  # the real clock from here on (the simulated one is kept in the store)
    seeder.close()


if __name__ == "__main__":
    main()
