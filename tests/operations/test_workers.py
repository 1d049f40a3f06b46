"""`fengqiao serve --workers N`: several processes on PostgreSQL (gunicorn), the scheduler in exactly
one of them, what waitress guaranteed still holding (no Server header, security headers, 413), and
SQLite refused; the connection pool's settings."""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import text

from engine.config import Settings
from engine.db import Database
from tests.conftest import FIXTURES, PG_URL, fresh_postgres_schema

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ refused
@pytest.mark.parametrize("workers", ["2", "0"])
def test_sqlite_is_served_by_one_process_and_says_so(fengqiao, monkeypatch, tmp_path, workers):
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", f"sqlite:///{tmp_path / 'one.db'}")
    outcome = fengqiao("serve", "--workers", workers, "--port", "5059")
    assert outcome.code == 2
    assert "Traceback" not in outcome.err and outcome.out == ""  # refused before anything was set up
    if workers == "2":
        assert "SQLite 数据库只能由一个进程服务" in outcome.err and "served by one process" in outcome.err
        assert "PostgreSQL" in outcome.err
    else:
        assert "--workers 至少为 1" in outcome.err and "at least 1" in outcome.err
    assert not (tmp_path / "one.db").exists()


def test_no_scheduler_runs_in_serve_when_asked(fengqiao, monkeypatch, tmp_path):
    """`--no-scheduler`: `fengqiao scheduler` runs beside (one process here; the same choice is handed
    to gunicorn's workers, see the next test)."""
    served = {}
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", f"sqlite:///{tmp_path / 'one.db'}")
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(FIXTURES / "bpmn"))
    monkeypatch.setitem(sys.modules, "waitress", None)
    monkeypatch.setattr("werkzeug.serving.run_simple", lambda host, port, app, **options: served.update(app=app))

    def no_scheduler(ctx):
        raise AssertionError("a scheduler was started")
    monkeypatch.setattr("web.cli.service._scheduler", no_scheduler)
    outcome = fengqiao("serve", "--no-scheduler", "--port", "5058")
    assert outcome.code == 0, outcome.err
    assert served["app"].test_client().get("/login").status_code == 200


def test_the_scheduler_goes_to_one_worker_and_to_the_replacement_of_a_dead_one():
    from types import SimpleNamespace

    from web.cli.serving import takes_scheduler
    holder, other = SimpleNamespace(fengqiao_scheduler=True), SimpleNamespace(fengqiao_scheduler=False)
    assert takes_scheduler(True, [])  # the first worker forked
    assert not takes_scheduler(True, [holder])  # the second, while the first lives
    assert takes_scheduler(True, [other])  # the first died: its replacement
    assert not takes_scheduler(False, [])  # --no-scheduler: none of them


# ------------------------------------------------------------------------------ the pool
def test_the_pool_is_sized_by_settings():
    settings = Settings.from_env({"FENGQIAO_DATABASE_URL": "postgresql+psycopg://fq@127.0.0.1/county",
                                  "FENGQIAO_DB_POOL_SIZE": "3", "FENGQIAO_DB_MAX_OVERFLOW": "7",
                                  "FENGQIAO_DB_POOL_TIMEOUT": "4.5"})
    db = Database(settings)  # no connection is opened to build it
    pool = db.write_engine.pool
    assert (pool.size(), pool._max_overflow, pool._timeout) == (3, 7, 4.5)
    assert db.read_engine is db.write_engine
    defaults = Database(Settings(database_url="postgresql+psycopg://fq@127.0.0.1/county")).write_engine.pool
    assert (defaults.size(), defaults._max_overflow, defaults._timeout) == (10, 5, 30.0)


@pytest.mark.parametrize("name, value", [("FENGQIAO_DB_POOL_SIZE", "0"), ("FENGQIAO_DB_MAX_OVERFLOW", "-1"),
                                         ("FENGQIAO_DB_POOL_TIMEOUT", "0")])
def test_a_pool_setting_out_of_range_is_refused(name, value):
    with pytest.raises(ValueError, match="FENGQIAO_DB_POOL_SIZE"):
        Settings.from_env({name: value})


# ------------------------------------------------------------------------------ served
@pytest.fixture(params=["postgresql"])
def served(request, tmp_path):
    """`fengqiao serve --workers 2` on a fresh PostgreSQL schema, as an operator starts it."""
    if not PG_URL:
        pytest.skip("PostgreSQL: FENGQIAO_TEST_DATABASE_URL is not set")
    with fresh_postgres_schema() as url:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log_path = tmp_path / "serve.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_DATABASE_URL": url, "FENGQIAO_SIMULATED_CLOCK": "1",
               "FENGQIAO_BPMN_DIR": str(FIXTURES / "bpmn"), "FENGQIAO_NOTIFICATION_LOG": str(tmp_path / "n.log")}
        with log_path.open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "web.cli", "serve", "--workers", "2", "--port", str(port)],
                                       cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        server = Served(process, port, log_path, url)
        try:
            server.wait_for(lambda: server.answers() and len(server.workers()) == 2, "the server and its two workers")
            yield server
        finally:
            server.stop()


class Served:
    def __init__(self, process: subprocess.Popen, port: int, log_path: Path, url: str):
        self.process, self.port, self.log_path, self.url = process, port, log_path, url

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, condition, what: str, timeout: float = 120):
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.process.poll() is None, f"the server exited while waiting for {what}:\n{self.log()}"
            assert time.monotonic() < deadline, f"{what}: not within {timeout} s\n{self.log()}"
            time.sleep(0.05)

    def workers(self) -> list[int]:
        """The master's child processes, from the process list."""
        try:
            return [int(p) for p in Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()]
        except OSError:
            return []

    def request(self, path: str, *, data: bytes | None = None, headers: dict | None = None, timeout: float = 30):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, answer.headers, answer.read()
        except urllib.error.HTTPError as answer:
            return answer.code, answer.headers, answer.read()

    def answers(self) -> bool:
        try:
            return self.request("/healthz", timeout=5)[0] in (200, 503)
        except OSError:
            return False

    def scheduler_workers(self) -> list[int]:
        return [int(p) for p in re.findall(r"the scheduler runs in worker (\d+)", self.log())]

    def stop(self) -> None:
        for pid in self.workers():  # none left stopped by a failed assertion
            try:
                os.kill(pid, signal.SIGCONT)
            except OSError:
                pass
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.mark.slow
def test_two_worker_processes_serve_with_one_scheduler_and_waitress_s_guarantees(served):
    workers = served.workers()
    assert len(workers) == 2

    # Each worker answers on its own: with one stopped, the other still serves new connections
    # (the master only forks and watches; it never serves a request).
    for stopped, other in (workers, workers[::-1]):
        os.kill(stopped, signal.SIGSTOP)
        try:
            status, _headers, body = served.request("/healthz")
            assert status in (200, 503) and "checks" in json.loads(body)
        finally:
            os.kill(stopped, signal.SIGCONT)

    # Exactly one worker runs the scheduler (and it sweeps: /healthz sees a recent sweep).
    served.wait_for(lambda: served.scheduler_workers(), "a worker to start the scheduler")
    assert len(served.scheduler_workers()) == 1 and served.scheduler_workers()[0] in workers
    assert served.log().count("started: PostgreSQL (SKIP LOCKED)") == 1
    served.wait_for(lambda: served.request("/healthz")[0] == 200, "the first sweep")

    # What waitress guaranteed: no Server header, the API's security headers, 413 before reading.
    status, headers, _body = served.request("/api/v1/openapi.json")
    assert status == 200 and "Server" not in headers
    assert headers["Cache-Control"] == "no-store" and headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    status, headers, body = served.request("/api/v1/cases", data=b"x" * (2 * 1024 * 1024),
                                           headers={"Content-Type": "application/json"})
    assert status == 413 and json.loads(body)["error"]["code"] == "request_too_large" and "Server" not in headers
    status, _headers, body = served.request("/login", data=b"username=" + b"x" * (1024 * 1024 + 10),
                                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 413 and "提交的内容太大" in body.decode()
    # A body still on its way when the 413 is decided is read through, so its sender gets the answer,
    # not a reset connection (the pause, with part of the body sent, lets the server answer first, as a slow network would).
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    try:
        connection.putrequest("POST", "/api/v1/cases")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(2 * 1024 * 1024))
        connection.endheaders()
        connection.send(b"x" * (256 * 1024))
        time.sleep(0.5)
        connection.send(b"x" * (2 * 1024 * 1024 - 256 * 1024))
        answer = connection.getresponse()
        assert answer.status == 413 and json.loads(answer.read())["error"]["code"] == "request_too_large"
    finally:
        connection.close()
    # HTTPS is what the connection is, not what a client's header claims (waitress trusts no proxy either).
    status, headers, _body = served.request("/login", headers={"X-Forwarded-Proto": "https"})
    assert status == 200 and "Secure" not in headers.get("Set-Cookie", "") and "X-Content-Type-Options" in headers

    # The scheduler's worker dies: its replacement takes the scheduler over, still one of them.
    first = served.scheduler_workers()[0]
    os.kill(first, signal.SIGKILL)
    served.wait_for(lambda: len(served.scheduler_workers()) == 2, "the scheduler in the replacement worker")
    replacement = served.scheduler_workers()[1]
    assert replacement != first and replacement in served.workers() and len(served.workers()) == 2

    # Each worker's connections are its own and run without JIT or parallel workers (FENGQIAO_* as given;
    # search_path kept).
    db = Database(Settings(database_url=served.url))
    try:
        with db.read() as session:
            assert session.execute(text("SHOW jit")).scalar() == "off"
            assert session.execute(text("SHOW max_parallel_workers_per_gather")).scalar() == "0"
            assert session.execute(text("SELECT count(*) FROM definition")).scalar() >= 1
    finally:
        db.dispose()

    served.process.send_signal(signal.SIGTERM)
    assert served.process.wait(60) == 0
    assert re.search(r"scheduler \S+ stopped", served.log().rsplit("Handling signal: term", 1)[1])  # handed over cleanly
