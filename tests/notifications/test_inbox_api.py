"""The inbox and notification settings over the REST API, and the failed messages an admin sees."""
from __future__ import annotations

import pytest

from engine.accounts import create_token
from notifications.dispatcher import OutboxDispatcher
from tests.api.conftest import ApiUser
from tests.deadlines.conftest import outbox, set_channels
from tests.notifications.test_channels import overdue_village_case
from web.app import create_app


@pytest.fixture
def api(county):
    """people by username, each calling the API with their own token."""
    app = create_app(system=county)
    app.testing = True
    client = app.test_client()
    with county.db.write() as s:
        tokens = {name: create_token(s, name, county.clock.now()) for name in ("vmed1", "town_head", "admin1", "med1")}
    return {name: ApiUser(client, name, token) for name, token in tokens.items()}


def test_a_mediator_reads_the_reminders_in_the_inbox_and_marks_them_read(county, api):
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    me = api["vmed1"]
    inbox = me.get("/inbox").get_json()
    assert inbox["unread"] == 1 and len(inbox["items"]) == 1
    (item,) = inbox["items"]
    assert item["kind"] == "deadline_overdue" and item["read"] is False and "TIMED-2026-000001" in item["title"]
    assert item["created_at"].endswith("+08:00")
    read = me.post(f"/inbox/{item['id']}/read")
    assert read.status_code == 200 and read.get_json()["read"] is True
    assert me.get("/inbox").get_json()["unread"] == 0
    assert me.get("/inbox", unread=1).get_json()["items"] == []
    # nobody reads or marks another person's inbox
    assert api["town_head"].post(f"/inbox/{item['id']}/read").status_code == 404
    head = api["town_head"].get("/inbox").get_json()
    assert head["unread"] == 1 and head["items"][0]["kind"] == "deadline_overdue_supervisor"
    assert api["town_head"].post("/inbox/read-all").get_json() == {"marked": 1, "unread": 0}


def test_a_user_chooses_channels_and_gives_a_valid_email_and_mobile(api):
    me = api["vmed1"]
    assert me.get("/me/notifications").get_json() == {"username": "vmed1", "channels": ["inapp"], "email": None,
                                                      "phone": None, "unit_head": False}
    bad = me.client.put("/api/v1/me/notifications", json={"email": "not-an-address", "phone": "12345"},
                        headers={"Authorization": f"Bearer {me.token}"})
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"email", "phone"}
    missing = me.client.put("/api/v1/me/notifications", json={"channels": ["inapp", "sms"]},
                            headers={"Authorization": f"Bearer {me.token}"})
    assert missing.status_code == 400 and "phone" in missing.get_json()["error"]["fields"]
    ok = me.client.put("/api/v1/me/notifications",
                       json={"channels": ["email", "sms"], "email": " vmed1@liucun.example ", "phone": "+86 13800138000"},
                       headers={"Authorization": f"Bearer {me.token}"})
    assert ok.status_code == 200, ok.get_json()
    assert ok.get_json() == {"username": "vmed1", "channels": ["email", "sms"], "email": "vmed1@liucun.example",
                             "phone": "13800138000", "unit_head": False}


def test_an_admin_sees_a_failed_message_with_its_attempts_and_sends_it_again(county, api):
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    with county.db.write() as s:  # the address went missing after it was chosen: delivery cannot succeed
        from engine.store import User
        s.execute(User.__table__.update().where(User.username == "vmed1").values(email=None))
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    assert api["vmed1"].get("/outbox").status_code == 403
    failed = api["admin1"].get("/outbox", status="failed").get_json()["items"]
    (message,) = [m for m in failed if m["recipient"] == "vmed1"]
    assert message["attempts"] == 1 and "e-mail" in message["last_error"]
    assert message["attempt_log"][0]["ok"] is False
    assert api["admin1"].get("/inbox").get_json()["unread"] == 1  # and the admin was told in-app
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    again = api["admin1"].post(f"/outbox/{message['id']}/retry")
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    assert api["admin1"].post(f"/outbox/{message['id']}/retry").status_code == 409
    OutboxDispatcher.for_system(county).dispatch()
    assert [m.status for m in outbox(county, "deadline_overdue") if m.recipient == "vmed1"] == ["sent"]
