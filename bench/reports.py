"""What the quarterly statistics pages cost the server in a store of N cases.

    python bench/reports.py [--cases 100000] [--database-url URL] [--requests 50] [--warmup 5]
                            [--store FILE] [--seed N]

Fills a fresh store as bench/pages.py does (bench/seed_cases.py: 20 towns × 15 villages, cases over
the past 18 months), or reuses the SQLite file of --store. Then, on the real clock, it times through
Flask's test client, signed in through /login, for the last full quarter:

- `GET /reports/mediation?quarter=…` as the county justice bureau (`jus_cty`: the county by town) and
  as a town's justice office (`jus_twn03`: one town by village);
- `GET /reports/petition?quarter=…` as the county petition bureau (`pet_cty1`) and a town's office
  (`pet_twn03`);
- `GET /reports/mediation.xlsx?quarter=…` as the county (the same use case, and the sheet).

It prints p50 / p95 / max in ms per path and the process's CPU time per request. Target: p95 under
500 ms for every path on SQLite.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from dashboard import timed
from pages import Browser, percentile, seed, store_url
from seed_cases import BPMN

from engine.calendar import ZONE
from engine.config import Settings
from engine.ledger import quarter_of, quarter_start
from usecases import Services
from workflows import build_system

TARGET_MS = 500.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--store", type=Path, metavar="FILE", help="keep the SQLite store in FILE and reuse it")
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--chunk", type=int, default=2000, help="copies per transaction")
    args = parser.parse_args()
    if args.store and args.database_url:
        parser.error("--store is for SQLite; a --database-url store is always filled afresh")
    with tempfile.TemporaryDirectory() as tmp, store_url(args, Path(tmp)) as (url, fill):
        settings = {"database_url": url, "bpmn_dir": BPMN, "notification_log": Path(tmp) / "n.log"}
        if fill:
            seed(url, settings, args)
        system = build_system(Settings(simulated_clock=False, **settings))
        system.upgrade()
        services = Services(system)
        system.services = services
        from web.app import create_app
        app = create_app(services=services)
        now = datetime.now(ZONE)
        quarter = quarter_of(quarter_start(quarter_of(now)) - timedelta(days=1))  # the last full quarter
        who = {name: Browser(app, name) for name in ("jus_cty", "jus_twn03", "pet_cty1", "pet_twn03")}
        paths = [("jus_cty", f"/reports/mediation?quarter={quarter}"),
                 ("jus_twn03", f"/reports/mediation?quarter={quarter}"),
                 ("pet_cty1", f"/reports/petition?quarter={quarter}"),
                 ("pet_twn03", f"/reports/petition?quarter={quarter}"),
                 ("jus_cty", f"/reports/mediation.xlsx?quarter={quarter}")]
        print(f"\n{args.requests} requests each after {args.warmup} warm-up requests; ms")
        print(f"{'who':<10} {'path':<42} {'status':>6} {'p50':>7} {'p95':>7} {'max':>7} {'cpu p50':>8}")
        worst = 0.0
        for name, path in paths:
            wall, cpu, status = timed(who[name], path, args.requests, args.warmup)
            p95 = percentile(wall, 95)
            worst = max(worst, p95)
            print(f"{name:<10} {path:<42} {status:>6} {percentile(wall, 50):7.1f} {p95:7.1f} {max(wall):7.1f} "
                  f"{percentile(cpu, 50):8.1f}")
        print(f"\np95 worst {worst:.1f} ms: {'within' if worst < TARGET_MS else 'OVER'} the {TARGET_MS:.0f} ms target")
        system.close()


if __name__ == "__main__":
    main()
