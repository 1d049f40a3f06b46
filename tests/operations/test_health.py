"""`/healthz` for a load balancer and `/metrics` for Prometheus: what a county's operator watches."""
from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from engine import health
from engine.clock import utcnow
from engine.scheduler import DeadlineScheduler
from engine.store import HumanTask
from notifications.dispatcher import OutboxDispatcher
from tests.conftest import BPMN_DIR, make_system
from usecases import CLI
from web.app import create_app

API = "/api/v1"
TOKEN = "a-metrics-token-of-some-length"


@pytest.fixture
def client(store):
    app = create_app(services=store.services)
    app.testing = True
    return app.test_client()


def scheduler_runs_once(store) -> None:
    """One sweep and one outbox run of a scheduler, as its jobs do them (without their timers)."""
    scheduler = DeadlineScheduler(store, OutboxDispatcher.for_system(store))
    if scheduler.lease is not None:
        scheduler._take_lease()
    scheduler._sweep_job()
    scheduler._dispatch_job()
    scheduler._aps.remove_all_jobs()


def metrics_of(response) -> dict[str, list]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"].startswith("text/plain")
    return {family.name: family.samples for family in text_string_to_metric_families(response.get_data(as_text=True))}


def value(families, name: str, **labels) -> float:
    return sum(s.value for f in families.values() for s in f if s.name == name and
               all(s.labels.get(k) == v for k, v in labels.items()))


def test_healthy_once_a_scheduler_swept_and_the_outbox_moves(store, client):
    before = client.get("/healthz")
    assert before.status_code == 503
    body = before.get_json()
    assert body["status"] == "unhealthy" and body["checks"]["store"]["ok"] and not body["checks"]["scheduler"]["ok"]
    assert before.headers["Cache-Control"] == "no-store"

    scheduler_runs_once(store)  # in any process: the heartbeat is in the store
    after = client.get("/healthz")
    assert after.status_code == 200, after.get_json()
    assert after.get_json()["status"] == "ok"
    text = after.get_data(as_text=True)
    assert "mediator" not in text and "case" not in text  # public: nothing about cases or people


def test_a_scheduler_that_stopped_sweeping_is_unhealthy(store, client):
    scheduler_runs_once(store)
    health.record(store.db, health.LAST_SWEEP, utcnow() - timedelta(minutes=5))
    answer = client.get("/healthz")
    assert answer.status_code == 503
    assert not answer.get_json()["checks"]["scheduler"]["ok"] and answer.get_json()["checks"]["outbox"]["ok"]


def test_an_outbox_nobody_delivers_is_stuck(store, client):
    scheduler_runs_once(store)
    # A case registered now queues reminders for its unit; no dispatcher has run for ten minutes.
    store.services.cases.register(CLI, "mediation", {
        "parties": [{"side": "applicant", "name": "甲", "residence_org": "shangzhuang", "household_address": "一组"},
                    {"side": "respondent", "name": "乙", "residence_org": "shangzhuang", "household_address": "二组"}],
        "category": "neighbour", "summary": "测试", "source": "party_application", "risk_level": "red"})
    store.clock.advance(timedelta(days=20))
    store.sweep()
    health.record(store.db, health.LAST_DISPATCH, utcnow() - timedelta(minutes=10))
    health.record(store.db, health.LAST_SWEEP, utcnow())
    answer = client.get("/healthz")
    outbox = answer.get_json()["checks"]["outbox"]
    assert answer.status_code == 503 and not outbox["ok"] and outbox["due"] > 0


def test_metrics_count_commands_by_kind_and_outcome_and_read_the_store(store, client):
    with store.db.read() as session:
        task = session.execute(select(HumanTask.id, HumanTask.case_id).where(
            HumanTask.status == "ready", HumanTask.name == "mediate", HumanTask.org_unit == "shangzhuang")
            .order_by(HumanTask.id)).first()
    token = store.services.admin.create_token(CLI, "mediator_village")
    headers = {"Authorization": f"Bearer {token}"}
    version = client.get(f"{API}/cases/{task.case_id}", headers=headers).get_json()["version"]
    work = {"result": "agreement", "agreement_form": "oral", "agreement_text": "当场履行", "difficulty": "simple"}
    done = client.post(f"{API}/tasks/{task.id}/complete", json={"data": work, "version": version}, headers=headers)
    assert done.status_code == 200, done.get_json()
    # The next step, at the version read before the first: the engine refuses it as stale.
    next_task = client.get(f"{API}/tasks", query_string={"case": task.case_id}, headers=headers).get_json()["items"][0]
    stale = client.post(f"{API}/tasks/{next_task['id']}/complete", json={"data": {"applied": False}, "version": version},
                        headers=headers)
    assert stale.status_code == 409, stale.get_json()

    families = metrics_of(client.get("/metrics"))
    assert value(families, "fengqiao_commands_total", kind="complete_task", outcome="ok") == 1
    assert value(families, "fengqiao_commands_total", kind="complete_task", outcome="conflict") == 1
    assert value(families, "fengqiao_command_duration_seconds_count", kind="complete_task", outcome="ok") == 1
    assert value(families, "fengqiao_command_duration_seconds_sum", kind="complete_task") > 0
    assert value(families, "fengqiao_open_cases", type="mediation") >= 3
    assert value(families, "fengqiao_open_cases", type="petition") >= 1
    assert value(families, "fengqiao_outbox_messages", status="sent") >= 1
    assert "fengqiao_outbox_messages" in families and "fengqiao_deadlines_pending" in families

    store.clock.advance(timedelta(days=40))  # the village and town levels' deadlines pass
    fired = store.sweep()
    assert fired >= 1
    families = metrics_of(client.get("/metrics"))
    assert value(families, "fengqiao_deadlines_fired_total") == fired
    assert value(families, "fengqiao_deadline_lag_seconds_count") == fired
    assert value(families, "fengqiao_deadline_lag_seconds_sum") > 0  # due days before the sweep
    assert value(families, "fengqiao_outbox_messages", status="pending") >= 1  # the overdue reminders


def test_metrics_are_for_this_machine_only_unless_a_token_is_set(store, client, database_url, tmp_path):
    assert client.get("/metrics").status_code == 200
    far = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert far.status_code == 404 and b"fengqiao_" not in far.data

    system = make_system(database_url, BPMN_DIR, metrics_token=TOKEN)
    try:
        app = create_app(services=system.services)
        guarded = app.test_client()
        assert guarded.get("/metrics").status_code == 404  # the token is wanted from everyone, here too
        assert guarded.get("/metrics", headers={"Authorization": "Bearer wrong-token-of-some-length"}).status_code == 404
        remote = guarded.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"},
                             environ_base={"REMOTE_ADDR": "10.1.2.3"})
        assert remote.status_code == 200 and "fengqiao_open_cases" in metrics_of(remote)
    finally:
        system.close()


def test_the_engine_runs_without_an_observer(store):
    """The command path without metrics installed: no observer, the command runs as ever."""
    store.engine.observer = None
    with store.db.read() as session:
        case_id = session.scalar(select(HumanTask.case_id).where(HumanTask.status == "ready").order_by(HumanTask.id))
    assert store.engine.record_event(case_id, "pii_viewed", {}, CLI).version > 0
