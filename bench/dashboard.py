"""What the county dashboard and the subsidy review pages cost the server in a store of 100,000 cases.

    python bench/dashboard.py [--cases 100000] [--database-url URL] [--requests 100] [--warmup 10]
                              [--store FILE] [--seed N]

Fills a fresh store as bench/pages.py does (bench/seed_cases.py: a county of 20 towns × 15 villages,
a few hundred cases worked through the application layer over 18 months, the rest copied in bulk,
about 96 % closed, with their ledger entries), or reuses the SQLite file of --store. Then, on the
real clock, it times through Flask's test client, signed in through /login:

- `GET /dashboard` as the county justice bureau (`jus_cty`: the whole county, by town) and as a town's
  justice office (`jus_twn03`: one town, by village), with the default range (twelve months);
- `GET /dashboard?unit=…` for one town as the county sees it;
- `GET /api/v1/dashboard` is the same use case and is not timed apart;
- `GET /subsidies` (the queue) and `GET /subsidies?entry=…` (an entry with its case file beside it)
  as the county bureau and as the town office.

It prints p50 / p95 / max in ms per path and the process's CPU time per request. Target: p95 under
500 ms for /dashboard on SQLite at 100,000 cases.
"""
from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import Browser, percentile, seed, store_url
from seed_cases import BPMN

from engine.config import Settings
from usecases import Services
from workflows import build_system

TARGET_MS = 500.0


def timed(browser, path: str, requests: int, warmup: int) -> tuple[list[float], list[float], int]:
    for _ in range(warmup):
        browser.get(path)
    wall, cpu, status = [], [], 0
    for _ in range(requests):
        t0, c0 = time.perf_counter(), time.process_time()
        response = browser.get(path)
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
        status = response.status_code
    return wall, cpu, status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
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
        system.upgrade()  # a kept store filled by an older revision gets the dashboard's indexes
        services = Services(system)
        system.services = services
        from web.app import create_app
        app = create_app(services=services)
        county, town = Browser(app, "jus_cty"), Browser(app, "jus_twn03")
        queue = county.get("/subsidies").get_data(as_text=True)
        entry = re.search(r"/subsidies\?status=\w+&amp;entry=(\d+)", queue)
        town_queue = town.get("/subsidies").get_data(as_text=True)
        town_entry = re.search(r"/subsidies\?status=\w+&amp;entry=(\d+)", town_queue)
        paths = [("county", county, "/dashboard"), ("town", town, "/dashboard"),
                 ("county", county, "/dashboard?unit=twn05"),
                 ("county", county, "/subsidies"), ("town", town, "/subsidies")]
        if entry:
            paths.append(("county", county, f"/subsidies?entry={entry.group(1)}"))
        if town_entry:
            paths.append(("town", town, f"/subsidies?entry={town_entry.group(1)}"))
        print(f"\n{args.requests} requests each after {args.warmup} warm-up requests; ms")
        print(f"{'who':<7} {'path':<32} {'status':>6} {'p50':>7} {'p95':>7} {'max':>7} {'cpu p50':>8}")
        worst = 0.0
        for who, browser, path in paths:
            wall, cpu, status = timed(browser, path, args.requests, args.warmup)
            p95 = percentile(wall, 95)
            if path.startswith("/dashboard"):
                worst = max(worst, p95)
            print(f"{who:<7} {path:<32} {status:>6} {percentile(wall, 50):7.1f} {p95:7.1f} {max(wall):7.1f} "
                  f"{percentile(cpu, 50):8.1f}")
        print(f"\n/dashboard p95 worst {worst:.1f} ms: {'within' if worst < TARGET_MS else 'OVER'} the "
              f"{TARGET_MS:.0f} ms target")
        system.close()


if __name__ == "__main__":
    main()
