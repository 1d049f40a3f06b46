"""What the auditors' pages cost the server in a county store of 100,000 cases.

    python bench/audit_pages.py [--cases 100000] [--database-url URL] [--store FILE] [--requests 200]
                                [--warmup 20] [--ledger-rows 100000] [--seed N] [--chunk 2000]
                                [--searches-only | --exports-only]

Fills a fresh store as bench/pages.py does (bench/seed_cases.py: 100,000 cases of the bundled
processes in a county of 20 towns × 15 villages, 96 % closed, with their ledger entries and re-chained
histories; --store FILE keeps a SQLite store and reuses it), then tops the subsidy ledger up to
LEDGER_ROWS entries by copying entries (each with its status row) onto other closed cases.

Then, on the real clock and through Flask's test client signed in as the county's auditor, it times
the search page (`GET /audit`) over a mix of searches an auditor makes — everything newest first, a
party's name, a whole phone number, a category, a town, an outcome with a date range, open cases, part
of a case number, and a page further on — REQUESTS requests after WARMUP, and prints p50 / p95 / max
per search and for the mix. Target: p95 under 500 ms on SQLite.

Before that (while the process is fresh), it downloads `GET /audit/ledger.xlsx` (every entry: LEDGER_ROWS rows), reading the streamed
body chunk by chunk and writing it to a temporary file as a browser saves a download, and prints the
wall time and this process's CPU time (another process may be busy on the machine: the CPU time is
the export's own cost), when the first byte came, the longest silence between two chunks (what a
proxy's read timeout, often 60 s, sees), the size, and how much the process's resident memory grew:
the peak (VmHWM, reset before the export through /proc/self/clear_refs) minus the resident size
before it. Target: under 100 MB. The same for the CSV of the ledger and the XLSX of every case found
by the search. Each XLSX is then opened with openpyxl (read-only) to count its rows.
"""
from __future__ import annotations

import argparse
import io
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from pages import Browser, percentile, seed, store_url
from seed_cases import BPMN
from sqlalchemy import func, insert, select

from engine import ledger
from engine.config import Settings
from engine.store import Case, LedgerEntry, LedgerEvent
from usecases import Services
from workflows import build_system

TARGET_MS = 500.0
TARGET_MB = 100.0
SILENCE_S = 60.0
AUDITOR = "auditor_cty"


# ------------------------------------------------------------------------------------ the ledger
def top_up_ledger(system, rows: int, rng: random.Random, chunk: int = 5000) -> int:
    """Copy ledger entries (each with its newest status row) onto other closed cases of the same
    unit until the ledger holds `rows` entries; returns how many were added."""
    with system.db.read() as s:
        have = s.scalar(select(func.count()).select_from(LedgerEntry)) or 0
        if have >= rows:
            return 0
        entries = s.execute(select(LedgerEntry.__table__)).mappings().all()
        closed = s.scalars(select(Case.id).where(Case.status == "closed", Case.type == "mediation")).all()
    added, next_id = 0, max(e["id"] for e in entries) + 1
    while have + added < rows:
        batch_entries, batch_events = [], []
        for _ in range(min(chunk, rows - have - added)):
            source = dict(rng.choice(entries))
            source.update(id=next_id, case_id=rng.choice(closed))
            batch_entries.append(source)
            batch_events.append({"entry_id": next_id, "status": rng.choice(("accrued", "reviewed", "approved", "paid")),
                                 "at": source["created_at"], "actor": "system", "reason": "",
                                 "batch": None})
            next_id += 1
        with system.db.write() as s:
            s.execute(insert(LedgerEntry), batch_entries)
            s.execute(insert(LedgerEvent), batch_events)
        added += len(batch_entries)
    if added:
        ledger.rebuild_tally(system.db)  # the copies went in without the ledger's kept totals
    return added


# ------------------------------------------------------------------------------------ the searches
def searches(system, rng: random.Random) -> dict[str, str]:
    """Searches an auditor makes, with values taken from the store."""
    with system.db.read() as s:
        sample = s.execute(select(Case.number, Case.data, Case.created_at).where(Case.type == "mediation")
                           .order_by(Case.id).offset(rng.randint(1000, 50000)).limit(1)).one()
    party = next(p for p in sample.data["parties"] if p.get("name"))
    phone = next((p["phone"] for p in sample.data["parties"] if p.get("phone")), None)
    day = sample.created_at.date().isoformat()
    found = {
        "everything, newest first": "/audit",
        "a party's name": f"/audit?party={party['name']}",
        "a category": "/audit?category=labour",
        "a town (and its villages)": "/audit?unit=twn07",
        "an outcome and a date range": f"/audit?outcome=resolved_village&registered_from={day[:8]}01&registered_to={day}",
        "open cases": "/audit?status=open",
        "part of a case number": f"/audit?number={sample.number[-7:-1]}",
    }
    if phone:
        found["a whole phone number"] = f"/audit?party={phone}"
    return found


def next_page(browser, path: str) -> str:
    body = browser.get(path).get_data(as_text=True)
    after = re.search(r'href="(/audit\?[^"]*after=\d+)"', body)
    return after.group(1).replace("&amp;", "&") if after else path


def time_searches(browser, paths: dict[str, str], requests: int, warmup: int) -> float:
    labels = list(paths)
    for i in range(warmup):
        browser.get(paths[labels[i % len(labels)]])
    times: dict[str, list[float]] = defaultdict(list)
    answers: dict[str, str] = {}
    for i in range(requests):
        label = labels[i % len(labels)]
        started = time.perf_counter()
        response = browser.get(paths[label])
        body = response.get_data(as_text=True)
        times[label].append((time.perf_counter() - started) * 1000)
        found = re.search(r"符合条件的案件(?:共|超过) ([\d,]+) 件", body)
        answers[label] = f"{response.status_code}, {found.group(1) if found else '?'} found"
    print(f"{'GET /audit: search (ms)':<36}{'p50':>7}{'p95':>7}{'max':>7}   answered")
    every = []
    for label in labels:
        values = times[label]
        every += values
        print(f"{label:<36}{percentile(values, 50):7.1f}{percentile(values, 95):7.1f}{max(values):7.1f}   "
              f"{answers[label]}")
    p95 = percentile(every, 95)
    print(f"{'the mix of all of them':<36}{percentile(every, 50):7.1f}{p95:7.1f}{max(every):7.1f}   "
          f"{len(every)} requests{'' if p95 < TARGET_MS else f'  over the {TARGET_MS:.0f} ms target'}")
    return p95


# ------------------------------------------------------------------------------------ exports and memory
def _status(field: str) -> int:
    """kB of /proc/self/status's VmRSS or VmHWM."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"^{field}:\s+(\d+) kB", text, re.MULTILINE).group(1))


@dataclass
class Exported:
    seconds: float  # wall time, the whole body read
    cpu: float  # this process's CPU time meanwhile (the machine may be busy with others)
    first_byte: float  # seconds until the first chunk
    longest_silence: float  # the longest wait between two chunks: what a proxy's read timeout sees
    size: int
    grown: float  # MB of peak resident growth
    data: bytes | None  # the file if it is an XLSX
    first: bytes


def export(browser, path: str) -> Exported:
    import gc
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from now
    before = _status("VmRSS")
    started, cpu = time.perf_counter(), time.process_time()
    response = browser.client.get(path, buffered=False)
    size, first, first_at, silence, last = 0, b"", None, 0.0, started
    spool = tempfile.TemporaryFile() if path.split("?")[0].endswith(".xlsx") else None  # noqa: SIM115 - closed below
    for chunk in response.response:
        now = time.perf_counter()
        silence, last = max(silence, now - last), now
        if not chunk:
            continue
        size += len(chunk)
        if not first:
            first, first_at = bytes(chunk[:200]), now - started
        if spool is not None:
            spool.write(chunk)  # to disk, as a browser saves a download
    response.close()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    grown = (_status("VmHWM") - before) / 1024
    data = None
    if spool is not None:
        spool.seek(0)
        data = spool.read()
        spool.close()
    return Exported(seconds, cpu, first_at or seconds, silence, size, grown, data, first)


def xlsx_row_count(data: bytes) -> int:
    from openpyxl import load_workbook
    book = load_workbook(io.BytesIO(data), read_only=True)
    return sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))


def time_exports(browser, system, search_all: str) -> float:
    with system.db.read() as s:
        entries = s.scalar(select(func.count()).select_from(LedgerEntry))
        cases = s.scalar(select(func.count()).select_from(Case))
    print(f"\n{'export':<44}{'wall s':>7}{'CPU s':>7}{'1st byte s':>11}{'max gap s':>10}{'MiB':>7}"
          f"{'RSS peak growth':>17}")
    growth = {}
    for label, path, rows in (("GET /audit/ledger.xlsx", "/audit/ledger.xlsx", entries),
                              ("GET /audit/ledger.csv", "/audit/ledger.csv", entries),
                              ("GET /audit/cases.xlsx (every case)", search_all.replace("/audit", "/audit/cases.xlsx", 1),
                               cases)):
        done = export(browser, path)
        growth[label] = done.grown
        bom = "UTF-8 with its BOM" if done.first.startswith("\ufeff".encode()) else "no BOM"
        counted = f", {xlsx_row_count(done.data) - 1} rows in the file" if done.data else f", {bom}"
        flag = "" if done.grown < TARGET_MB else f"  over the {TARGET_MB:.0f} MB target"
        if done.longest_silence >= SILENCE_S:
            flag += f"  silent for {done.longest_silence:.0f} s (a proxy's timeout is often {SILENCE_S:.0f} s)"
        print(f"{label + f' ({rows} rows)':<44}{done.seconds:7.1f}{done.cpu:7.1f}{done.first_byte:11.2f}"
              f"{done.longest_silence:10.2f}{done.size / 2**20:7.1f}{done.grown:14.1f} MB{counted}{flag}")
    return growth["GET /audit/ledger.xlsx"]


# ------------------------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--store", type=Path, metavar="FILE",
                        help="SQLite: keep the store in FILE, and reuse it when it exists (no filling)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--ledger-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--chunk", type=int, default=2000, help="copies per transaction")
    parser.add_argument("--searches-only", action="store_true", help="time the search page, not the exports")
    parser.add_argument("--exports-only", action="store_true", help="time the exports, not the search page")
    args = parser.parse_args()
    if args.store and args.database_url:
        parser.error("--store is for SQLite; a --database-url store is always filled afresh")

    with tempfile.TemporaryDirectory() as tmp, store_url(args, Path(tmp)) as (url, fill):
        started = time.perf_counter()
        settings = {"database_url": url, "bpmn_dir": BPMN, "notification_log": Path(tmp) / "n.log"}
        if fill:
            seed(url, settings, args)
        else:
            print(f"reusing the store in {args.store.name}")
        system = build_system(Settings(simulated_clock=False, **settings))
        system.upgrade()  # a kept store from before the audit_run table gets it
        system.services = Services(system)
        rng = random.Random(args.seed)
        added = top_up_ledger(system, args.ledger_rows, rng)
        with system.db.read() as s:
            counts = (s.scalar(select(func.count()).select_from(Case)),
                      s.scalar(select(func.count()).select_from(LedgerEntry)))
        print(f"{counts[0]} cases, {counts[1]} ledger entries ({added} copied in now); "
              f"run of {datetime.now(UTC).date().isoformat()}")

        from web.app import create_app
        app = create_app(services=system.services)
        browser = Browser(app, AUDITOR)
        print(f"signed in as {AUDITOR}")
        # The exports first, while the process holds little, so its growth is the export's own.
        grown = None if args.searches_only else time_exports(browser, system, "/audit")
        searched = ""
        if not args.exports_only:
            paths = searches(system, rng)
            paths["the next page of everything"] = next_page(browser, "/audit")
            print()
            p95 = time_searches(browser, paths, args.requests, args.warmup)
            searched = f"search p95 {p95:.0f} ms (target {TARGET_MS:.0f}); "
        system.close()
        exported = "" if grown is None else f"ledger XLSX peak growth {grown:.0f} MB (target {TARGET_MB:.0f}); "
        print(f"\n{searched}{exported}done in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
