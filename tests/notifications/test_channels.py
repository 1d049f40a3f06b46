"""Reminders leave by the channels each person chose: in-app, e-mail over SMTP, SMS through a gateway."""
from __future__ import annotations

import json
import time
from datetime import datetime

import pytest
from sqlalchemy import select

from engine.calendar import ZONE
from engine.store import InboxItem, OutboxAttempt
from notifications.channels import message_id
from notifications.dispatcher import OutboxDispatcher
from tests.deadlines.conftest import VILLAGE, outbox, set_channels
from tests.notifications.conftest import PASSWORD, USER

OVERDUE = datetime(2026, 9, 14, 9, 0, tzinfo=ZONE)  # Monday morning, after the Friday due time


def overdue_village_case(system, **data) -> int:
    """A village step that is overdue now: its reminders are queued, ready to deliver."""
    case_id = system.engine.start_case("timed", {"days": 10, "jurisdiction": VILLAGE, **data},
                                       system.people["intake"]).case_id
    system.clock.set(OVERDUE)
    assert system.sweep_all().fired == 1
    return case_id


def attempts(system, message_id_: int) -> list[OutboxAttempt]:
    with system.db.read() as s:
        rows = list(s.scalars(select(OutboxAttempt).where(OutboxAttempt.message_id == message_id_)
                              .order_by(OutboxAttempt.attempt)))
        s.expunge_all()
        return rows


def deliver_until_settled(system, timeout: float = 10.0) -> OutboxDispatcher:
    """Run the dispatcher until nothing is pending (waiting out the back-off between tries)."""
    dispatcher = OutboxDispatcher.for_system(system)
    limit = time.monotonic() + timeout
    while any(m.status == "pending" for m in outbox(system)):
        assert time.monotonic() < limit, [(m.channel, m.status, m.last_error) for m in outbox(system)]
        dispatcher.dispatch()
        time.sleep(0.02)
    return dispatcher


def smtp_settings(server, **more):
    return {"email_backend": "smtp", "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none",
            "smtp_from": "枫桥提醒 <noreply@qinghe.example>", "smtp_timeout": 5.0, **more}


def test_the_overdue_reminder_reaches_the_mediator_by_email_and_in_app(county_with, mail_server):
    server = mail_server()
    county = county_with(**smtp_settings(server))
    set_channels(county, "vmed1", ["inapp", "email"], email="vmed1@liucun.example")
    overdue_village_case(county)
    deliver_until_settled(county)
    (mail,) = server.received
    assert mail["To"].addresses[0].addr_spec == "vmed1@liucun.example"
    assert "TIMED-2026-000001" in mail["Subject"] and "超期" in mail["Subject"]
    assert mail.get_content_type() == "multipart/alternative"
    text = mail.get_body(("plain",)).get_content()
    html = mail.get_body(("html",)).get_content()
    assert "2026年09月11日 23:59" in text and "Asia/Shanghai" in text and "/tasks/" in text
    assert "<a href=" in html and "TIMED-2026-000001" in html
    (email_message,) = [m for m in outbox(county, "deadline_overdue") if m.channel == "email"]
    assert mail["Message-ID"] == message_id(email_message.idempotency_key)  # receivers can drop a duplicate
    assert email_message.status == "sent" and [a.ok for a in attempts(county, email_message.id)] == [True]
    with county.db.read() as s:
        assert s.scalar(select(InboxItem.title).where(InboxItem.username == "vmed1")).startswith("【超期】")


def test_a_mail_server_that_refuses_at_first_gets_the_reminder_once_when_it_accepts(county_with, mail_server):
    server = mail_server(refuse=2)
    county = county_with(**smtp_settings(server), outbox_retry_seconds=0.05)
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    overdue_village_case(county)
    dispatcher = deliver_until_settled(county)
    assert server.refused == 2 and len(server.received) == 1
    (message,) = outbox(county, "deadline_overdue")
    assert message.status == "sent" and message.attempts == 3 and message.last_error == ""
    log = attempts(county, message.id)
    assert [a.ok for a in log] == [False, False, True]
    assert "451" in log[0].error
    assert dispatcher.backoff(2) == 2 * dispatcher.backoff(1)  # exponential
    dispatcher.dispatch()
    assert len(server.received) == 1  # delivered is delivered


def test_a_reminder_that_cannot_be_delivered_is_given_up_and_shown_to_the_admins(county_with, mail_server):
    server = mail_server(refuse=100)
    county = county_with(**smtp_settings(server), outbox_retry_seconds=0.02, outbox_max_attempts=3)
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    overdue_village_case(county)
    deliver_until_settled(county)
    (message,) = outbox(county, "deadline_overdue")
    assert message.status == "failed" and message.attempts == 3 and "451" in message.last_error
    assert server.received == []
    with county.db.read() as s:
        (alert,) = s.scalars(select(InboxItem).where(InboxItem.username == "admin1")).all()
        assert alert.kind == "delivery_failed" and f"#{message.id}" in alert.title and "vmed1" in alert.title


def test_a_permanent_refusal_is_not_retried(county_with, mail_server):
    server = mail_server(refuse=1, refusal="550 5.1.1 No such mailbox")
    county = county_with(**smtp_settings(server), outbox_retry_seconds=0.02)
    set_channels(county, "vmed1", ["email"], email="nobody@liucun.example")
    overdue_village_case(county)
    deliver_until_settled(county)
    (message,) = outbox(county, "deadline_overdue")
    assert message.status == "failed" and message.attempts == 1 and "550" in message.last_error


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd and implicit TLS
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_mail_goes_over_tls_with_the_configured_login(county_with, mail_server, certificates, security):
    server = mail_server(tls=security, login=True)
    county = county_with(**smtp_settings(server, smtp_security=security, smtp_username=USER, smtp_password=PASSWORD,
                                         smtp_ca_file=str(certificates[0])))
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    overdue_village_case(county)
    deliver_until_settled(county)
    assert len(server.received) == 1


def test_a_wrong_password_is_retried_and_visible_as_the_last_error(county_with, mail_server, certificates):
    server = mail_server(tls="starttls", login=True)
    county = county_with(**smtp_settings(server, smtp_security="starttls", smtp_username=USER,
                                         smtp_password="wrong", smtp_ca_file=str(certificates[0])))
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    (message,) = outbox(county, "deadline_overdue")
    assert message.status == "pending" and message.attempts == 1 and "535" in message.last_error


def test_sms_goes_through_the_county_gateway_with_the_configured_body(county_with, sms_gateway):
    gateway = sms_gateway(fail=1)
    county = county_with(sms_backend="http", sms_url=gateway.url, outbox_retry_seconds=0.05,
                         sms_body='{"mobiles": ["{{phone}}"], "content": "{{text}}", "sign": "清河县", "ref": "{{key}}"}',
                         sms_headers='{"X-Token": "county-token"}')
    set_channels(county, "vmed1", ["sms"], phone="+86 138-0013-8000")
    overdue_village_case(county)
    deliver_until_settled(county)
    ((body, headers),) = gateway.requests
    (message,) = outbox(county, "deadline_overdue")
    assert body["mobiles"] == ["13800138000"] and body["sign"] == "清河县" and body["ref"] == message.idempotency_key
    assert "TIMED-2026-000001" in body["content"] and "超期" in body["content"]
    assert headers["X-Token"] == "county-token" and headers["Idempotency-Key"] == message.idempotency_key
    assert message.attempts == 2 and message.status == "sent"


def test_until_servers_are_configured_email_and_sms_are_written_to_the_log_file(county_with, tmp_path):
    county = county_with()
    set_channels(county, "vmed1", ["email", "sms"], email="vmed1@liucun.example", phone="13800138000")
    overdue_village_case(county)
    deliver_until_settled(county)
    lines = [json.loads(line) for line in (tmp_path / "notifications.log").read_text().splitlines()]
    assert sorted((line["channel"], line["to"]) for line in lines) == [("email", "vmed1@liucun.example"),
                                                                       ("sms", "13800138000")]
    assert all("TIMED-2026-000001" in line["subject"] for line in lines)


def test_a_channel_without_an_address_fails_visibly_rather_than_silently(county_with):
    county = county_with()
    set_channels(county, "vmed1", ["email"], email="vmed1@liucun.example")
    with county.db.write() as s:  # the address was removed behind the settings' back
        from engine.store import User
        s.execute(User.__table__.update().where(User.username == "vmed1").values(email=None))
    overdue_village_case(county)
    deliver_until_settled(county)
    (message,) = outbox(county, "deadline_overdue")
    assert message.status == "failed" and "e-mail" in message.last_error
