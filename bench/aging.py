"""Long-running cases against new ones: command time and stored workflow state after N cycles.

    python bench/aging.py [--cycles 10,60,200] [--samples 12] [--database-url URL]

Two looping cases, each run through N cycles on the simulated clock through the application layer
(`services.tasks.complete`, `services.cases.send_message`: what the REST API calls), the scheduler's
sweep run before every cycle as in production:

- **petition**: an owned petition (领导包案) whose owner files a progress report every 15 days; a cycle is
  the clock moved to the report's due day, the sweep, and the report. The 60-day handling deadline passes
  on the way and opens its 督办 task, as in a real backlog case.
- **dispute**: a dispute whose agreement the court keeps rejecting (驳回) at judicial confirmation; a round
  is mediate (agreement) → judicial_confirmation (applied) → the court's `court_confirmation` (rejected),
  which sends it back to mediation, the clock one day on.

At each N the aged case's next cycles are timed, interleaved with the first cycle of new cases (each
registered just before, at the same simulated time) so that both see the same machine: once with the
workflow cache as a running service has it (the command reuses the live workflow) and once restoring
the workflow from the store at every command (after a restart, on another process, in a sweep). Printed
per N: median milliseconds per command of the aged case and of new ones, and the size of the stored
workflow state (`case_record.state`) of the aged case and of a new one after its first cycle, with the
ratios. Done when, at the largest N, a command is within 1.5x of a new case's and the state within 2x.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fresh_store import fresh_store  # bench/fresh_store.py
from sqlalchemy import func, select

from engine import state_codec
from engine.accounts import actor_of, add_org_unit, add_user
from engine.config import Settings
from engine.definitions import load_directory
from engine.definitions_repo import deploy
from engine.store import Case, CaseEvent, HumanTask
from usecases import CLI, Services
from workflows import build_system

BPMN = ROOT / "bpmn"
UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"))
PEOPLE = {"officer": ("officer1", ["petition_officer"], "qh"), "leader": ("leader_zhao", ["leader"], "qh"),
          "intake": ("intake1", ["intake"], "dz-lc"), "mediator": ("vmed1", ["mediator"], "dz-lc"),
          "court": ("court1", ["court_liaison"], "qh")}
_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def id_number(n: int) -> str:
    """The n-th invented resident ID number (valid check digit): every case has its own petitioner, so
    none is linked to the earlier ones as a repeat petition."""
    body = f"110105{1950 + n // 300:04d}{1 + n // 25 % 12:02d}{1 + n % 25:02d}{n % 1000:03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS)) % 11]


class Bench:
    def __init__(self, url: str, tmp: Path):
        self.system = build_system(Settings(database_url=url, simulated_clock=True, bpmn_dir=BPMN,
                                            notification_log=tmp / "notifications.log"))
        self.system.upgrade()
        self.system.clock.set(datetime(2026, 9, 1, 1, 0, tzinfo=UTC))  # 09:00 in Shanghai, a Tuesday
        with self.system.db.write() as s:
            deploy(s, load_directory(BPMN), now=self.system.clock.now(), actor="bench")
            for code, name, level, parent in UNITS:
                add_org_unit(s, code, name, level, parent)
            self.actors = {key: actor_of(add_user(s, username, roles, unit, "password1", now=self.system.clock.now()))
                           for key, (username, roles, unit) in PEOPLE.items()}
        self.services = Services(self.system)
        self.people = 0

    # ------------------------------------------------------------------ reading the store
    def task(self, case_id: int, name: str):
        with self.system.db.read() as s:
            return s.execute(select(HumanTask.id, HumanTask.due_at).where(
                HumanTask.case_id == case_id, HumanTask.name == name, HumanTask.status == "ready")
                .order_by(HumanTask.id)).first()

    def version(self, case_id: int) -> int:
        with self.system.db.read() as s:
            return s.scalar(select(Case.version).where(Case.id == case_id))

    def state_size(self, case_id: int) -> int:
        with self.system.db.read() as s:
            # the state's JSON (it is stored compressed: engine/state_codec.py), to see whether it grows
            return len(state_codec.decode_json(s.scalar(select(Case.state).where(Case.id == case_id))))

    def events(self, case_id: int) -> int:
        with self.system.db.read() as s:
            return s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == case_id))

    def timed(self, call, restore: bool) -> float:
        if restore:
            self.system.engine.cache.clear()
        started = time.perf_counter()
        call()
        return time.perf_counter() - started

    # ------------------------------------------------------------------ petition: progress reports
    def new_petition(self) -> int:
        self.people += 1
        office = self.actors["officer"]
        data = {"petitioners": [{"name": "王五", "id_number": id_number(self.people), "phone": "13800138000",
                                 "address": "东镇柳村3组"}], "residence_org": "dz-lc", "channel": "visit",
                "kind": "complaint_request", "category": "land_forest", "respondent_unit": "dz",
                "summary": "对土地承包经营权调整决定不服", "people_count": 1}
        case_id = self.services.cases.register(office, "petition", data)["id"]
        decide = self.task(case_id, "decide_acceptance")
        self.services.tasks.complete(office, decide.id, {"decision": "accept"}, self.version(case_id))
        self.services.cases.set_owner(office, case_id, "leader_zhao")
        return case_id

    def report(self, case_id: int, *, move_clock: bool, restore: bool = False, timed: bool = False) -> float:
        """One cycle: (the clock to the report's due day, 10:00, and the sweep), then the report."""
        if move_clock:
            due = self.task(case_id, "progress_report").due_at
            self.system.clock.set(due - timedelta(hours=13, minutes=59, seconds=59))
            self.system.sweep()
        report = self.task(case_id, "progress_report")
        version = self.version(case_id)

        def command():
            self.services.tasks.complete(self.actors["leader"], report.id, {"notes": "已约谈双方，正在协调"}, version)
        return self.timed(command, restore) if timed else (command() or 0.0)

    # ------------------------------------------------------------------ dispute: re-mediation rounds
    def new_dispute(self) -> int:
        self.people += 1
        data = {"parties": [{"side": "applicant", "name": "张三", "id_number": id_number(self.people),
                             "phone": "13800138000", "household_address": "东镇柳村3组", "residence_org": "dz-lc"},
                            {"side": "respondent", "name": "李四", "phone": "13900139000",
                             "household_address": "东镇柳村3组", "residence_org": "dz-lc"}],
                "category": "neighbour", "summary": "排水沟堵塞引发邻里纠纷", "source": "party_application",
                "risk_level": "green"}
        return self.services.cases.register(self.actors["intake"], "mediation", data)["id"]

    def round(self, case_id: int, *, move_clock: bool, restore: bool = False, timed: bool = False) -> float:
        """One round of three commands; the seconds per command."""
        if move_clock:
            self.system.clock.advance(timedelta(days=1))
            self.system.sweep()
        mediator, court, took = self.actors["mediator"], self.actors["court"], 0.0
        steps = [("mediate", {"result": "agreement", "agreement_form": "written", "difficulty": "general",
                              "agreement_text": "疏通排水沟，费用双方各半"}),
                 ("judicial_confirmation", {"applied": True, "court": "清河县人民法院"})]
        for name, data in steps:
            task, version = self.task(case_id, name), self.version(case_id)
            took += self.timed(lambda t=task, d=data, v=version: self.services.tasks.complete(mediator, t.id, d, v),
                               restore)
        took += self.timed(lambda: self.services.cases.send_message(court, case_id, "court_confirmation",
                                                                    {"result": "rejected"}), restore)
        return took / 3

    # ------------------------------------------------------------------ one scenario
    def scenario(self, title: str, new_case, cycle, checkpoints: list[int], samples: int) -> list[dict]:
        print(f"\n{title}")
        aged, done, results = new_case(), 0, []
        for n in checkpoints:
            started = time.perf_counter()
            while done < n:
                cycle(aged, move_clock=True)
                done += 1
            aged_size, aged_events = self.state_size(aged), self.events(aged)
            times = {(who, mode): [] for who in ("aged", "new") for mode in ("cached", "restored")}
            new_sizes = []
            for i in range(samples):
                for mode in ("cached", "restored"):
                    fresh = new_case()
                    if i % 2:  # alternate which goes first
                        times["new", mode].append(cycle(fresh, move_clock=False, restore=mode == "restored",
                                                        timed=True))
                        times["aged", mode].append(cycle(aged, move_clock=True, restore=mode == "restored",
                                                         timed=True))
                    else:
                        times["aged", mode].append(cycle(aged, move_clock=True, restore=mode == "restored",
                                                         timed=True))
                        times["new", mode].append(cycle(fresh, move_clock=False, restore=mode == "restored",
                                                        timed=True))
                    done += 1
                    new_sizes.append(self.state_size(fresh))
            row = {"n": n, "aged_kb": aged_size / 1024, "new_kb": statistics.median(new_sizes) / 1024,
                   "events": aged_events, "seconds": time.perf_counter() - started}
            for (who, mode), values in times.items():
                row[f"{who}_{mode}"] = statistics.median(values) * 1000
            results.append(row)
            print(f"  {n:>4} cycles ({aged_events} events): "
                  f"cached {row['aged_cached']:6.1f} ms vs new {row['new_cached']:5.1f} "
                  f"({row['aged_cached'] / row['new_cached']:.2f}x) | "
                  f"restored {row['aged_restored']:6.1f} vs {row['new_restored']:5.1f} "
                  f"({row['aged_restored'] / row['new_restored']:.2f}x) | "
                  f"state {row['aged_kb']:6.1f} KiB vs {row['new_kb']:5.1f} ({row['aged_kb'] / row['new_kb']:.2f}x)"
                  f"  [{row['seconds']:.0f} s]", flush=True)
        return results

    def verify(self) -> dict:
        """Every case's hash chain recomputed (the aged ones included)."""
        return self.services.audit.verify(CLI)


def table(title: str, results: list[dict]) -> None:
    print(f"\n{title}")
    print("| cycles | events | ms/command, cached: aged / new | restored: aged / new | state KiB: aged / new |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['n']} | {r['events']} | {r['aged_cached']:.1f} / {r['new_cached']:.1f} "
              f"({r['aged_cached'] / r['new_cached']:.2f}x) | {r['aged_restored']:.1f} / {r['new_restored']:.1f} "
              f"({r['aged_restored'] / r['new_restored']:.2f}x) | {r['aged_kb']:.1f} / {r['new_kb']:.1f} "
              f"({r['aged_kb'] / r['new_kb']:.2f}x) |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", default="10,60,200", help="checkpoints, comma-separated (default 10,60,200)")
    parser.add_argument("--samples", type=int, default=12, help="timed cycles per checkpoint and mode")
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary directory")
    parser.add_argument("--only", choices=("petition", "dispute"), help="run one scenario")
    args = parser.parse_args()
    checkpoints = sorted({int(x) for x in args.cycles.split(",") if x.strip()})

    with tempfile.TemporaryDirectory() as tmp, fresh_store(args.database_url, Path(tmp), "aging") as url:
        bench = Bench(url, Path(tmp))
        backend = "PostgreSQL" if bench.system.db.is_postgres else "SQLite"
        print(f"{backend}: {args.samples} timed cycles per checkpoint and mode, medians")
        results = {}
        if args.only in (None, "petition"):
            results["petition"] = bench.scenario("petition: an owner's progress report every 15 days",
                                                 bench.new_petition, bench.report, checkpoints, args.samples)
        if args.only in (None, "dispute"):
            results["dispute"] = bench.scenario("dispute: mediation again after each rejected judicial confirmation",
                                                bench.new_dispute, bench.round, checkpoints, args.samples)
        for name, rows in results.items():
            table(f"{name} ({backend})", rows)
        chains = bench.verify()
        print(f"\nhash chains of all {chains['cases_checked']} cases: {'verified' if chains['ok'] else chains}")
        verdict = 0 if chains["ok"] else 1
        for name, rows in results.items():
            last = rows[-1]
            time_ok = max(last["aged_cached"] / last["new_cached"], last["aged_restored"] / last["new_restored"]) <= 1.5
            size_ok = last["aged_kb"] / last["new_kb"] <= 2
            print(f"{name} at {last['n']} cycles: command {'within' if time_ok else 'NOT within'} 1.5x of a new "
                  f"case's, state {'within' if size_ok else 'NOT within'} 2x")
            verdict |= not (time_ok and size_ok)
        bench.system.close()
        return verdict


if __name__ == "__main__":
    sys.exit(main())
