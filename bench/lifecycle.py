"""N full lifecycles of an eight-user-task process: the engine on SQLite vs plain SpiffWorkflow in memory.

    python bench/lifecycle.py [-n 300] [--rounds 3] [--chunk 10] [--database sqlite:///path.db] [--no-cache]

Prints lifecycles per second for both and the engine's cost per lifecycle as a multiple of
plain SpiffWorkflow's, measured in the same run. The engine figure includes everything a
command does: the workflow step, the task/deadline/case rows, the hash-chained events and a
durable commit per command.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402  (bench measures SpiffWorkflow itself)
from SpiffWorkflow.util.task import TaskState  # noqa: E402
from engine.accounts import actor_of, add_org_unit, add_user  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.definitions import load_directory  # noqa: E402
from engine.definitions_repo import deploy  # noqa: E402
from workflows import build_system  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "engine"
PROCESS = "chain8"
ROLES = ["intake"] + ["mediator"] * 5 + ["justice_officer", "mediator"]  # the lanes of chain8, in order


def plain_spiff(definition, n: int) -> tuple[float, float]:
    """Seconds (wall clock, and this process's CPU) for n lifecycles run in memory by SpiffWorkflow alone."""
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        workflow = BpmnWorkflow(definition.spec, definition.subprocess_specs)
        workflow.do_engine_steps()
        while not workflow.is_completed():
            task = workflow.get_next_task(state=TaskState.READY, manual=True)
            task.set_data(note="done")
            task.run()
            workflow.do_engine_steps()
    return time.perf_counter() - started, time.process_time() - cpu


def through_engine(system, actors, n: int) -> tuple[float, float, int]:
    """Seconds (wall clock, and this process's CPU) for n lifecycles through the engine's commands, and
    the commands run."""
    engine, commands = system.engine, 0
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        result = engine.start_case(PROCESS, {"summary": "bench"}, actors["mediator"])
        commands += 1
        step = 0
        while result.opened_tasks:
            (task_id,) = result.opened_tasks
            result = engine.complete_task(task_id, {"note": "done"}, actors[ROLES[step]])
            commands += 1
            step += 1
    return time.perf_counter() - started, time.process_time() - cpu, commands


def log_pages(system, actors, n: int) -> float:
    """Pages written to SQLite's write-ahead log a command, over n lifecycles (no checkpoint meanwhile)."""
    def on_command_connection(pragma: str) -> None:
        # the connection the bench's commands write on: the thread's own, kept between commands (engine/db.py)
        with system.db.command() as session:
            session.connection().connection.dbapi_connection.execute(pragma)

    on_command_connection("PRAGMA wal_autocheckpoint=0")
    raw = system.db.write_engine.raw_connection()
    try:
        raw.dbapi_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        raw.close()
    _, _, commands = through_engine(system, actors, n)
    raw = system.db.write_engine.raw_connection()
    try:
        frames = raw.dbapi_connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[1]
    finally:
        raw.close()
    on_command_connection(f"PRAGMA wal_autocheckpoint={system.db.settings.sqlite_wal_autocheckpoint}")
    return frames / commands


def setup(database_url: str, cache: bool, synchronous: str = "NORMAL"):
    settings = Settings(database_url=database_url, workflow_cache_size=256 if cache else 0, bpmn_dir=FIXTURE,
                        sqlite_synchronous=synchronous)
    system = build_system(settings)
    system.upgrade()
    now = datetime.now(timezone.utc)
    with system.db.write() as s:
        deploy(s, load_directory(FIXTURE), now=now, actor="bench")
        add_org_unit(s, "bench", "基准县", "county", None)
        actors = {role: actor_of(add_user(s, f"b_{role}", [role], "bench", "password1", now=now))
                  for role in ("intake", "mediator", "justice_officer")}
    return system, actors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=300, help="lifecycles per round (default 300)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", help="database URL (default: temporary SQLite files)")
    parser.add_argument("--no-cache", action="store_true", help="restore the workflow from the store at every command")
    parser.add_argument("--chunk", type=int, default=10,
                        help="lifecycles run in turn by each (plain, then each mode) within a round (default 10)")
    args = parser.parse_args()

    # SQLite in both synchronous modes (the default NORMAL, and FULL: an fsync per commit);
    # a --database URL is measured as it is.
    modes = [("NORMAL", None), ("FULL", None)] if not args.database else [("", args.database)]
    definition = load_directory(FIXTURE)[PROCESS]
    plain_spiff(definition, 20)
    plain_times: list[float] = []
    plain_cpu: list[float] = []
    engine_times: dict[str, list[float]] = {mode: [] for mode, _ in modes}
    engine_cpu: dict[str, list[float]] = {mode: [] for mode, _ in modes}
    per_lifecycle_commands = 0
    with tempfile.TemporaryDirectory() as tmp:
        systems = {}
        for mode, url in modes:
            systems[mode] = setup(url or f"sqlite:///{tmp}/bench-{mode}.db", cache=not args.no_cache,
                                  synchronous=mode or "NORMAL")
            through_engine(*systems[mode], 5)  # warm up
        chunk = max(1, min(args.chunk, args.n))
        for _ in range(args.rounds):
            # Interleaved in chunks of a few lifecycles, so that the load of a busy machine (which comes
            # and goes within seconds) falls on plain SpiffWorkflow and on the engine alike.
            totals = {key: [0.0, 0.0, 0] for key in ["plain", *(mode for mode, _ in modes)]}
            done = 0
            while done < args.n:
                step = min(chunk, args.n - done)
                elapsed, cpu = plain_spiff(definition, step)
                totals["plain"][0] += elapsed
                totals["plain"][1] += cpu
                for mode, _url in modes:
                    elapsed, cpu, commands = through_engine(*systems[mode], step)
                    totals[mode][0] += elapsed
                    totals[mode][1] += cpu
                    totals[mode][2] += commands
                done += step
            plain_times.append(totals["plain"][0])
            plain_cpu.append(totals["plain"][1])
            for mode, _url in modes:
                engine_times[mode].append(totals[mode][0])
                engine_cpu[mode].append(totals[mode][1])
                per_lifecycle_commands = totals[mode][2] / args.n
        # Pages a command writes to SQLite's log, a figure the machine's load does not move.
        pages = {mode: log_pages(*systems[mode], 10) for mode, url in modes if (url or "sqlite").startswith("sqlite")}
        for system, _ in systems.values():
            system.close()

    plain = statistics.median(plain_times) / args.n
    plain_c = statistics.median(plain_cpu) / args.n
    print(f"process: {PROCESS} (8 user tasks, {per_lifecycle_commands:.0f} commands a lifecycle), "
          f"{args.n} lifecycles x {args.rounds} rounds (in turns of {chunk}), median round; "
          f"workflow cache {'off' if args.no_cache else 'on'}")
    print(f"plain SpiffWorkflow, in memory:       {1 / plain:8.1f} lifecycles/s  ({plain * 1000:6.2f} ms each)")
    for mode, url in modes:
        engine = statistics.median(engine_times[mode]) / args.n
        label = f"engine, SQLite synchronous={mode}" if mode else f"engine, {url.split('://')[0]}"
        print(f"{label + ':':<38}{1 / engine:8.1f} lifecycles/s  ({engine * 1000:6.2f} ms each, "
              f"{engine / per_lifecycle_commands * 1000:.2f} ms a command)  ratio {engine / plain:5.1f}x")
    # On a busy machine the wall clock measures the queue for the cores as much as the work: the CPU
    # time of this process is the steadier figure then (it leaves out the waits for the disk).
    print(f"CPU time: plain {plain_c * 1000:.2f} ms a lifecycle; " + "; ".join(
        f"{mode or url.split('://')[0]} {statistics.median(engine_cpu[mode]) / args.n * 1000:.2f} ms, ratio "
        f"{statistics.median(engine_cpu[mode]) / args.n / plain_c:.1f}x" for mode, url in modes))
    if pages:
        print("SQLite log pages written a command: " + "; ".join(f"{mode} {p:.1f}" for mode, p in pages.items()))
    # The round whose ratio is lowest: the one the machine's other work disturbed least.
    print("best round (wall / CPU ratio): " + "; ".join(
        f"{mode or url.split('://')[0]} {min(e / p for e, p in zip(engine_times[mode], plain_times)):.1f}x / "
        f"{min(e / p for e, p in zip(engine_cpu[mode], plain_cpu)):.1f}x" for mode, url in modes))


if __name__ == "__main__":
    main()
