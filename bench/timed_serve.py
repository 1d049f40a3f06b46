"""`fengqiao serve` with the server's own time per request written down: bench/load.py's `--timing`.

    FENGQIAO_TIMING_DIR=DIR [FENGQIAO_TIMING_PROFILE=1] python bench/timed_serve.py serve --workers 2 …

The arguments are `fengqiao`'s. Every worker wraps the app in a middleware that records, per request,
its kind (the method and the path with numbers as <id> and the query's keys), when it ended, the wall
time inside the app and the CPU time of its thread (`time.thread_time`: what the request cost, apart
from waiting for the CPU, the database or a lock), and what it asked of the database: its pool
checkouts, its transactions (SQLAlchemy's `begin`) and its statements. With FENGQIAO_TIMING_PROFILE=1 each request thread
also runs cProfile around its requests. Each worker writes DIR/timing-<pid>.json (and profile-<pid>-*
.prof) every 10 s and on its way out. Not part of the service: nothing outside bench/ imports it.
"""
from __future__ import annotations

import atexit
import cProfile
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_NUMBER = re.compile(r"/\d+(?=/|$)")
SLOW_MS = 1000.0  # a request slower than this inside the app is recorded with its path and query


def _full_path(environ: dict) -> str:
    query = environ.get("QUERY_STRING") or ""
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO') or '/'}" + (f"?{query}" if query else "")


def kind_of(environ: dict) -> str:
    path = _NUMBER.sub("/<id>", environ.get("PATH_INFO") or "/")
    query = environ.get("QUERY_STRING") or ""
    keys = sorted({part.split("=", 1)[0] for part in query.split("&") if part})
    return f"{environ.get('REQUEST_METHOD', 'GET')} {path}" + (f"?{'&'.join(keys)}" if keys else "")


class Recorder:
    def __init__(self, folder: Path, profile: bool):
        self.folder, self.profile = folder, profile
        self.rows: list[tuple] = []
        self.lock = threading.Lock()
        self.local = threading.local()
        self.profiles: list[cProfile.Profile] = []
        self.pid = None

    def wrap(self, wsgi_app):
        def timed(environ, start_response):
            if self.pid != os.getpid():  # the first request of a forked worker
                self.start()
            status = []

            def record_status(code, headers, exc_info=None):
                status.append(int(code.split(" ", 1)[0]))
                return start_response(code, headers, exc_info)

            profiler = self._profiler()
            counts = self.local.counts = [0, 0, 0]  # checkouts, transactions, statements
            wall, cpu = time.perf_counter(), time.thread_time()
            if profiler:
                profiler.enable()
            try:
                body = wsgi_app(environ, record_status)
                return body if isinstance(body, list) else [b"".join(body)]  # the body's work counted too
            finally:
                if profiler:
                    profiler.disable()
                took = (time.perf_counter() - wall) * 1000
                row = (kind_of(environ), time.time(), took, (time.thread_time() - cpu) * 1000,
                       status[0] if status else 0, *counts,
                       _full_path(environ) if took >= SLOW_MS else None)
                self.local.counts = None
                with self.lock:
                    self.rows.append(row)
        return timed

    def count(self, which: int) -> None:
        counts = getattr(self.local, "counts", None)
        if counts is not None:  # a request thread's (not the scheduler's)
            counts[which] += 1

    def listen(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine
        from sqlalchemy.pool import Pool
        event.listen(Pool, "checkout", lambda *_a: self.count(0))
        event.listen(Engine, "begin", lambda *_a: self.count(1))
        event.listen(Engine, "before_cursor_execute", lambda *_a: self.count(2))

    def _profiler(self):
        if not self.profile:
            return None
        found = getattr(self.local, "profiler", None)
        if found is None:
            found = self.local.profiler = cProfile.Profile()
            with self.lock:
                self.profiles.append(found)
        return found

    def start(self) -> None:
        with self.lock:
            if self.pid == os.getpid():
                return
            self.pid = os.getpid()
            self.rows, self.profiles = [], []
        threading.Thread(target=self._every_10_s, daemon=True).start()
        atexit.register(self.write)

    def _every_10_s(self) -> None:
        while True:
            time.sleep(10)
            self.write()

    def write(self) -> None:
        with self.lock:
            rows, profiles = list(self.rows), list(self.profiles)
        target = self.folder / f"timing-{self.pid}.json"
        target.with_suffix(".tmp").write_text(json.dumps(rows))
        target.with_suffix(".tmp").replace(target)
        for i, profiler in enumerate(profiles):
            try:
                profiler.dump_stats(self.folder / f"profile-{self.pid}-{i}.prof")
            except (RuntimeError, ValueError):
                pass  # a profiler busy in its thread: the next write takes it


def main() -> int:
    import web.app
    from web.cli.main import main as fengqiao
    recorder = Recorder(Path(os.environ["FENGQIAO_TIMING_DIR"]), os.environ.get("FENGQIAO_TIMING_PROFILE") == "1")
    recorder.listen()
    create_app = web.app.create_app

    def timed_app(*args, **kwargs):
        app = create_app(*args, **kwargs)
        app.wsgi_app = recorder.wrap(app.wsgi_app)
        return app
    web.app.create_app = timed_app
    return fengqiao(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
