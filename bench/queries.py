"""p50 / p95 of every read path of the application layer, at growing numbers of cases.

    python bench/queries.py [--sizes 10000,100000,1000000 | --cases N] [--database-url URL]
                            [--seeded] [--store PATTERN] [--requests 40] [--warmup 5] [--explain]
                            [--paths WORD,WORD] [--interleave]

Each size gets a store of that many cases of the bundled processes, filled by bench/seed_cases.py's
fill_store (a county of 20 towns × 15 villages, about 96 % closed), or, with --seeded, the store at
--database-url as it is (already filled, e.g. by bench/seed.py: nothing is seeded); with several
--sizes, `{n}` in that URL stands for the size (e.g. postgresql+psycopg://…/q{n}, one database per
size), so seeded PostgreSQL stores are compared in one run, --interleave too.
--store PATTERN keeps the SQLite stores (PATTERN with `{n}` for the size, e.g. /tmp/q{n}.db) and
reuses them on the next run; a PostgreSQL --database-url without --seeded gets a schema of its own
per size, dropped afterwards.

For every path it times REQUESTS calls of the use case (after WARMUP), cycling over a few
arguments chosen from the store (the busiest village mediator, a town's petition office, cases of
the mediator's village, names, phones and numbers of real cases), on the real clock, and prints
p50 / p95 in ms (wall clock, and beside it this process's CPU time, the steadier figure on a
shared machine); at the end, when more than one size ran, each path's p95 at each size and its growth
from the smallest size to the largest. Targets (issue 12): p95 under 200 ms on SQLite and 100 ms on
PostgreSQL at 1,000,000 cases, and growth of at most 2× from 10,000 to 1,000,000.

A paged list answers more rows in a bigger store (a village mediator has 9 tasks at 10,000 cases and a
full page of 50 at 1,000,000), so its raw growth compares different work. Each path's most rows at the
smallest size are kept; at a larger size a path that answered more is timed again with its page size
set to that many (`limit`, `per_page`, where the use case takes one), printed under it as "at N rows",
and the end gives a second table, the growth at equal rows: the figure to hold against the growth
target (the raw one stays, for what a user's full page costs).

On SQLite each call's database work is counted too: the instructions its virtual machine runs (a
progress handler every 100 on each read connection), printed as "kVM p50" (thousands). Unlike wall
and CPU time, no load of the machine changes it; a last table gives each path's CPU p50 and VM
instructions by size (at equal rows) with their growth, to tell a wall p95 near 2× made of the
machine's load from work that grows with the store.

--interleave opens every size's store at once and sends each request of a path to every size in turn
(the first size of each round rotating), so that the machine's load, which moves within a run, weighs
on every size alike; without it each size is timed after the other.

--explain prints the statements of one call of each path with their plans (as bench/pages.py).
--paths times only the paths whose label contains one of the comma-separated words (e.g. dashboard).
"""
from __future__ import annotations

import argparse
import functools
import gc
import random
import sys
import tempfile
import time
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sqlalchemy import event, func, select  # noqa: E402

from engine.accounts import actor_of  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.store import Case, HumanTask, LedgerEntry, User  # noqa: E402
from engine.system import settle_heap  # noqa: E402
from fresh_store import fresh_store  # noqa: E402
from pages import explain, percentile  # noqa: E402
from seed_cases import BPMN, fill_store  # noqa: E402
from usecases import Services  # noqa: E402
from workflows import build_system  # noqa: E402

TARGET_MS = {"sqlite": 200.0, "postgresql": 100.0}
GROWTH = 2.0


def _write(message: str) -> None:
    sys.stdout.write(message)
    sys.stdout.flush()


# ------------------------------------------------------------------------------------ the store
def seed(url: str, settings: dict, cases: int, seed_value: int) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    seeder = build_system(Settings(simulated_clock=True, **settings))
    seeder.upgrade()
    seeder.clock.set(now)
    seeder.services = Services(seeder)
    _write(f"{url.split(':', 1)[0]}: filling a county with {cases} cases\n")
    started = time.perf_counter()
    fill_store(seeder, cases, now, seed=seed_value)
    seeder.optimize()
    _write(f"\n  filled in {time.perf_counter() - started:.0f} s\n")
    seeder.clock.reset()
    seeder.close()


@contextmanager
def store_for(args, size: int, tmp: Path):
    """(url, whether to fill it) for one size."""
    if args.seeded:
        yield args.database_url.replace("{n}", str(size)), False
    elif args.store:
        path = Path(args.store.replace("{n}", str(size))).resolve()
        yield f"sqlite:///{path}", not (path.exists() and path.stat().st_size > 0)
    else:
        with fresh_store(args.database_url, tmp, f"queries{size}") as url:
            yield url, True


# ------------------------------------------------------------------------------------ the paths
def _actor(session, username: str):
    user = session.scalar(select(User).where(User.username == username))
    return actor_of(user) if user is not None else None


def _page(result):
    """Items of a use case's answer, whatever its shape (a list, (items, next), a page object, a dict)."""
    if isinstance(result, tuple):
        result = result[0]
    if isinstance(result, dict):
        result = result.get("items", result.get("cases", result))
    items = getattr(result, "items", result)
    return len(items) if isinstance(items, (list, tuple)) else 1


def _people(data) -> list[dict]:
    return list((data or {}).get("parties") or (data or {}).get("petitioners") or [])


def paths_of(system, services) -> list[tuple[str, object, list, object]]:
    """(label, call, arguments, limited) of every read path timed; `limited(argument, n)` is the call
    with its page size set to n (None where the use case takes no page size)."""
    with system.db.read() as s:
        busiest = s.execute(select(HumanTask.org_unit, func.count()).where(
            HumanTask.status == "ready", HumanTask.level == "village", HumanTask.role == "mediator")
            .group_by(HumanTask.org_unit).order_by(func.count().desc(), HumanTask.org_unit).limit(1)).first()
        village = busiest[0] if busiest else "vil0101"
        town = "twn" + village[3:5]
        users = {name: _actor(s, name) for name in (
            f"med_{village}", f"med_{town}", f"pet_{town}", "pet_cty1", "med_cty1", f"jus_{town}", "jus_cty",
            "lead_cty1", "auditor_cty")}
        cases = list(s.execute(select(Case.id, Case.number, Case.data).where(Case.jurisdiction == village)
                               .order_by(Case.id.desc()).limit(10)))
        recent = list(s.execute(select(Case.number, Case.data).order_by(Case.id.desc()).limit(200)))
    rng = random.Random(7)
    names = [p["name"] for _n, data in recent for p in _people(data) if p.get("name")]
    two = [n[:2] for n in names] or ["张伟"]
    three = [n for n in names if len(n) == 3] or names or ["张小伟"]
    phones = [p["phone"] for _n, data in recent for p in _people(data) if p.get("phone")] or ["13800000000"]
    numbers = [n for n, _d in recent]
    rng.shuffle(two), rng.shuffle(three), rng.shuffle(phones), rng.shuffle(numbers)
    case_ids = [c.id for c in cases]
    u = users
    mediator, county = u[f"med_{village}"], u["pet_cty1"]
    t, c, p, sub, d, a, lead = (services.tasks, services.cases, services.petitions, services.subsidies,
                                services.dashboard, services.audit, services.leader)
    found = [
        ("worklist, village mediator", lambda who: t.worklist_after(who), [mediator],
         lambda who, n: t.worklist_after(who, limit=n)),
        ("worklist page, village mediator", lambda who: t.worklist_page(who), [mediator],
         lambda who, n: t.worklist_page(who, per_page=n)),
        ("worklist, town mediator", lambda who: t.worklist_after(who), [u[f"med_{town}"]],
         lambda who, n: t.worklist_after(who, limit=n)),
        ("worklist, town petition office", lambda who: t.worklist_after(who), [u[f"pet_{town}"]],
         lambda who, n: t.worklist_after(who, limit=n)),
        ("worklist, county petition bureau", lambda who: t.worklist_after(who), [county],
         lambda who, n: t.worklist_after(who, limit=n)),
        ("worklist, county mediator", lambda who: t.worklist_after(who), [u["med_cty1"]],
         lambda who, n: t.worklist_after(who, limit=n)),
        ("cases list, village mediator", lambda who: c.search(who), [mediator],
         lambda who, n: c.search(who, limit=n)),
        ("cases list, county", lambda who: c.search(who), [county],
         lambda who, n: c.search(who, limit=n)),
        ("search 2-char name, village", lambda q: c.search(mediator, q=q), two[:8],
         lambda q, n: c.search(mediator, q=q, limit=n)),
        ("search 2-char name, county", lambda q: c.search(county, q=q), two[:8],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search 3-char name, county", lambda q: c.search(county, q=q), three[:8],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search phone, county", lambda q: c.search(county, q=q), phones[:8],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search number, county", lambda q: c.search(county, q=q), numbers[:8],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search number tail, county", lambda q: c.search(county, q=q), [n[-6:] for n in numbers[:8]],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search summary word, county", lambda q: c.search(county, q=q), ["宅基地", "工资", "纠纷", "土地承包"],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("search absent word, county", lambda q: c.search(county, q=q), ["不存在的词", "火星"],
         lambda q, n: c.search(county, q=q, limit=n)),
        ("overdue list, town", lambda who: c.search(who, overdue=True), [u[f"pet_{town}"]],
         lambda who, n: c.search(who, overdue=True, limit=n)),
        ("overdue list, county", lambda who: c.search(who, overdue=True), [county],
         lambda who, n: c.search(who, overdue=True, limit=n)),
        ("case view", lambda i: c.get(mediator, i), case_ids,
         None),
        ("case history", lambda i: c.history(mediator, i), case_ids,
         None),
        ("petition board, county", lambda who: p.board(who), [county],
         None),
        ("petition board, town", lambda who: p.board(who), [u[f"pet_{town}"]],
         None),
        ("leader's cases", lambda who: lead.owned(who), [u["lead_cty1"]],
         lambda who, n: lead.owned(who, per_page=n)),
        ("ledger list, town office", lambda who: sub.list(who), [u[f"jus_{town}"]],
         lambda who, n: sub.list(who, limit=n)),
        ("ledger list accrued, town", lambda who: sub.list(who, status="accrued"), [u[f"jus_{town}"]],
         lambda who, n: sub.list(who, status="accrued", limit=n)),
        ("ledger list, county", lambda who: sub.list(who), [u["jus_cty"]],
         lambda who, n: sub.list(who, limit=n)),
        ("ledger report, county", lambda who: sub.ledger_report(who), [u["jus_cty"]],
         None),
        ("dashboard figures, county", lambda who: d.figures(who), [u["lead_cty1"]],
         None),
        ("dashboard figures, town", lambda who: d.figures(who, unit=town), [u["lead_cty1"]],
         None),
        ("audit search by name", lambda q: a.search(u["auditor_cty"], party=q), three[:8],
         lambda q, n: a.search(u["auditor_cty"], party=q, limit=n)),
        ("audit search by 2-char name", lambda q: a.search(u["auditor_cty"], party=q), two[:8],
         lambda q, n: a.search(u["auditor_cty"], party=q, limit=n)),
        ("audit search by number tail", lambda q: a.search(u["auditor_cty"], number=q), [n[-6:] for n in numbers[:8]],
         lambda q, n: a.search(u["auditor_cty"], number=q, limit=n)),
        ("audit search, all", lambda _q: a.search(u["auditor_cty"]), [None],
         lambda _q, n: a.search(u["auditor_cty"], limit=n)),
    ]
    return [(label, call, args, limited) for label, call, args, limited in found
            if args and all(x is not None for x in args)]


STEP_EVERY = 100  # SQLite: the progress handler counts the virtual machine's instructions in hundreds
_steps = [0]


def _count_step() -> int:
    _steps[0] += 1
    return 0  # go on


def count_steps(system) -> bool:
    """SQLite: count the instructions the database's virtual machine runs for this process's reads (a
    progress handler on each read connection as it is checked out): the database's work, which the
    machine's load does not change. False (nothing counted) on PostgreSQL."""
    if system.db.is_postgres:
        return False

    @event.listens_for(system.db.read_engine, "checkout")
    def _on_checkout(dbapi_connection, _record, _proxy):
        dbapi_connection.set_progress_handler(_count_step, STEP_EVERY)

    return True


def _one(call, argument) -> tuple[float, float, float, int]:
    """(wall ms, cpu ms, thousands of SQLite VM instructions, rows) of one call."""
    started, used, counted = time.perf_counter(), time.process_time(), _steps[0]
    answer = call(argument)
    cpu = (time.process_time() - used) * 1000
    wall = (time.perf_counter() - started) * 1000
    return wall, cpu, (_steps[0] - counted) * STEP_EVERY / 1000, _page(answer)


def _stats(samples):
    """(wall p50, wall p95, cpu p50, cpu p95, fewest rows, most rows, thousands of SQLite VM
    instructions p50) of the samples of _one."""
    wall, cpu, steps, sizes = zip(*samples)
    return (percentile(wall, 50), percentile(wall, 95), percentile(cpu, 50), percentile(cpu, 95),
            min(sizes), max(sizes), percentile(steps, 50))


def _time(call, args, requests: int, warmup: int):
    """_stats of REQUESTS calls (after WARMUP), cycling over the arguments."""
    for i in range(warmup):
        call(args[i % len(args)])
    return _stats([_one(call, args[i % len(args)]) for i in range(requests)])


def _line(label, p50, p95, c50, c95, fewest, most, k50, steps: bool) -> None:
    counted = f"{k50:9.1f}" if steps else ""
    _write(f"{label:<36}{p50:8.1f}{p95:8.1f}{c50:8.1f}{c95:8.1f}{counted}   {fewest}–{most} rows\n")


def time_interleaved(paths: dict[int, list], requests: int, warmup: int, steps: bool
                     ) -> tuple[dict[int, dict[str, tuple]], dict[int, dict[str, tuple]]]:
    """time_paths of every size at once (`paths`: each size's paths, its store open): each request of
    a path goes to every size in turn (the first size of each round rotating), so that a change of the
    machine's load in the run weighs on every size alike instead of on the size timed then. The same
    for the paths at equal rows. Returns (table, equal) by size, as time_paths does for one."""
    sizes = list(paths)
    table = {n: {} for n in sizes}
    equal = {n: {} for n in sizes}
    by_label = {n: {p[0]: p for p in paths[n]} for n in sizes}

    def rounds(calls: dict[int, tuple]) -> dict[int, list]:
        for n, (call, args) in calls.items():
            for i in range(warmup):
                call(args[i % len(args)])
        samples = {n: [] for n in calls}
        order = list(calls)
        for i in range(requests):
            for n in order[i % len(order):] + order[:i % len(order)]:
                call, args = calls[n]
                samples[n].append(_one(call, args[i % len(args)]))
        return samples

    for label, *_rest in paths[sizes[0]]:
        present = [n for n in sizes if label in by_label[n]]
        try:
            samples = rounds({n: by_label[n][label][1:3] for n in present})
            first_most = None
            for n in present:
                p50, p95, c50, c95, fewest, most, k50 = _stats(samples[n])
                table[n][label] = (p50, p95, f"{fewest}–{most} rows", most, c50, k50)
                first_most = most if first_most is None else first_most
                _line(f"{label} @{n}", p50, p95, c50, c95, fewest, most, k50, steps)
            wider = {n: by_label[n][label] for n in present[1:]
                     if table[n][label][3] > first_most and by_label[n][label][3] is not None}
            if wider:
                k = max(first_most, 1)
                samples = rounds({n: (lambda x, f=path[3], k=k: f(x, k), path[2]) for n, path in wider.items()})
                for n in wider:
                    p50, p95, c50, c95, fewest, most, k50 = _stats(samples[n])
                    equal[n][label] = (p50, p95, k, c50, k50)
                    _line(f"  at {k} rows @{n}", p50, p95, c50, c95, fewest, most, k50, steps)
        except Exception as exc:  # noqa: BLE001 -- a path this store or code lacks: say so, time the rest
            _write(f"{label:<36} not timed: {type(exc).__name__}: {str(exc)[:100]}\n")
    return table, equal


def time_paths(paths, requests: int, warmup: int, rows_at_first: dict[str, int] | None = None,
               steps: bool = False) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Each path's (p50, p95, rows said, most rows, cpu p50, VM steps p50); and, where `rows_at_first`
    (each path's most rows at the smallest size) is given and this size gives more, the path again with
    its page size set to that many rows: (p50, p95, rows, cpu p50, VM steps p50), the figure at equal
    rows. `steps`: print the thousands of SQLite VM instructions a call (count_steps)."""
    results, equal = {}, {}
    line = functools.partial(_line, steps=steps)

    for label, call, args, limited in paths:
        try:
            p50, p95, c50, c95, fewest, most, k50 = _time(call, args, requests, warmup)
            results[label] = (p50, p95, f"{fewest}–{most} rows", most, c50, k50)
            line(label, p50, p95, c50, c95, fewest, most, k50)
            first = (rows_at_first or {}).get(label)
            if limited is not None and first is not None and most > first:
                n = max(first, 1)
                p50, p95, c50, c95, fewest, most, k50 = _time(lambda x, f=limited, k=n: f(x, k), args, requests,
                                                              warmup)
                equal[label] = (p50, p95, n, c50, k50)
                line(f"  at {n} rows", p50, p95, c50, c95, fewest, most, k50)
        except Exception as exc:  # noqa: BLE001 -- a path this store or code lacks: say so, time the rest
            _write(f"{label:<36} not timed: {type(exc).__name__}: {str(exc)[:100]}\n")
            continue
    return results, equal


def work_table(table: dict, equal: dict, sizes: list[int], steps: bool) -> None:
    """The work of each path by size, at equal rows where its page grew: CPU p50 (this process's time,
    which on SQLite holds the database's work) and, on SQLite, the thousands of VM instructions a call
    (p50), with the growth of each from the smallest size: what a wall p95 near 2× is made of, apart
    from the machine's load."""
    first, last = sizes[0], sizes[-1]
    _write(f"\nwork by size, at equal rows: cpu p50 (ms){' and SQLite VM instructions (thousands, p50)' if steps else ''}"
           f", growth from {first} to {last}\n")
    _write(f"{'path':<36}" + "".join(f"{n:>8}" for n in sizes) + f"{'growth':>8}"
           + ("".join(f"{'kVM ' + (f'{n // 1000}k' if n >= 1000 else str(n)):>10}" for n in sizes) + f"{'growth':>8}" if steps else "")
           + "\n")

    def growth(row):
        return f"{row[-1] / row[0]:7.1f}×" if row[0] and row[-1] is not None else f"{'-':>8}"

    for label in table[first]:
        rows = [table[first][label]] + [table[n].get(label) for n in sizes[1:]]
        at = [None] + [equal[n].get(label) for n in sizes[1:]]
        cpu = [(a[3] if a else (r[4] if r else None)) for r, a in zip(rows, at)]
        vm = [(a[4] if a else (r[5] if r else None)) for r, a in zip(rows, at)]
        cells = "".join(f"{v:8.1f}" if v is not None else f"{'-':>8}" for v in cpu) + growth(cpu)
        if steps:
            cells += "".join(f"{v:10.1f}" if v is not None else f"{'-':>10}" for v in vm) + growth(vm)
        _write(f"{label:<36}{cells}\n")


def open_store(args, size: int, stack: ExitStack, words: list[str]):
    """(system, its paths (those whose label holds one of `words`, or all), whether SQLite VM
    instructions are counted) of one size's store, filled first if new; closed with `stack`."""
    tmp = stack.enter_context(tempfile.TemporaryDirectory())
    url, fill = stack.enter_context(store_for(args, size, Path(tmp)))
    settings = {"database_url": url, "bpmn_dir": BPMN, "notification_log": Path(tmp) / "n.log"}
    if fill:
        seed(url, settings, size, args.seed)
    system = build_system(Settings(simulated_clock=False, **settings))
    stack.callback(system.close)
    system.upgrade()
    system.services = Services(system)
    dialect = "postgresql" if system.db.is_postgres else "sqlite"
    steps = count_steps(system)
    with system.db.read() as s:
        total = s.scalar(select(func.count()).select_from(Case))
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
    _write(f"\n{dialect}, {total} cases, {entries} ledger entries; {args.requests} calls each (ms)\n")
    paths = paths_of(system, system.services)
    if words:
        paths = [p for p in paths if any(w in p[0] for w in words)]
    return system, paths, steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=None, help="comma-separated numbers of cases (default: --cases)")
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: SQLite files in a temporary directory")
    parser.add_argument("--seeded", action="store_true", help="measure --database-url's store as it is")
    parser.add_argument("--store", help="SQLite: keep the stores in files named PATTERN ({n}: the size)")
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--paths", help="only the paths whose label contains one of these comma-separated words")
    parser.add_argument("--interleave", action="store_true",
                        help="every size's store open at once, each request to every size in turn")
    args = parser.parse_args()
    sizes = [int(x) for x in (args.sizes or str(args.cases)).split(",") if x.strip()]
    if args.interleave and (args.explain or len(sizes) < 2):
        parser.error("--interleave times two sizes or more, and not with --explain")
    if args.seeded and (not args.database_url or (len(sizes) > 1 and "{n}" not in args.database_url)):
        parser.error("--seeded measures stores as they are: give their --database-url, with {n} for the size "
                     "when there are several --sizes")
    if args.store and args.database_url:
        parser.error("--store is for SQLite")
    if any(n < 400 for n in sizes) and not args.seeded:
        parser.error("each size must be at least 400 cases (the templates alone are a few hundred)")

    table: dict[int, dict[str, tuple]] = {}
    equal: dict[int, dict[str, tuple]] = {}
    words = [w.strip() for w in (args.paths or "").split(",") if w.strip()]
    dialect, steps = "sqlite", False
    if args.interleave:
        with ExitStack() as stack:
            opened = {}
            for size in sizes:
                system, paths, steps = open_store(args, size, stack, words)
                dialect = "postgresql" if system.db.is_postgres else "sqlite"
                opened[size] = paths
            settle_heap()  # as `fengqiao serve` does once it has built what it keeps
            _write(f"\ninterleaved: each request to every size in turn; {args.requests} calls each (ms)\n"
                   f"{'path @ size':<36}{'p50':>8}{'p95':>8}{'cpu p50':>8}{'cpu p95':>8}"
                   f"{'kVM p50' if steps else '':>9}\n")
            table, equal = time_interleaved(opened, args.requests, args.warmup, steps)
        gc.unfreeze()
    for size in ([] if args.interleave else sizes):
        with ExitStack() as stack:
            system, paths, steps = open_store(args, size, stack, words)
            dialect = "postgresql" if system.db.is_postgres else "sqlite"
            _write(f"{'path':<36}{'p50':>8}{'p95':>8}{'cpu p50':>8}{'cpu p95':>8}"
                   f"{'kVM p50' if steps else '':>9}\n")
            settle_heap()  # as `fengqiao serve` does once it has built what it keeps
            first = {label: row[3] for label, row in table[sizes[0]].items()} if table else None
            table[size], equal[size] = time_paths(paths, args.requests, args.warmup, first, steps)
            if args.explain:
                explain(system, [(label, call, arguments) for label, call, arguments, _l in paths])
        gc.unfreeze()  # the next size's store settles its own

    target = TARGET_MS[dialect]
    if len(sizes) > 1:
        first, last = sizes[0], sizes[-1]
        _write(f"\np95 (ms) by size, and growth from {first} to {last} cases ({dialect}; target p95 < "
               f"{target:.0f} ms, growth ≤ {GROWTH:.0f}×)\n")
        _write(f"{'path':<36}" + "".join(f"{n:>10}" for n in sizes) + f"{'growth':>9}\n")
        for label in table[first]:
            row = [table[n].get(label, (None, None, "", 0))[1] for n in sizes]
            cells = "".join(f"{v:10.1f}" if v is not None else f"{'-':>10}" for v in row)
            growth = row[-1] / row[0] if row[0] and row[-1] is not None else None
            flags = []
            if row[-1] is not None and row[-1] >= target:
                flags.append("over target")
            if growth is not None and growth > GROWTH:
                flags.append("grows")
            _write(f"{label:<36}{cells}{(f'{growth:8.1f}×' if growth is not None else '        -')}"
                   f"  {', '.join(flags)}\n")
        _write(f"\nat equal rows: each path whose page grew, timed at larger sizes with its page size set to "
               f"its rows at {first} (p95 ms; growth from {first})\n")
        _write(f"{'path':<36}{'rows':>6}" + "".join(f"{n:>10}" for n in sizes) + f"{'growth':>9}\n")
        for label in table[first]:
            if not any(label in equal[n] for n in sizes[1:]):
                continue
            row = [table[first][label][1]] + [equal[n].get(label, table[n].get(label, (None, None)))[1]
                                              for n in sizes[1:]]
            cells = "".join(f"{v:10.1f}" if v is not None else f"{'-':>10}" for v in row)
            growth = row[-1] / row[0] if row[0] and row[-1] is not None else None
            flag = "  grows" if growth is not None and growth > GROWTH else ""
            _write(f"{label:<36}{table[first][label][3]:6d}{cells}"
                   f"{(f'{growth:8.1f}×' if growth is not None else '        -')}{flag}\n")
        work_table(table, equal, sizes, steps)
    else:
        over = [label for label, (_p50, p95, *_rest) in table[sizes[0]].items() if p95 >= target]
        _write(f"\n{len(over)} paths at or over the {target:.0f} ms p95 target{': ' + ', '.join(over) if over else ''}\n")


if __name__ == "__main__":
    main()
