"""`/healthz` and `/metrics`: what a load balancer and a monitoring system ask of the service.

`/healthz` is public and says nothing about cases or people: 200 with `{"status": "ok", "checks"}`
when the store answers, some scheduler swept recently and the outbox moves, else 503.
`/metrics` is Prometheus' text format: this process's commands by kind and outcome with their
latency and the deadlines it fired with their lag (counted by the engine's observer hook, installed
here so that the engine imports nothing of Prometheus), and the store's figures at scrape time
(open cases by type, outbox messages by status, pending and overdue deadlines, the last sweep's age).
Who may read it is the application layer's rule (`Operations.metrics_access`): clients on this
machine, or anyone with FENGQIAO_METRICS_TOKEN when that is set.
"""
from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from usecases import Services

from .security import public

bp = Blueprint("operations", __name__)
EXTENSION = "fengqiao.metrics"
_SERVICES = "fengqiao"
disable_created_metrics()  # the *_created series say when this process started counting: noise on a scrape

_COMMAND_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LAG_BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 3600.0, 86400.0)


class Metrics:
    """The engine's observer (engine.command.CommandObserver) and the registry /metrics renders."""

    def __init__(self, services: Services):
        self.registry = CollectorRegistry(auto_describe=True)
        self.commands = Counter("fengqiao_commands", "Engine commands run by this process, by kind and outcome",
                                ("kind", "outcome"), registry=self.registry)
        self.latency = Histogram("fengqiao_command_duration_seconds", "Engine command latency in this process",
                                 ("kind", "outcome"), buckets=_COMMAND_BUCKETS, registry=self.registry)
        self.fired = Counter("fengqiao_deadlines_fired", "Deadlines fired by this process's scheduler",
                             registry=self.registry)
        self.lag = Histogram("fengqiao_deadline_lag_seconds", "From a deadline's due time to its firing "
                             "(engine clock)", buckets=_LAG_BUCKETS, registry=self.registry)
        self.registry.register(_StoreFigures(services))

    # --- engine.command.CommandObserver ---------------------------------------------------------
    def command(self, kind: str, outcome: str, seconds: float) -> None:
        self.commands.labels(kind, outcome).inc()
        self.latency.labels(kind, outcome).observe(seconds)

    def deadlines_fired(self, lags: list[float]) -> None:
        self.fired.inc(len(lags))
        for lag in lags:
            self.lag.observe(lag)


class _StoreFigures:
    """Gauges read from the store at each scrape: they hold across processes."""

    def __init__(self, services: Services):
        self.services = services

    def describe(self):
        return []  # read at scrape time only (the registry must not query the store when it is built)

    def collect(self):
        figures = self.services.operations.figures()
        open_cases = GaugeMetricFamily("fengqiao_open_cases", "Open cases by type", labels=("type",))
        for case_type, count in sorted(figures.open_cases.items()):
            open_cases.add_metric((case_type,), count)
        yield open_cases
        outbox = GaugeMetricFamily("fengqiao_outbox_messages", "Outbox messages by status", labels=("status",))
        for status, count in figures.outbox.items():
            outbox.add_metric((status,), count)
        yield outbox
        deadlines = GaugeMetricFamily("fengqiao_deadlines_pending", "Pending deadlines; overdue: past due, "
                                      "not yet fired", labels=("state",))
        deadlines.add_metric(("pending",), figures.deadlines_pending)
        deadlines.add_metric(("overdue",), figures.deadlines_overdue)
        yield deadlines
        if figures.last_sweep_age is not None:
            yield GaugeMetricFamily("fengqiao_scheduler_last_sweep_age_seconds",
                                    "Seconds since a scheduler (any process) last swept", value=figures.last_sweep_age)


def install(app: Flask, services: Services) -> None:
    """The routes, and the metrics as the engine's observer."""
    metrics = Metrics(services)
    services.system.engine.observer = metrics
    app.extensions[EXTENSION] = metrics
    app.register_blueprint(bp)


def _services() -> Services:
    return current_app.extensions[_SERVICES]


@bp.get("/healthz")
@public
def healthz():
    report = _services().operations.health()
    response = jsonify(report.as_dict())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
@public
def metrics():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    _services().operations.metrics_access(request.remote_addr, token.strip() if scheme.lower() == "bearer" else None)
    body = generate_latest(current_app.extensions[EXTENSION].registry)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST, "Cache-Control": "no-store"})
