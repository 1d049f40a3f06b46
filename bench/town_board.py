"""The petition board of a town's petition office (and the county's), the code before migration 0026
and after, call by call in turn in one process on one store, so both meet the same load.

    python bench/town_board.py --database-url URL [--requests 150] [--warmup 10]

"Before" is the use case as it was: for a reader with petitions outside its units, one aggregate
over every open petition of the county tried against its visibility (petition_board.owner_board with
readable_cases_sql(probe=False)); else the kept board without the kept rows. "After" is
Petitions.board now (the kept counts and the reader's kept rows of workflows/board_reach.py). Both
answers are compared on every call. Prints p50 / p95 in ms, wall and this process's CPU (on SQLite
that includes the database's work). The store must be at migration 0026."""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select

from engine.accounts import actor_of, find_user
from engine.config import Settings
from engine.store import HumanTask
from usecases import Services
from usecases.petitions import units_at
from usecases.relations import OrgTree, readable_case_units, readable_cases_sql
from workflows import build_system, petition_board


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def board_before(services, actor):
    """Petitions.board as it was before migration 0026 (unit None)."""
    p = services.petitions
    now = p.now()
    owner_role, due_days, backlog_days = p._rules()
    with p.db.read() as session:
        tree = OrgTree.load(session)
        units = units_at(tree, None)
        parts = readable_case_units(tree, actor)
        readable, others = (None, []) if parts is None else parts
        if readable is not None and others and not set(units or tree.units) <= readable:
            return petition_board.owner_board(session, readable_cases_sql(session, tree, actor, probe=False), now,
                                              owner_role=owner_role, due_days=due_days, backlog_days=backlog_days)
        return petition_board.kept_board(session, now, readable=readable, others=others,
                                         roots=(None, actor.org_unit), below=tree.below, owner_role=owner_role,
                                         due_days=due_days, backlog_days=backlog_days)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--requests", type=int, default=150)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        return _measure(args, Settings(simulated_clock=False, database_url=args.database_url,
                                       bpmn_dir=ROOT / "bpmn", notification_log=Path(tmp) / "n.log"))


def _measure(args, settings: Settings) -> int:
    system = build_system(settings)
    services = Services(system)
    with system.db.read() as s:
        busiest = s.execute(select(HumanTask.org_unit, func.count()).where(
            HumanTask.status == "ready", HumanTask.level == "village", HumanTask.role == "mediator")
            .group_by(HumanTask.org_unit).order_by(func.count().desc(), HumanTask.org_unit).limit(1)).first()
        town = "twn" + (busiest[0] if busiest else "vil0101")[3:5]
        readers = {f"pet_{town}": actor_of(find_user(s, f"pet_{town}")), "pet_cty1": actor_of(find_user(s, "pet_cty1"))}
    print(f"{args.database_url.split('?')[0].rsplit('/', 1)[-1]}: {args.requests} calls each, in turn (ms)")
    print(f"{'reader':12} {'code':7} {'p50':>7} {'p95':>7} {'cpu p50':>8} {'cpu p95':>8}")
    for name, actor in readers.items():
        calls = {"before": lambda a=actor: board_before(services, a),
                 "after": lambda a=actor: services.petitions.board(a)["items"]}
        for _ in range(args.warmup):
            assert calls["before"]() == calls["after"](), name
        wall: dict[str, list[float]] = {k: [] for k in calls}
        cpu: dict[str, list[float]] = {k: [] for k in calls}
        answers = {}
        for _ in range(args.requests):
            for code, call in calls.items():
                w, c = time.perf_counter(), time.process_time()
                answers[code] = call()
                wall[code].append((time.perf_counter() - w) * 1000)
                cpu[code].append((time.process_time() - c) * 1000)
            assert answers["before"] == answers["after"], name
        for code in calls:
            print(f"{name:12} {code:7} {percentile(wall[code], 50):7.1f} {percentile(wall[code], 95):7.1f} "
                  f"{percentile(cpu[code], 50):8.1f} {percentile(cpu[code], 95):8.1f}")
    system.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
