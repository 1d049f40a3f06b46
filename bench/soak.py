"""Crash soak: a day's mix of commands through the REST API against a running `fengqiao serve`,
killed with SIGKILL at random moments, restarted, and checked with `fengqiao check` after every
restart. Prints the kills survived and the inconsistencies found (the goal is 0).

    python bench/soak.py [--kills 200] [--max-minutes 40] [--seed 1] [--database-url URL]

The server runs the simulated clock on a store seeded with the demo county (`fengqiao init --demo`),
with its scheduler and outbox dispatcher in-process. Two client threads register mediation cases,
claim and complete their steps (agreement, confirmation, follow-up, archive — or no agreement, which
escalates), read cases and task lists; between kills the clock is moved on by hours, so deadlines
fire and reminders go out while the kills land. A kill comes 0.1–1.5 s after the server answered,
whatever it is doing. After each restart `fengqiao check` runs (in this process, on the store as the
restarted server sees it) and its findings are counted; `audit verify` runs at the end.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.fresh_store import fresh_store  # noqa: E402

ARCHIVE_CHECKLIST = {k: True for k in ("registration_form", "rights_notice", "identity_proof", "mediation_record",
                                       "agreement", "followup_record")}
MEDIATORS = ("mediator_village", "mediator_town", "mediator_county")
PEOPLE = ("intake", *MEDIATORS, "court_liaison", "auditor")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`python -m web.cli serve` as a child process."""

    def __init__(self, env: dict[str, str], port: int, log: Path):
        self.env, self.port, self.log = env, port, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> float:
        started = time.monotonic()
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--port", str(self.port)],
                                         cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}: see {self.log}")
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2).read()
                return time.monotonic() - started
            except urllib.error.HTTPError:
                return time.monotonic() - started  # 503 while the first sweep has not run: it answers
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the server did not answer within 60 s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def headers(self) -> dict[str, str]:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/openapi.json", timeout=5) as r:
            return dict(r.headers)


class Client:
    """One person's REST calls; connection errors (the server was killed) end the call quietly."""

    def __init__(self, port: int, tokens: dict[str, str], rng: random.Random):
        self.base = f"http://127.0.0.1:{port}/api/v1"
        self.tokens, self.rng = tokens, rng
        self.ok = self.refused = self.broken = 0
        self.errors: list[str] = []  # answers 5xx: a defect, counted apart from the kills

    def call(self, who: str, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Authorization": f"Bearer {self.tokens[who]}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                self.ok += 1
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code >= 500:
                self.errors.append(f"{method} {path}: {exc.code} {exc.read()[:300]!r}")
                return None
            self.refused += 1  # 409 after a race with the other client or the sweep, 403/404: fine
            return None
        except (OSError, ValueError, http.client.HTTPException):  # refused, reset, or cut mid-answer
            self.broken += 1
            time.sleep(0.05)  # the server is down: do not spin until the kill is noticed
            return None

    def register(self) -> None:
        village = "shangzhuang"
        parties = [{"side": "applicant", "name": f"申请人{self.rng.randrange(10**6)}", "residence_org": village,
                    "household_address": f"{village} 村民小组"},
                   {"side": "respondent", "name": f"被申请人{self.rng.randrange(10**6)}", "residence_org": village,
                    "household_address": f"{village} 村民小组"}]
        self.call("intake", "POST", "/cases", {"type": "mediation", "data": {
            "parties": parties, "category": self.rng.choice(["neighbour", "contract", "marriage_family"]),
            "summary": "浸泡测试 / soak", "source": "party_application",
            "risk_level": self.rng.choice(["green", "green", "yellow", "red"])}})

    def work(self) -> None:
        who = self.rng.choice(MEDIATORS)
        tasks = (self.call(who, "GET", "/tasks") or {}).get("items") or []
        if not tasks:
            return
        task = self.rng.choice(tasks)
        case = self.call(who, "GET", f"/cases/{task['case_id']}")
        if case is None:
            return
        if self.rng.random() < 0.3:
            self.call(who, "POST", f"/tasks/{task['id']}/claim")
        data = self.step_data(task["name"])
        if data is not None:
            self.call(who, "POST", f"/tasks/{task['id']}/complete", {"data": data, "version": case["version"]})

    def step_data(self, step: str) -> dict | None:
        if step == "mediate":
            if self.rng.random() < 0.35:
                return {"result": "no_agreement", "notes": "未能达成一致"}
            return {"result": "agreement", "agreement_form": "oral", "agreement_text": "当场履行",
                    "difficulty": "simple"}
        if step == "judicial_confirmation":
            return {"applied": False}
        if step == "followup":
            return {"performance": "performed", "satisfaction": self.rng.randint(3, 5)}
        if step == "archive":
            return {"checklist": ARCHIVE_CHECKLIST}
        return None

    def read(self) -> None:
        who = self.rng.choice(PEOPLE)
        page = self.call(who, "GET", "/cases") or {}
        items = page.get("items") or []
        if items:
            self.call(who, "GET", f"/cases/{self.rng.choice(items)['id']}/events")

    def run(self, stop: threading.Event) -> None:
        actions = (self.register, self.work, self.work, self.work, self.read)
        while not stop.is_set():
            self.rng.choice(actions)()


def fengqiao(*args: str) -> tuple[int, str]:
    """`fengqiao ARGS…` in this process (the settings are in os.environ); exit code and stdout."""
    from web.cli import main
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(io.StringIO()):
        code = main(list(args))
    return code, buffer.getvalue()


def soak(url: str, kills: int, max_seconds: float, seed: int, workdir: Path) -> dict:
    rng = random.Random(seed)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_DATABASE_URL": url, "FENGQIAO_SIMULATED_CLOCK": "1",
           "FENGQIAO_NOTIFICATION_LOG": str(workdir / "notifications.log"),
           "FENGQIAO_SCHEDULER_LEASE_SECONDS": "2"}  # a killed server's lease passes quickly to the restarted one
    names = ("FENGQIAO_DATABASE_URL", "FENGQIAO_SIMULATED_CLOCK", "FENGQIAO_NOTIFICATION_LOG",
             "FENGQIAO_SCHEDULER_LEASE_SECONDS")
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update({k: env[k] for k in names})  # for `fengqiao …` run in this process
    try:
        return _soak(env, rng, kills, max_seconds, workdir)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _soak(env: dict[str, str], rng: random.Random, kills: int, max_seconds: float, workdir: Path) -> dict:
    fengqiao("init", "--demo")
    fengqiao("clock", "set", "2026-09-01T09:00:00+08:00")
    from usecases import CLI, build_services
    services = build_services()
    tokens = {who: services.admin.create_token(CLI, who) for who in PEOPLE}
    services.close()

    port = free_port()
    server = Server(env, port, workdir / "server.log")
    figures = {"kills": 0, "inconsistencies": 0, "checks": 0, "restart_seconds": [], "check_seconds": [],
               "findings": [], "calls_ok": 0, "calls_refused": 0, "calls_cut": 0, "server_errors": []}
    started = time.monotonic()
    server.start()
    banner = server.headers().get("Server")
    clients = [Client(port, tokens, random.Random(rng.random())) for _ in range(2)]
    try:
        while figures["kills"] < kills and time.monotonic() - started < max_seconds:
            stop = threading.Event()
            threads = [threading.Thread(target=c.run, args=(stop,), daemon=True) for c in clients]
            for t in threads:
                t.start()
            if rng.random() < 0.5:  # part of a day passes: deadlines come due under the running sweep
                fengqiao("clock", "advance", f"{rng.randint(1, 30)}h")
            time.sleep(rng.uniform(0.1, 1.5))
            server.kill()
            figures["kills"] += 1
            stop.set()
            for t in threads:
                t.join(timeout=15)
            figures["restart_seconds"].append(server.start())
            t0 = time.monotonic()
            code, report = fengqiao("check", "--json")
            figures["check_seconds"].append(time.monotonic() - t0)
            figures["checks"] += 1
            found = json.loads(report)["findings"] if report.strip() else [{"kind": "check", "message": report}]
            if code != 0:
                figures["inconsistencies"] += len(found) or 1
                figures["findings"] += found[:5]
                print(f"kill {figures['kills']}: {len(found)} finding(s): {found[:3]}", flush=True)
            elif figures["kills"] % 10 == 0:
                print(f"kill {figures['kills']}: consistent", flush=True)
    finally:
        server.kill()
    code, verify = fengqiao("audit", "verify")
    cases_code, cases = fengqiao("check", "--json")
    report = json.loads(cases) if cases.strip() else {}
    for c in clients:
        figures["calls_ok"] += c.ok
        figures["calls_refused"] += c.refused
        figures["calls_cut"] += c.broken
        figures["server_errors"] += c.errors
    figures.update(seconds=round(time.monotonic() - started, 1), audit_verify_ok=code == 0,
                   cases=report.get("cases_checked"), outbox=report.get("outbox_checked"),
                   server_header=banner)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--max-minutes", type=float, default=40.0, help="stop after this long, kills or not")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", help="PostgreSQL: a run works in a fresh schema of this database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fengqiao-soak-") as tmp, \
            fresh_store(args.database_url, Path(tmp), "soak") as url:
        figures = soak(url, args.kills, args.max_minutes * 60, args.seed, Path(tmp))
    restart, check = sorted(figures["restart_seconds"]), sorted(figures["check_seconds"])
    print(f"kills survived: {figures['kills']}   inconsistencies found: {figures['inconsistencies']}   "
          f"checks run: {figures['checks']}   audit verify: {'ok' if figures['audit_verify_ok'] else 'BROKEN'}")
    print(f"store at the end: {figures['cases']} cases, {figures['outbox']} outbox messages; "
          f"API calls answered {figures['calls_ok']}, refused (409/403/404) {figures['calls_refused']}, "
          f"cut by a kill {figures['calls_cut']}; {figures['seconds']} s in all")
    if restart:
        print(f"restart to first answer: median {restart[len(restart) // 2]:.2f} s, max {restart[-1]:.2f} s; "
              f"fengqiao check: median {check[len(check) // 2]:.2f} s, max {check[-1]:.2f} s")
    print(f"server errors (5xx): {len(figures['server_errors'])}   Server header sent: {figures['server_header']!r}")
    for line in figures["server_errors"][:5]:
        print(f"  {line}")
    return 0 if figures["inconsistencies"] == 0 and figures["audit_verify_ok"] and not figures["server_errors"] else 1


if __name__ == "__main__":
    sys.exit(main())
