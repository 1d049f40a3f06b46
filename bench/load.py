"""A load test: 200 simulated people doing a day's mix against `fengqiao serve --workers 2` on
PostgreSQL with 100,000 cases, for a bounded time on loopback. Prints throughput, p50/p95/p99 per
kind of request and overall, the errors, and the machine's CPU load during the run.

    python bench/load.py --database-url URL [--cases 100000] [--users 200] [--ramp 60] [--minutes 3]
                         [--workers 2] [--keep SCHEMA] [--prepare] [--seed N] [--timing] [--profile]

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

--timing runs the server through bench/timed_serve.py and adds, per kind of request, the server's
own wall and CPU time over the measured window (what a request costs, apart from the queue in front
of it); --profile adds cProfile of the request threads (it slows them: figures of such a run are not
the service's).
"""
from __future__ import annotations

import argparse
import csv
import importlib.util
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
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from engine.config import Settings
from tests.stores import postgres_schema

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
TARGET_P95_MS = 300.0


# ------------------------------------------------------------------------------ the store
def fill(url: str, cases: int, seed: int, workdir: Path) -> None:
    """The one place the load test seeds its store (bench/seed_cases.py's county and cases)."""
    from bench.seed_cases import BPMN, fill_store, verify_sample
    from usecases import Services
    from workflows import build_system
    now = datetime.now(UTC).replace(microsecond=0)
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


# ------------------------------------------------------------------------------ the people
def plan(url: str, users: int, seed: int) -> dict:
    """Accounts for the simulated people (tokens for those who call the API), and what they look for."""
    from bench.seed_cases import PASSWORD, TOWNS
    from engine.store import Case, HumanTask
    from usecases import CLI, build_services
    rng = random.Random(seed)
    services = build_services(Settings(database_url=url))
    db = services.system.db
    try:
        with db.read() as s:
            busy = s.execute(select(HumanTask.org_unit, func.count()).where(
                HumanTask.status == "ready", HumanTask.level == "village").group_by(HumanTask.org_unit)
                .order_by(func.count().desc(), HumanTask.org_unit)).all()
            sample = s.scalars(select(Case.data).where(Case.type == "mediation").order_by(func.random())
                               .limit(400)).all()
        names = sorted({p["name"] for data in sample for p in (data or {}).get("parties", []) if p.get("name")})
        villages = [unit for unit, _n in busy][:max(1, users * 55 // 100 + 1)]

        def token(username: str) -> str:
            return services.admin.create_token(CLI, username, days=1, name="load test")

        towns = [f"twn{t:02d}" for t in range(1, TOWNS + 1)]
        staff = [f"{role}_{town}" for town in towns for role in ("med", "pet", "jus")] + \
                ["med_cty1", "med_cty2", "pet_cty1", "pet_cty2", "jus_cty"]
        rng.shuffle(staff)
        return {
            "password": PASSWORD, "names": names, "towns": towns,
            "mediators": [{"username": f"med_{v}", "village": v, "pages": True, "token": token(f"med_{v}")}
                          for v in villages],
            "intake": [{"username": f"intake_{v}", "village": v, "token": token(f"intake_{v}")}
                       for v in villages[:max(1, users * 20 // 100 + 1)]],
            "staff": [{"username": u, "pages": True, "token": token(u)} for u in staff],
            "auditors": [{"username": "auditor_cty", "pages": True}],
            "leaders": [{"username": f"lead_cty{i}", "pages": True} for i in (1, 2, 3)],
        }
    finally:
        services.close()


# ------------------------------------------------------------------------------ the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, workers: int, workdir: Path, timing: str | None = None) -> tuple[subprocess.Popen, int]:
    """`fengqiao serve --workers N` on a free port; with `timing` ("times" or "profile") through
    bench/timed_serve.py, which writes the server's own time per request into `workdir`."""
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_DATABASE_URL": url,
           "FENGQIAO_SECRET_KEY": os.urandom(16).hex(), "FENGQIAO_NOTIFICATION_LOG": str(workdir / "n.log")}
    env.pop("FENGQIAO_SIMULATED_CLOCK", None)
    command = [sys.executable, "-m", "web.cli"]
    if timing:
        env.update(FENGQIAO_TIMING_DIR=str(workdir), FENGQIAO_TIMING_PROFILE="1" if timing == "profile" else "0")
        command = [sys.executable, str(ROOT / "bench" / "timed_serve.py")]
    log = (workdir / "server.log").open("ab")
    proc = subprocess.Popen(command + ["serve", "--workers", str(workers), "--port", str(port)],
                            cwd=ROOT, env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited with {proc.returncode}:\n{(workdir / 'server.log').read_text()[-3000:]}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).read()
            return proc, port
        except urllib.error.HTTPError:
            return proc, port  # 503 before the first sweep: it answers
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the server did not answer within 180 s")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------ CPU during the run
def _process_tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            todo += [int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split()]
        except OSError:
            pass
    return found


def _cpu_by_pid(pids: list[int]) -> dict[int, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            found[p] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return found


def _cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used between two readings by the processes alive at both, and by those started since."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def _postgres_pids() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    found.append(int(entry.name))
            except OSError:
                pass
    return found


def _machine_busy() -> tuple[float, float]:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class CpuWatch:
    """The machine's load and busy share, and the server's and the load generator's CPU, over a window."""

    def __init__(self, server_pid: int, locust_pid: int):
        self.server_pid, self.locust_pid = server_pid, locust_pid
        self.loads: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def begin(self) -> None:
        self.t0 = time.monotonic()
        self.busy0 = _machine_busy()
        self.server0 = _cpu_by_pid(_process_tree(self.server_pid))
        self.locust0 = _cpu_by_pid(_process_tree(self.locust_pid))
        self.postgres0 = _cpu_by_pid(_postgres_pids())
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(5):
            self.loads.append(float(Path("/proc/loadavg").read_text().split()[0]))

    def end(self) -> dict:
        self._stop.set()
        seconds = time.monotonic() - self.t0
        busy, total = _machine_busy()
        cores = os.cpu_count() or 1
        return {"seconds": seconds, "cores": cores,
                "machine_busy": (busy - self.busy0[0]) / max(1, total - self.busy0[1]),
                "server_cores": _cpu_since(self.server0, _cpu_by_pid(_process_tree(self.server_pid))) / seconds,
                "locust_cores": _cpu_since(self.locust0, _cpu_by_pid(_process_tree(self.locust_pid))) / seconds,
                # every PostgreSQL process: the server's backends, and whatever else uses this cluster
                "postgres_cores": _cpu_since(self.postgres0, _cpu_by_pid(_postgres_pids())) / seconds,
                "load_avg": (min(self.loads), sum(self.loads) / len(self.loads), max(self.loads)) if self.loads else None}


# ------------------------------------------------------------------------------ the run
def run(url: str, args, workdir: Path) -> int:
    people = plan(url, args.users, args.seed)
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(people, ensure_ascii=False), encoding="utf-8")
    timing = "profile" if args.profile else ("times" if args.timing else None)
    server, port = start_server(url, args.workers, workdir, timing)
    prefix = workdir / "locust"
    measured = args.minutes * 60
    try:
        print(f"serving on 127.0.0.1:{port} with --workers {args.workers}; {args.users} users over {args.ramp:.0f} s, "
              f"then {measured:.0f} s measured", flush=True)
        locust = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", f"http://127.0.0.1:{port}",
             "-u", str(args.users), "-r", f"{args.users / max(args.ramp, 1):.3f}", "-t", f"{int(args.ramp + measured)}s",
             "--reset-stats", "--csv", str(prefix), "--only-summary", "--stop-timeout", "30",
             "--loglevel", "WARNING", "--exit-code-on-error", "0"],
            cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_LOAD_PLAN": str(plan_file)},
            stdout=(workdir / "locust.log").open("ab"), stderr=subprocess.STDOUT)
        watch = CpuWatch(server.pid, locust.pid)
        time.sleep(args.ramp + 2)  # the figures are reset once every user runs
        measured_from = time.time()
        watch.begin()
        time.sleep(max(1.0, measured - 4))
        cpu = watch.end()  # before locust stops its users
        code = locust.wait(measured + 300)
    finally:
        stop_server(server)
    stats = prefix.parent / f"{prefix.name}_stats.csv"
    if not stats.exists():  # locust ended without figures: say why, from its own log
        sys.stderr.write(f"locust wrote no figures (exit {code}):\n"
                         + (workdir / "locust.log").read_text(errors="replace")[-4000:])
        return 1
    rows = list(csv.DictReader(stats.open(encoding="utf-8")))
    failures = list(csv.DictReader((prefix.parent / f"{prefix.name}_failures.csv").open(encoding="utf-8")))
    result = report(rows, failures, cpu, code, workdir)
    if timing:
        server_side(workdir, measured_from, args.profile)
    return result


def server_side(workdir: Path, since: float, profile: bool) -> None:
    """The server's own wall and CPU time per kind of request over the measured window (--timing)."""
    rows = [r for f in workdir.glob("timing-*.json") for r in json.loads(f.read_text()) if r[1] >= since]
    if not rows:
        print("\nno server-side timings were written")
        return
    kinds: dict[str, list] = {}
    slow = []
    for kind, _end, wall, cpu, _status, *db in rows:  # db: checkouts, transactions, statements, slow path
        kinds.setdefault(kind, []).append((wall, cpu, *(db[:3] or (0, 0, 0))))
        if len(db) > 3 and db[3]:
            slow.append((wall, cpu, db[3]))

    def per_request(found: list, i: int) -> str:
        return f"{sum(r[i] for r in found) / len(found):.1f}"
    width = min(60, max(len(k) for k in kinds))
    every = [r for found in kinds.values() for r in found]
    print(f"\nin the server (bench/timed_serve.py), the measured window: {len(rows)} requests, "
          f"{sum(r[3] for r in rows) / 1000:.1f} s of request-thread CPU ({sum(r[3] for r in rows) / len(rows):.1f} ms "
          f"a request); a request's pool checkouts, transactions and statements: {per_request(every, 2)}, "
          f"{per_request(every, 3)}, {per_request(every, 4)}")
    print(f"{'kind':<{width}}  {'count':>6} {'wall p50':>8} {'p95':>6} {'max':>6} {'cpu p50':>8} {'p95':>6} "
          f"{'cpu sum s':>9} {'chk':>4} {'txn':>4} {'stmt':>5}  (ms; a request's checkouts, transactions, statements)")
    for kind, found in sorted(kinds.items(), key=lambda item: -sum(r[1] for r in item[1])):
        walls, cpus = sorted(r[0] for r in found), sorted(r[1] for r in found)
        print(f"{kind[:width]:<{width}}  {len(found):>6} {_pct(walls, 50):>8.0f} {_pct(walls, 95):>6.0f} "
              f"{walls[-1]:>6.0f} {_pct(cpus, 50):>8.1f} {_pct(cpus, 95):>6.1f} {sum(cpus) / 1000:>9.1f} "
              f"{per_request(found, 2):>4} {per_request(found, 3):>4} {per_request(found, 4):>5}")
    for wall, cpu, path in sorted(slow, reverse=True)[:10]:
        print(f"  slow: {wall:.0f} ms wall, {cpu:.0f} ms CPU: {unquote(path)}")
    if profile:
        import pstats
        files = [str(f) for f in workdir.glob("profile-*.prof")]
        if files:
            import io
            out = io.StringIO()
            stats = pstats.Stats(*files, stream=out)
            stats.sort_stats("cumulative").print_stats(r"(web|usecases|engine|workflows|jinja2|sqlalchemy)[/\\]", 45)
            stats.sort_stats("tottime").print_stats(25)
            print("\nprofile of the request threads (whole run, ramp included):")
            print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))


def _pct(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(rows: list[dict], failures: list[dict], cpu: dict, code: int, workdir: Path) -> int:
    width = max(len(r["Name"]) for r in rows)
    print(f"\n{'request':<{width}}  {'count':>7} {'errors':>6} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6} {'max':>7}  (ms)")
    total = None
    for r in rows:
        if r["Name"] == "Aggregated":
            total = r
            continue
        print(_row(r, width))
    if total is not None:
        print(_row(total, width, "all requests"))
    print(f"\nCPU over the measured {cpu['seconds']:.0f} s: the machine {cpu['machine_busy'] * 100:.0f} % busy of "
          f"{cpu['cores']} cores; the server {cpu['server_cores']:.2f} cores, PostgreSQL {cpu['postgres_cores']:.2f} cores "
          f"(all its backends, other users' included), locust {cpu['locust_cores']:.2f} cores; "
          + (f"load average {cpu['load_avg'][0]:.1f}–{cpu['load_avg'][2]:.1f} (mean {cpu['load_avg'][1]:.1f})"
             if cpu["load_avg"] else ""))
    errors = int(total["Failure Count"]) if total else 1
    for f in failures[:10]:
        print(f"  error ×{f['Occurrences']}: {f['Method']} {f['Name']}: {f['Error'][:200]}")
    p95 = float(total["95%"]) if total and total["95%"] not in ("N/A", "") else float("inf")
    print(f"\nerrors: {errors}   p95 overall: {p95:.0f} ms (target under {TARGET_P95_MS:.0f} ms)   "
          f"locust exit code {code}")
    log = (workdir / "locust.log").read_text(errors="replace").strip()
    if log:
        print(f"locust's log (last lines):\n{log[-3000:]}")
    if errors:
        print(f"server log: {(workdir / 'server.log').read_text()[-2000:]}")
    return 0 if errors == 0 and p95 < TARGET_P95_MS else 1


def _row(r: dict, width: int, name: str | None = None) -> str:
    return (f"{name or r['Name']:<{width}}  {int(r['Request Count']):>7} {int(r['Failure Count']):>6} "
            f"{float(r['Requests/s']):>7.2f} {r['50%']:>6} {r['95%']:>6} {r['99%']:>6} {float(r['Max Response Time']):>7.0f}")


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
    parser.add_argument("--timing", action="store_true",
                        help="also print the server's own wall and CPU time per kind of request (bench/timed_serve.py)")
    parser.add_argument("--profile", action="store_true", help="--timing, and cProfile of the request threads")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url is needed (a PostgreSQL database)")
    if args.prepare and not args.keep:
        parser.error("--prepare fills a --keep schema")
    if not args.prepare and importlib.util.find_spec("locust") is None:
        parser.error("locust is not installed: pip install -e '.[bench]'")
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
