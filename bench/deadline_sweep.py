"""What a sweep costs among 100,000 open cases: with nothing due, and with 1,000 due.

    python bench/deadline_sweep.py [--cases 100000] [--due 1000] [--database-url URL] [--rounds 30]
                                   [--processes N]

On the simulated clock: registers DUE cases of a ten-day step through the engine, then fills the
store up to CASES open cases by copying a registered sixty-day case (its case row with the
workflow state, its task and its deadline) in bulk. Then it times `System.sweep_all()` (the
scheduler's sweep: fire due deadlines, move deadlines to warning, the digest check) with nothing
due, ROUNDS times, and once with the DUE cases overdue, starting from an empty workflow cache as
after a restart; the latter fires every deadline with its events and queues its reminders.
With --processes N (PostgreSQL), the overdue sweep is run by N processes at once, as N schedulers
would: the time is from the moment all of them start sweeping until the last one is done.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from engine import deadlines  # noqa: E402
from engine.accounts import actor_of, add_org_unit, add_user  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.definitions import load_directory  # noqa: E402
from engine.definitions_repo import deploy  # noqa: E402
from engine.store import Case, Deadline, HumanTask, OutboxMessage  # noqa: E402
from fresh_store import fresh_store  # noqa: E402  (bench/fresh_store.py)
from workflows import build_system  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "bpmn"  # `timed`: one step with a boundary timer of `days`
T0 = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)  # Tue 09:00 in Shanghai


def setup(url: str, tmp: Path, sweep_workers: int = Settings.sweep_workers):
    system = build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=FIXTURE,
                                   notification_log=tmp / "n.log", sweep_workers=sweep_workers))
    system.upgrade()
    system.clock.set(T0)
    with system.db.write() as s:
        deploy(s, load_directory(FIXTURE), now=T0, actor="bench")
        add_org_unit(s, "bench", "基准县", "county", None)
        mediator = actor_of(add_user(s, "bench_m1", ["mediator"], "bench", "password1", now=T0))
        add_user(s, "bench_m2", ["mediator"], "bench", "password1", now=T0)
        add_user(s, "bench_head", ["justice_officer"], "bench", "password1", now=T0).unit_head = True
    return system, mediator


def fill(system, template_id: int, count: int, chunk: int = 2000) -> None:
    """`count` copies of a registered case (case row with state, task, deadline), in bulk."""
    case_t, task_t, deadline_t = Case.__table__, HumanTask.__table__, Deadline.__table__
    with system.db.read() as s:
        case = dict(s.execute(select(case_t).where(case_t.c.id == template_id)).mappings().one())
        task = dict(s.execute(select(task_t).where(task_t.c.case_id == template_id)).mappings().one())
        deadline = dict(s.execute(select(deadline_t).where(deadline_t.c.case_id == template_id)).mappings().one())
        next_id = s.scalar(select(func.max(case_t.c.id))) + 1
    for key in ("id",):
        case.pop(key), task.pop(key), deadline.pop(key)
    done = 0
    while done < count:
        n = min(chunk, count - done)
        ids = range(next_id + done, next_id + done + n)
        with system.db.write() as s:
            conn = s.connection()
            conn.execute(case_t.insert(), [{**case, "id": i, "number": f"FILL-{i:07d}"} for i in ids])
            conn.execute(task_t.insert(), [{**task, "case_id": i} for i in ids])
            conn.execute(deadline_t.insert(), [{**deadline, "case_id": i} for i in ids])
        done += n


_SWEEPER = """
import sys, time
sys.path.insert(0, {root!r})
from engine.config import Settings
from workflows import build_system
system = build_system(Settings.from_env())
system.sweep_all()  # warm: connections, specs, the digest marker
print("ready", flush=True)
sys.stdin.readline()
report = system.sweep_all()
print("fired", report.fired, flush=True)
"""


def sweep_in_processes_after(system, url: str, count: int, tmp: Path) -> tuple[float, int]:
    """Start the sweepers while nothing is due, move the clock past the ten-day steps, then let them go."""
    env = {**os.environ, "FENGQIAO_DATABASE_URL": url, "FENGQIAO_SIMULATED_CLOCK": "1",
           "FENGQIAO_NOTIFICATION_LOG": str(tmp / "n.log"),
           "FENGQIAO_SWEEP_WORKERS": str(system.settings.sweep_workers)}
    script = _SWEEPER.format(root=str(ROOT))
    workers = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True, env=env) for _ in range(count)]
    for worker in workers:
        assert worker.stdout.readline().strip() == "ready"
    system.clock.set(T0 + timedelta(days=11))
    started = time.perf_counter()
    for worker in workers:
        worker.stdin.write("go\n")
        worker.stdin.flush()
    fired = sum(int(worker.stdout.readline().split()[1]) for worker in workers)
    elapsed = time.perf_counter() - started
    for worker in workers:
        worker.wait()
    return elapsed, fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--sweep-workers", type=int, default=Settings.sweep_workers,
                        help="PostgreSQL: threads of one sweep (FENGQIAO_SWEEP_WORKERS)")
    parser.add_argument("--processes", type=int, default=1,
                        help="PostgreSQL: sweep the overdue cases with this many processes at once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_store(args.database_url, Path(tmp), "sweep") as url:
        system, mediator = setup(url, Path(tmp), args.sweep_workers)
        started = time.perf_counter()
        for _ in range(args.due):
            system.engine.start_case("timed", {"days": 10}, mediator)
        template = system.engine.start_case("timed", {"days": 60}, mediator).case_id
        registered = time.perf_counter() - started
        started = time.perf_counter()
        fill(system, template, args.cases - args.due - 1)
        filled = time.perf_counter() - started
        with system.db.read() as s:
            open_cases = s.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
            pending = s.scalar(select(func.count()).select_from(Deadline).where(Deadline.status == "pending"))
        print(f"{url.split(':', 1)[0]}: {open_cases} open cases, {pending} pending deadlines "
              f"({args.due + 1} registered through the engine in {registered:.0f} s, the rest copied in {filled:.0f} s)")

        system.clock.set(T0 + timedelta(days=1))  # nothing due, nothing at its warning time
        system.sweep_all()  # the first sweep of the day also writes the digest marker
        times = []
        for _ in range(args.rounds):
            t = time.perf_counter()
            report = system.sweep_all()
            times.append(time.perf_counter() - t)
            assert report.fired == report.warned == 0
        with system.db.read() as s:
            t = time.perf_counter()
            for _ in range(args.rounds):
                deadlines.next_transition(s.connection())
            next_ms = (time.perf_counter() - t) / args.rounds * 1000
        print(f"sweep with nothing due: median {statistics.median(times) * 1000:.1f} ms, "
              f"max {max(times) * 1000:.1f} ms over {args.rounds} sweeps "
              f"(the scheduler's next-due-time query: {next_ms:.2f} ms)")

        if args.processes > 1:
            # The processes start with the clock before anything is due, then all sweep at once.
            elapsed, fired = sweep_in_processes_after(system, url, args.processes, Path(tmp))
            how = f"{args.processes} processes at once"
        else:
            system.clock.set(T0 + timedelta(days=11))  # the ten-day steps are overdue (Fri 09-11 23:59:59)
            system.engine.cache.clear()  # as after a restart: every workflow is restored from the store
            t = time.perf_counter()
            fired = system.sweep_all().fired
            elapsed = time.perf_counter() - t
            how = "one process"
        with system.db.read() as s:
            queued = s.scalar(select(func.count()).select_from(OutboxMessage))
        print(f"sweep with {args.due} due ({how}): {elapsed:.2f} s ({elapsed / max(fired, 1) * 1000:.1f} ms per "
              f"deadline): fired {fired}, {queued} reminders queued")
        system.close()


if __name__ == "__main__":
    main()
