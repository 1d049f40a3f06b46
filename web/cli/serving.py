"""`fengqiao serve --workers N`: the web app in N processes under gunicorn (PostgreSQL, Linux/Unix).

The master process initialises the store and builds the app (preloaded: the workers are forks of it,
so the definitions and templates are read once); it then closes its database connections, and each
worker starts a fresh connection pool of its own after the fork (a pooled connection shared by two
processes would mix their conversations on one socket). Exactly one worker at a time runs the
deadline scheduler and outbox dispatcher, unless they are switched off (`--no-scheduler`,
FENGQIAO_SCHEDULER_IN_SERVE=0, when `fengqiao scheduler` runs beside): the master hands the job to the
first worker it forks and, when that worker dies, to the one that replaces it. Two schedulers at
once are safe on PostgreSQL anyway (their sweeps claim rows with FOR UPDATE SKIP LOCKED).

What waitress does for one process holds here too: 8 threads a process (the gthread worker), no
`Server` header, the request-size limit (the app's own 413, before the body is parsed; a body still
arriving is read through and dropped, so that its sender gets the 413 rather than a reset
connection), and the scheme taken from the connection, not from an `X-Forwarded-Proto` header.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable

THREADS = 8  # a process's request threads, as waitress's `threads=8` for one process

log = logging.getLogger("fengqiao.serve")


def available() -> bool:
    try:
        import gunicorn.app.base  # noqa: F401 -- not on Windows (it needs fork and fcntl)
    except ImportError:
        return False
    return True


def _drop_server_header() -> None:
    """gunicorn names itself in a `Server` header and has no setting to stop it; waitress with an empty
    `ident` sends none, and neither do we: the status line's headers are filtered once, here."""
    from gunicorn.http import wsgi
    original = wsgi.Response.default_headers
    if getattr(original, "fengqiao", False):
        return

    def default_headers(self):
        return [line for line in original(self) if not line.lower().startswith("server:")]
    default_headers.fengqiao = True
    wsgi.Response.default_headers = default_headers


def options(host: str, port: int, workers: int) -> dict:
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return {
        "bind": [address],
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS,
        "preload_app": True,
        "timeout": 60,  # a worker whose main loop is stuck this long is restarted (requests run in threads)
        "graceful_timeout": 30,
        "keepalive": 5,
        "secure_scheme_headers": {},  # as waitress: HTTPS is what the connection is, not what a header says
        "control_socket_disable": True,  # no socket in the home directory; `kill -HUP/-TTIN` still work
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "fengqiao",
    }


def takes_scheduler(wanted: bool, live_workers) -> bool:
    """Whether the worker about to be forked runs the scheduler: when one is wanted and none of the live
    workers runs it (the arbiter forgets a worker once it has died, so its replacement takes over)."""
    return wanted and not any(getattr(w, "fengqiao_scheduler", False) for w in live_workers)


def serve(app, db, make_scheduler: Callable[[], object] | None, host: str, port: int, workers: int) -> int:
    """Run gunicorn until it is stopped (SIGINT, SIGTERM); the master's exit status."""
    from gunicorn.app.base import BaseApplication

    _drop_server_header()
    master = os.getpid()
    running: dict[str, object] = {}  # in a worker: its scheduler, if it runs one

    def pre_fork(server, worker):  # the master, before each fork: who runs the scheduler
        worker.fengqiao_scheduler = takes_scheduler(make_scheduler is not None, server.WORKERS.values())

    def post_fork(server, worker):  # the new worker: connections of its own
        db.after_fork()

    def post_worker_init(worker):
        if getattr(worker, "fengqiao_scheduler", False):
            scheduler = make_scheduler()
            scheduler.start()
            running["scheduler"] = scheduler
            log.info("the scheduler runs in worker %s", os.getpid())

    def worker_exit(server, worker):  # in the worker on its way out (the master calls it for lost ones too)
        scheduler = running.pop("scheduler", None)
        if scheduler is not None and os.getpid() != master:
            scheduler.stop()

    settings = {**options(host, port, workers), "pre_fork": pre_fork, "post_fork": post_fork,
                "post_worker_init": post_worker_init, "worker_exit": worker_exit}

    class Server(BaseApplication):
        def load_config(self):
            for name, value in settings.items():
                self.cfg.set(name, value)

        def load(self):
            return app

    db.dispose()  # nothing the master opened is inherited by a worker
    try:
        Server().run()
    except SystemExit as exc:
        if os.getpid() != master:
            raise  # a worker leaving: gunicorn's own way out of the fork
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
