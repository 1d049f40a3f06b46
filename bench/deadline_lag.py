"""How late deadlines fire: the scheduler on the real clock, 200 deadlines due over 20 seconds.

    python bench/deadline_lag.py [-n 200] [--spread 20] [--database-url URL]

Registers N cases of a fixture process whose step is due at an exact instant, the instants
spread evenly over SPREAD seconds starting a few seconds after registration, then runs the
scheduler (in this process, as `fengqiao serve` does, with the outbox dispatcher) until every
deadline has fired. The lag of a deadline is the time from its due instant until the
transaction that fired it committed; prints p50, p99 and the maximum.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from engine.accounts import actor_of, add_org_unit, add_user  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.definitions import load_directory  # noqa: E402
from engine.definitions_repo import deploy  # noqa: E402
from engine.scheduler import DeadlineScheduler  # noqa: E402
from engine.store import Deadline  # noqa: E402
from fresh_store import fresh_store  # noqa: E402  (bench/fresh_store.py)
from notifications.dispatcher import OutboxDispatcher  # noqa: E402
from workflows import build_system  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "deadlines"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=200, help="deadlines (default 200)")
    parser.add_argument("--spread", type=float, default=20.0, help="seconds they are spread over (default 20)")
    parser.add_argument("--lead", type=float, default=15.0, help="seconds from start to the first due time")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, fresh_store(args.database_url, Path(tmp), "lag") as url:
        system = build_system(Settings(database_url=url, bpmn_dir=FIXTURE, notification_log=Path(tmp) / "n.log"))
        system.upgrade()
        now = datetime.now(timezone.utc)
        with system.db.write() as s:
            deploy(s, load_directory(FIXTURE), now=now, actor="bench")
            add_org_unit(s, "lag", "基准县", "county", None)
            mediator = actor_of(add_user(s, "lag_mediator", ["mediator"], "lag", "password1", now=now))
            add_user(s, "lag_head", ["mediator"], "lag", "password1", now=now).unit_head = True
        first_due = now + timedelta(seconds=args.lead)
        step = args.spread / max(args.n - 1, 1)
        started = time.perf_counter()
        for i in range(args.n):
            system.engine.start_case("quick", {"answer_by": (first_due + timedelta(seconds=i * step)).isoformat()},
                                     mediator)
        registered = time.perf_counter() - started
        if datetime.now(timezone.utc) > first_due:
            print(f"warning: registering took {registered:.1f} s, past the first due time; raise --lead")

        committed: dict[int, datetime] = {}
        real_put = system.engine.cache.put

        def put_after_commit(case_id, version, workflow, known):  # the sweep calls this right after its commit
            committed.setdefault(case_id, datetime.now(timezone.utc))
            real_put(case_id, version, workflow, known)

        system.engine.cache.put = put_after_commit
        scheduler = DeadlineScheduler(system, OutboxDispatcher.for_system(system))
        scheduler.start()
        try:
            limit = time.monotonic() + args.lead + args.spread + 30
            while time.monotonic() < limit:
                with system.db.read() as s:
                    if not s.scalar(select(func.count()).select_from(Deadline).where(Deadline.status == "pending")):
                        break
                time.sleep(0.2)
        finally:
            scheduler.stop()
        with system.db.read() as s:
            rows = s.execute(select(Deadline.case_id, Deadline.due_at, Deadline.status)).all()
        system.close()

    lags = [(committed[r.case_id] - r.due_at).total_seconds() for r in rows if r.case_id in committed]
    missing = len(rows) - len(lags)
    print(f"{url.split(':', 1)[0]}: {len(lags)} deadlines due over {args.spread:.0f} s "
          f"(registered in {registered:.1f} s), fired by the in-process scheduler")
    print(f"lag from due time to the firing commit: p50 {statistics.median(lags) * 1000:.0f} ms, "
          f"p99 {percentile(lags, 99) * 1000:.0f} ms, max {max(lags) * 1000:.0f} ms, "
          f"min {min(lags) * 1000:.0f} ms" + (f"; {missing} did not fire" if missing else ""))


if __name__ == "__main__":
    main()
