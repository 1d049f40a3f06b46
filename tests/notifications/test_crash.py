"""No reminder is lost or sent twice across a crash: a scheduler killed after the firing committed but
before the reminders went out delivers each of them once after it is restarted."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from engine.store import InboxItem

from tests.deadlines.conftest import DEADLINES, ROOT, VILLAGE, deadlines_of, events_of, outbox, set_channels, wait_for
from tests.notifications.test_channels import OVERDUE

_KILLED_BEFORE_DELIVERY = """
import os, signal, sys
sys.path.insert(0, {root!r})
from engine.config import Settings
from workflows import build_system
import notifications.channels as channels
import notifications.dispatcher as dispatcher

def die(*args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)

if {where!r} == "before_delivery":     # the firing and its outbox rows are committed; nothing went out
    dispatcher.OutboxDispatcher.dispatch = die
else:                                   # in the middle of talking to the mail server
    channels.Smtp.send = die

system = build_system(Settings.from_env())
report = system.sweep_all()
print("fired", report.fired, flush=True)
dispatcher.OutboxDispatcher.for_system(system).dispatch()
print("survived", flush=True)
"""


@pytest.mark.parametrize("where", ["before_delivery", "while_sending"])
def test_a_crash_between_commit_and_delivery_delivers_each_reminder_once_after_restart(
        county, schedulers, mail_server, tmp_path, where):
    server = mail_server()
    url = county.settings.database_url
    smtp = {"FENGQIAO_EMAIL_BACKEND": "smtp", "FENGQIAO_SMTP_HOST": "127.0.0.1",
            "FENGQIAO_SMTP_PORT": str(server.port), "FENGQIAO_SMTP_SECURITY": "none"}
    set_channels(county, "vmed1", ["inapp", "email"], email="vmed1@liucun.example")
    set_channels(county, "town_head", ["email"], email="head@dongzhen.example")
    case_id = county.engine.start_case("timed", {"days": 10, "jurisdiction": VILLAGE},
                                       county.people["intake"]).case_id
    county.clock.set(OVERDUE)

    env = {**os.environ, "PYTHONPATH": str(ROOT), "FENGQIAO_DATABASE_URL": url, "FENGQIAO_SIMULATED_CLOCK": "1",
           "FENGQIAO_BPMN_DIR": str(DEADLINES), **smtp}
    script = _KILLED_BEFORE_DELIVERY.format(root=str(ROOT), where=where)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == -9, result.stderr
    assert "fired 1" in result.stdout and "survived" not in result.stdout
    # The firing and the reminders it queued are in the store; nothing reached anyone.
    assert deadlines_of(county, case_id)[0].status == "fired"
    queued = outbox(county)
    assert sorted((m.recipient, m.channel) for m in queued) == [
        ("town_head", "email"), ("vmed1", "email"), ("vmed1", "inapp")]
    assert all(m.status == "pending" for m in queued if m.channel == "email") and server.received == []
    if where == "before_delivery":
        assert all(m.status == "pending" for m in queued)  # (killed while sending, the in-app one went first)

    restarted = schedulers(url, "restarted", **smtp)
    wait_for(lambda: all(m.status == "sent" for m in outbox(county)), 20, what="delivery after the restart")
    restarted.stop()
    assert sorted(m["To"].addresses[0].addr_spec for m in server.received) == [
        "head@dongzhen.example", "vmed1@liucun.example"]
    assert len(events_of(county, "deadline_breached")) == 1
    # and once more: nothing is sent again
    again = schedulers(url, "again", **smtp)
    time.sleep(1.0)
    again.stop()
    assert len(server.received) == 2
    assert [m.attempts for m in outbox(county)] == [1, 1, 1]
    with county.db.read() as s:
        assert s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.username == "vmed1")) == 1
