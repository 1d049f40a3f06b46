"""系统管理 (/admin) as an administrator uses it, without JavaScript: accounts (create, change roles
and unit, deactivate, reset a password, issue and revoke API tokens), org units, the subsidy rate
table and its versions, the holiday years and their import, failed notifications with retry, and
the administrators' log with its hash chain. Every change is an admin event; a refused form keeps
what was typed; and a deactivated user or a revoked token is shut out at once."""
from __future__ import annotations

import io
import json
import re
import socket

import pytest
from sqlalchemy import select, update

from engine.accounts import check_password
from engine.store import AdminEvent, ApiToken, OutboxMessage, User
from tests.conftest import definition_files, deploy_files
from tests.deadlines.conftest import (  # noqa: F401
    _notification_log_in_tmp,
    a_county,
    build,
    seed_county,
)
from tests.pages.app import page_app
from tests.pages.conftest import PageUser

API = "/api/v1"


@pytest.fixture
def county(database_url):
    with a_county(database_url) as system:
        yield system


@pytest.fixture
def app(county):
    return page_app(county)


@pytest.fixture
def admin(app):
    person = PageUser(app)
    assert person.login("admin1", "password1").status_code == 302
    return person


def events(system, kind: str | None = None) -> list[AdminEvent]:
    with system.db.read() as s:
        query = select(AdminEvent).order_by(AdminEvent.seq)
        if kind:
            query = query.where(AdminEvent.kind == kind)
        rows = list(s.scalars(query))
        s.expunge_all()
        return rows


def user_row(system, username: str) -> User:
    with system.db.read() as s:
        row = s.scalar(select(User).where(User.username == username))
        s.expunge_all()
        return row


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_index_names_every_section_and_warns_of_next_year_without_its_schedule(admin):
    page = admin.page("/admin")
    for href in ("/admin/users", "/admin/units", "/admin/definitions", "/admin/rates", "/admin/calendar",
                 "/admin/notifications", "/admin/events"):
        assert f'href="{href}"' in page
    # The clock is in 2026 (bundled); 2027 has no official schedule yet.
    assert "尚未导入 2027 年的官方节假日安排" in page and "⚠" in page
    english = admin.page("/admin?lang=en")
    assert "The official holiday schedule of 2027 has not been imported" in english and "Users and tokens" in english


def test_an_admin_creates_an_account_and_a_refused_form_keeps_what_was_typed(county, admin):
    refused = admin.submit("/admin/users", {"username": "bad name!", "display_name": "王调解", "org_unit": "qh-dz",
                                            "roles": ["mediator"], "password": "long enough 1",
                                            "password_again": "long enough 1"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'value="bad name!"' in html and 'value="王调解"' in html and "long enough 1" not in html
    assert 'value="qh-dz" selected' in html and 'value="mediator" checked' in html
    assert 'href="#new-username"' in html  # the summary links to the field
    mismatch = admin.submit("/admin/users", {"username": "wang1", "org_unit": "qh-dz", "roles": ["mediator"],
                                             "password": "long enough 1", "password_again": "long enough 2"})
    assert mismatch.status_code == 400 and "两次输入的密码不一致" in mismatch.get_data(as_text=True)
    assert user_row(county, "wang1") is None and events(county) == []

    made = admin.submit("/admin/users", {"username": "wang1", "display_name": "王调解", "org_unit": "qh-dz",
                                         "roles": ["mediator", "intake"], "password": "long enough 1",
                                         "password_again": "long enough 1"})
    assert made.status_code == 302 and made.headers["Location"].endswith("/admin/users/wang1")
    row = user_row(county, "wang1")
    assert row.roles == ["mediator", "intake"] and row.org_unit == "qh-dz" and check_password(row.password_hash,
                                                                                              "long enough 1")
    (event,) = events(county, "user_created")
    assert event.actor == "admin1" and event.subject == "wang1" and event.data["roles"] == ["mediator", "intake"]
    assert "wang1" in admin.page("/admin/users") and PageUser(admin.app).login("wang1", "long enough 1").status_code == 302


def test_changing_roles_and_unit_is_recorded_with_before_and_after(county, admin):
    page = admin.page("/admin/users/med1")
    assert "调解员" in page
    changed = admin.submit("/admin/users/med1", {"display_name": "李调解", "org_unit": "qh-dz",
                                                 "roles": ["mediator", "leader"]}, form_page="/admin/users/med1")
    assert changed.status_code == 302
    row = user_row(county, "med1")
    assert row.roles == ["mediator", "leader"] and row.org_unit == "qh-dz" and row.display_name == "李调解"
    (event,) = events(county, "user_changed")
    assert event.data["roles"] == {"from": ["mediator"], "to": ["mediator", "leader"]}
    assert event.data["org_unit"] == {"from": "qh", "to": "qh-dz"}
    no_roles = admin.submit("/admin/users/med1", {"display_name": "李调解", "org_unit": "qh-dz"},
                            form_page="/admin/users/med1")
    assert no_roles.status_code == 400 and "角色" in no_roles.get_data(as_text=True)
    assert user_row(county, "med1").roles == ["mediator", "leader"]
    log = admin.page("/admin/events")
    assert "修改账号" in log and "✓" in log and "mediator、leader" in log


def test_deactivating_a_user_ends_their_page_session_and_their_token_at_once(county, admin, app):
    med = PageUser(app, "10.0.0.9")
    assert med.login("med1", "password1").status_code == 302
    assert med.get("/tasks").status_code == 200
    issued = admin.submit("/admin/users/med1/tokens", {"name": "对接系统", "days": ""}, form_page="/admin/users/med1")
    token = re.search(r'id="new-token-value" class="token-value" value="(fq_[^"]+)"', issued.get_data(as_text=True))
    assert issued.status_code == 200 and token
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {token.group(1)}"}
    assert api.get(API + "/tasks", headers=bearer).status_code == 200

    assert admin.submit("/admin/users/med1/deactivate", {}, form_page="/admin/users/med1").status_code == 302
    shut = med.get("/tasks")
    assert shut.status_code == 302 and "/login" in shut.headers["Location"]
    assert "您的账号已停用" in med.page(shut.headers["Location"])
    assert api.get(API + "/tasks", headers=bearer).status_code == 401
    assert med.login("med1", "password1").status_code == 400  # and no new sign-in either
    assert "已停用" in admin.page("/admin/users")
    # Admins cannot lock themselves out.
    me = admin.submit("/admin/users/admin1/deactivate", {}, form_page="/admin/users/admin1")
    assert me.status_code == 409 and user_row(county, "admin1").active

    assert admin.submit("/admin/users/med1/activate", {}, form_page="/admin/users/med1").status_code == 302
    assert med.login("med1", "password1").status_code == 302
    assert api.get(API + "/tasks", headers=bearer).status_code == 200  # the token itself was never revoked
    assert [e.kind for e in events(county)] == ["token_created", "user_deactivated", "user_activated"]


def test_a_password_reset_signs_out_the_old_sessions(county, admin, app):
    med = PageUser(app, "10.0.0.9")
    med.login("med1", "password1")
    short = admin.submit("/admin/users/med1/password", {"password": "short", "password_again": "short"},
                         form_page="/admin/users/med1")
    assert short.status_code == 400 and "至少 8 位" in short.get_data(as_text=True)
    assert med.get("/tasks").status_code == 200
    done = admin.submit("/admin/users/med1/password", {"password": "a new secret", "password_again": "a new secret"},
                        form_page="/admin/users/med1")
    assert done.status_code == 302
    gone = med.get("/tasks")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert "密码已被管理员重设" in med.page(gone.headers["Location"])
    assert med.login("med1", "password1").status_code == 400
    assert med.login("med1", "a new secret").status_code == 302 and med.get("/tasks").status_code == 200
    assert admin.get("/tasks").status_code == 200  # the admin's own session is untouched
    (event,) = events(county, "password_reset")
    assert event.subject == "med1" and "password" not in json.dumps(event.data)


def test_an_admin_lists_and_revokes_a_token_and_the_api_refuses_it(county, admin, app):
    issued = admin.submit("/admin/users/auditor1/tokens", {"name": "审计系统", "days": "30"},
                          form_page="/admin/users/auditor1").get_data(as_text=True)
    secret = re.search(r'value="(fq_[^"]+)"', issued).group(1)
    assert "审计系统" in issued and "2026-10-01" in issued  # 30 days from 2026-09-01
    api = app.test_client()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert api.get(API + "/audit/verify", headers=bearer).status_code == 200
    page = admin.page("/admin/users/auditor1")
    assert secret not in page  # shown once, never again
    (token_id,) = re.findall(r'/admin/tokens/(\d+)/revoke', page)
    revoked = admin.submit(f"/admin/tokens/{token_id}/revoke", {"next": "/admin/users/auditor1#tokens"},
                           form_page="/admin/users/auditor1")
    assert revoked.status_code == 302 and revoked.headers["Location"].endswith("/admin/users/auditor1#tokens")
    refused = api.get(API + "/audit/verify", headers=bearer)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "unauthenticated"
    page = admin.page("/admin/users/auditor1")
    assert "已撤销" in page and f"/admin/tokens/{token_id}/revoke" not in page
    bad_days = admin.submit("/admin/users/auditor1/tokens", {"days": "0"}, form_page="/admin/users/auditor1")
    assert bad_days.status_code == 400 and "有效天数" in bad_days.get_data(as_text=True)
    assert [e.kind for e in events(county)] == ["token_created", "token_revoked"]


def test_a_token_past_its_expiry_is_refused(county, admin, app):
    issued = admin.submit("/admin/users/auditor1/tokens", {"days": "1"}, form_page="/admin/users/auditor1")
    secret = re.search(r'value="(fq_[^"]+)"', issued.get_data(as_text=True)).group(1)
    bearer = {"Authorization": f"Bearer {secret}"}
    api = app.test_client()
    assert api.get(API + "/audit/verify", headers=bearer).status_code == 200
    from datetime import timedelta
    county.clock.advance(timedelta(days=1, seconds=1))
    refused = api.get(API + "/audit/verify", headers=bearer)
    assert refused.status_code == 401 and "过期" in refused.get_json()["error"]["message"]
    assert "已过期" in admin.page("/admin/users/auditor1")


def test_org_units_are_listed_and_added(county, admin):
    page = admin.page("/admin/units")
    assert "柳村" in page and "东镇" in page
    refused = admin.submit("/admin/units", {"code": "xz-hx", "name": "河西村", "level": "village", "parent": ""})
    assert refused.status_code == 400 and 'value="河西村"' in refused.get_data(as_text=True)
    assert admin.submit("/admin/units", {"code": "qh-xz", "name": "西镇", "level": "town", "parent": "qh"}).status_code == 302
    assert "西镇" in admin.page("/admin/units")
    (event,) = events(county, "org_unit_created")
    assert event.subject == "qh-xz" and event.data == {"name": "西镇", "level": "town", "parent": "qh"}


def test_the_rate_table_in_force_and_its_history(county, admin):
    assert "还没有部署补贴标准" in admin.page("/admin/rates")
    original = definition_files(names=("subsidy.dmn",))
    deploy_files(county, original)
    raised = {"subsidy.dmn": original["subsidy.dmn"].replace(b"<text>3000</text>", b"<text>3500</text>")}
    deploy_files(county, raised)
    page = text_of(admin.page("/admin/rates"))
    assert "现行标准是第 2 版" in page and "35.00 元" in page
    current, _, history = page.partition("历史版本")
    assert "30.00 元" not in current and "30.00 元" in history and "第 1 版" in history
    assert [e.data["versions"][0]["version"] for e in events(county, "definitions_deployed")] == [1, 2]


def test_the_holiday_years_and_importing_a_year(county, admin):
    page = admin.page("/admin/calendar")
    assert "2025" in page and "2026" in page and "尚未导入 2027 年" in page
    bad = admin.client.post("/admin/calendar", data={"csrf_token": admin.token("/admin/calendar"),
                                                     "file": (io.BytesIO(b'{"year": 2027}'), "2027.json")},
                            content_type="multipart/form-data")
    assert bad.status_code == 400 and "尚未导入 2027 年" in bad.get_data(as_text=True)
    year = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
            "holidays": [{"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"}], "workdays": []}
    done = admin.client.post("/admin/calendar", data={
        "csrf_token": admin.token("/admin/calendar"),
        "file": (io.BytesIO(json.dumps(year, ensure_ascii=False).encode()), "2027.json")},
        content_type="multipart/form-data")
    assert done.status_code == 302
    page = admin.page("/admin/calendar")
    assert "尚未导入" not in page and "2027年部分节假日安排" in page
    assert county.calendar.is_working_day(__import__("datetime").date(2027, 1, 1)) is False
    (event,) = events(county, "calendar_imported")
    assert event.subject == "2027" and event.data["holidays"] == 3


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_failed_notifications_are_listed_and_sent_again(database_url):
    from notifications.dispatcher import OutboxDispatcher
    from tests.deadlines.conftest import set_channels
    from tests.notifications.test_channels import overdue_village_case
    system = build(database_url, outbox_max_attempts=1, email_backend="smtp", smtp_host="127.0.0.1",
                   smtp_port=closed_port(), smtp_security="none", smtp_timeout=2)
    try:
        system.people = seed_county(system)
        set_channels(system, "vmed1", ["email"], email="vmed1@liucun.example")
        overdue_village_case(system)
        OutboxDispatcher.for_system(system).dispatch()
        with system.db.read() as s:
            (failed,) = s.scalars(select(OutboxMessage).where(OutboxMessage.status == "failed",
                                                              OutboxMessage.recipient == "vmed1")).all()
            failed_id = failed.id
        admin = PageUser(page_app(system))
        admin.login("admin1", "password1")
        assert "有 1 条通知发送失败" in admin.page("/admin")
        page = admin.page("/admin/notifications")
        assert "vmed1" in page and "邮件" in page and f"/admin/notifications/{failed_id}/retry" in page
        assert admin.submit(f"/admin/notifications/{failed_id}/retry", {},
                            form_page="/admin/notifications").status_code == 302
        with system.db.read() as s:
            assert s.get(OutboxMessage, failed_id).status == "pending"
        assert "没有发送失败的通知" in admin.page("/admin/notifications")
        (event,) = events(system, "outbox_retried")
        assert event.subject == "vmed1" and event.data["message_id"] == failed_id
    finally:
        system.close()


def test_the_log_shows_a_broken_chain(county, admin):
    admin.submit("/admin/units", {"code": "qh-xz", "name": "西镇", "level": "town", "parent": "qh"})
    admin.submit("/admin/users/med1/deactivate", {}, form_page="/admin/users/med1")
    assert "校验通过" in admin.page("/admin/events")
    with county.db.write() as s:
        s.execute(update(AdminEvent).where(AdminEvent.seq == 1).values(data={"name": "北镇", "level": "town",
                                                                             "parent": "qh"}))
    page = admin.page("/admin/events")
    assert "校验未通过" in page and "第 1 条记录" in page


def test_a_revoked_token_row_is_kept_with_its_time(county, admin):
    admin.submit("/admin/users/auditor1/tokens", {"days": ""}, form_page="/admin/users/auditor1")
    with county.db.read() as s:
        token = s.scalar(select(ApiToken))
        assert token.name == "" and (token.expires_at - token.created_at).days == 90
    page = admin.page("/admin/users/auditor1")
    (token_id,) = re.findall(r'/admin/tokens/(\d+)/revoke', page)
    admin.submit(f"/admin/tokens/{token_id}/revoke", {"next": "/admin/users/auditor1"}, form_page="/admin/users/auditor1")
    again = admin.submit(f"/admin/tokens/{token_id}/revoke", {"next": "/admin/users/auditor1"},
                         form_page="/admin/users/auditor1")
    assert again.status_code == 302 and "已撤销" in admin.page("/admin/users/auditor1")
    with county.db.read() as s:
        token = s.scalar(select(ApiToken))
        assert token.revoked and token.revoked_at == county.clock.now()
