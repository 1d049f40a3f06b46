"""Moving 10,000 open disputes to a new version of the mediation flow, while people keep working.

    python bench/migration.py [--cases 10000] [--database-url URL] [--lifecycles 150]

Fills a store with CASES open village-level disputes of the bundled `bpmn/mediation.bpmn` (a few
registered through the application layer, the rest copied in bulk with their workflow state, task,
deadline and history), deploys the county's new version whose village deadline is 7 days instead of
10 (tests/fixtures/versions/), and moves every open case with `Definitions.migrate` (what
`fengqiao definitions migrate mediation --from 1 --to 2` runs): 25 cases a write transaction, each
case's deadline recomputed and a `definition_migrated` event appended.

Meanwhile a second thread acts as a village mediator and an intake clerk: it registers disputes and
works their steps (each a command with its commit) without pause, and records how long each command
took; the longest is what a user waited at worst while the migration ran. For scale, the same run
times the lifecycle of bench/lifecycle.py (eight user tasks through the engine on the same store
kind), so the migration's cost per case reads beside a command's.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import func, select  # noqa: E402

import lifecycle  # noqa: E402  (bench/lifecycle.py)
from engine.accounts import actor_of, add_org_unit, add_user  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.store import Case, CaseEvent, Deadline, Definition, HumanTask  # noqa: E402
from fresh_store import fresh_store  # noqa: E402  (bench/fresh_store.py)
from tests.mediation.conftest import UNITS, dispute  # noqa: E402
from usecases import CLI, Services  # noqa: E402
from workflows import build_system  # noqa: E402

BPMN = ROOT / "bpmn"
VARIANT = ROOT / "tests" / "fixtures" / "versions" / "mediation_village_7_days.bpmn"
BUNDLE = ("mediation.bpmn", "triage.dmn", "subsidy.dmn")
T0 = datetime(2026, 9, 1, 1, 0, tzinfo=timezone.utc)  # Tue 09:00 in Shanghai


def setup(url: str, tmp: Path):
    system = build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=BPMN,
                                   notification_log=tmp / "n.log"))
    system.upgrade()
    system.clock.set(T0)
    services = Services(system)
    services.admin.deploy(CLI, {name: (BPMN / name).read_bytes() for name in BUNDLE})
    with system.db.write() as s:
        for code, name, level, parent in UNITS:
            add_org_unit(s, code, name, level, parent)
        intake = actor_of(add_user(s, "b_intake", ["intake"], "dz-lc", "password1", now=T0))
        mediator = actor_of(add_user(s, "b_vmed", ["mediator"], "dz-lc", "password1", now=T0))
    return system, services, intake, mediator


def fill(system, template_id: int, count: int, chunk: int = 1000) -> None:
    """`count` copies of a registered case: its row with the workflow state, task, deadline and events."""
    case_t, task_t, deadline_t, event_t = (Case.__table__, HumanTask.__table__, Deadline.__table__,
                                           CaseEvent.__table__)
    with system.db.read() as s:
        case = dict(s.execute(select(case_t).where(case_t.c.id == template_id)).mappings().one())
        tasks = [dict(r) for r in s.execute(select(task_t).where(task_t.c.case_id == template_id)).mappings()]
        deadlines = [dict(r) for r in s.execute(select(deadline_t).where(deadline_t.c.case_id == template_id))
                     .mappings()]
        events = [dict(r) for r in s.execute(select(event_t).where(event_t.c.case_id == template_id)).mappings()]
        next_id = s.scalar(select(func.max(case_t.c.id))) + 1
    for row in (case, *tasks, *deadlines, *events):
        row.pop("id")
    done = 0
    while done < count:
        ids = range(next_id + done, next_id + min(done + chunk, count))
        with system.db.write() as s:
            conn = s.connection()
            conn.execute(case_t.insert(), [{**case, "id": i, "number": f"FILL-{i:07d}"} for i in ids])
            conn.execute(task_t.insert(), [{**t, "case_id": i} for i in ids for t in tasks])
            conn.execute(deadline_t.insert(), [{**d, "case_id": i} for i in ids for d in deadlines])
            conn.execute(event_t.insert(), [{**e, "case_id": i} for i in ids for e in events])
        done += len(ids)


class UserAtWork(threading.Thread):
    """A clerk registers a dispute and the village mediator records a failed round, again and again."""

    def __init__(self, services, intake, mediator):
        super().__init__(daemon=True)
        self.services, self.intake, self.mediator = services, intake, mediator
        self.times: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def timed(self, call):
        started = time.perf_counter()
        try:
            return call()
        finally:
            self.times.append(time.perf_counter() - started)

    def run(self) -> None:
        cases, tasks = self.services.cases, self.services.tasks
        while not self.stop.is_set():
            try:
                case = self.timed(lambda: cases.register(self.intake, "mediation", dispute()))
                (task,) = self.timed(lambda c=case: tasks.worklist(self.mediator, c["id"]))
                self.timed(lambda c=case, t=task: tasks.complete(self.mediator, t["id"], {"result": "no_agreement"},
                                                                 c["version"]))
            except Exception as exc:  # noqa: BLE001 — reported at the end: a benchmark must not hide failures
                self.errors.append(repr(exc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--registered", type=int, default=20, help="of them, registered through the use cases")
    parser.add_argument("--lifecycles", type=int, default=150, help="bench/lifecycle.py's lifecycles, for scale")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_store(args.database_url, Path(tmp), "migration") as url:
        kind = url.split(":", 1)[0]
        system, services, intake, mediator = setup(url, Path(tmp))
        started = time.perf_counter()
        template = None
        for _ in range(args.registered):
            template = services.cases.register(intake, "mediation", dispute())["id"]
        fill(system, template, args.cases - args.registered)
        with system.db.read() as s:
            open_cases = s.scalar(select(func.count()).select_from(Case).where(Case.status == "open"))
        print(f"{kind}: {open_cases} open village disputes on mediation v1 "
              f"({args.registered} registered, the rest copied; {time.perf_counter() - started:.0f} s)")

        system.clock.set(T0 + timedelta(days=3))
        files = {name: (BPMN / name).read_bytes() for name in BUNDLE}
        files["mediation.bpmn"] = VARIANT.read_bytes()
        services.admin.deploy(CLI, files)  # v2: the village round has 7 days
        system.engine.cache.clear()  # as after a restart: every case restored from the store

        worker = UserAtWork(services, intake, mediator)
        worker.start()
        time.sleep(1.0)  # the user is at work before the migration starts
        idle_times = list(worker.times)
        started, cpu = time.perf_counter(), time.thread_time()
        result = services.definitions.migrate(CLI, "mediation", 1, 2)
        elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
        during = worker.times[len(idle_times):]
        worker.stop.set()
        worker.join()

        with system.db.read() as s:
            on_v2 = s.scalar(select(func.count()).select_from(Case).join(Definition, Definition.id == Case.definition_id)
                             .where(Definition.version == 2, Case.status == "open"))
        verified = services.audit.verify(CLI, result["cases"][0]["case_id"])["ok"]
        system.close()

        print(f"migration of {result['moved']} cases ({result['blocked']} blocked, {result['skipped']} skipped): "
              f"{elapsed:.1f} s, {elapsed / max(result['moved'], 1) * 1000:.2f} ms a case (goal: 10,000 in under 60 s; "
              f"the migrating thread's own CPU time {cpu:.1f} s, {cpu / max(result['moved'], 1) * 1000:.2f} ms a case); "
              f"{on_v2} open cases now on v2; a moved case's chain verifies: {verified}")
        if during:
            print(f"a user's commands meanwhile: {len(during)}, median {statistics.median(during) * 1000:.1f} ms, "
                  f"p99 {sorted(during)[int(len(during) * 0.99) - 1] * 1000:.1f} ms, "
                  f"max {max(during) * 1000:.1f} ms (goal: none over 1,000 ms); errors: {len(worker.errors)}"
                  + (f" first: {worker.errors[0]}" if worker.errors else ""))
        if idle_times:
            print(f"the same commands before the migration: median {statistics.median(idle_times) * 1000:.1f} ms")

    # For scale: bench/lifecycle.py's figure, on the same kind of store, in this run.
    with tempfile.TemporaryDirectory() as tmp, fresh_store(args.database_url, Path(tmp), "lifecycle") as life_url:
        life_system, actors = lifecycle.setup(life_url, cache=True)
        lifecycle.through_engine(life_system, actors, 5)
        seconds, commands = lifecycle.through_engine(life_system, actors, args.lifecycles)
        life_system.close()
    per_life = seconds / args.lifecycles
    print(f"lifecycle (bench/lifecycle.py, chain8, {args.lifecycles}): {per_life * 1000:.1f} ms a lifecycle, "
          f"{seconds / commands * 1000:.2f} ms a command; a case's migration costs "
          f"{elapsed / max(result['moved'], 1) / (seconds / commands):.1f} commands")


if __name__ == "__main__":
    main()
