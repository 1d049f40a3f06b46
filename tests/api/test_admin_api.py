"""The admin REST API (web/api/admin.py): accounts, roles and unit, deactivation, password resets, API
tokens and the administrators' log, for admins only. Each answer matches its schema in the OpenAPI
document; a revoked or expired token, and every token of a deactivated user, gets 401 at once."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.accounts import add_user, check_password, create_token
from engine.store import AdminEvent, User
from tests.api.conftest import ApiUser
from tests.api.test_openapi import conforms, document  # noqa: F401  (fixtures)


@pytest.fixture
def admin(system, client) -> ApiUser:
    with system.db.write() as s:
        add_user(s, "admin1", ["admin"], "qh", "password1", now=system.clock.now())
        token = create_token(s, "admin1", system.clock.now())
    return ApiUser(client, "admin1", token)


def patch(user: ApiUser, path: str, body):
    return user.client.patch("/api/v1" + path, json=body, headers=user._headers())


def kinds(system) -> list[str]:
    with system.db.read() as s:
        return list(s.scalars(select(AdminEvent.kind).order_by(AdminEvent.seq)))


def test_an_admin_creates_changes_and_lists_accounts(system, admin, conforms):  # noqa: F811
    made = admin.post("/admin/users", {"username": "wang1", "password": "long enough", "roles": ["mediator"],
                                       "org_unit": "qh-dz", "display_name": "王调解"})
    assert made.status_code == 201, made.get_json()
    assert conforms("Account", made.get_json())
    assert made.get_json() | {"created_at": None} == {
        "username": "wang1", "display_name": "王调解", "org_unit": "qh-dz", "unit_name": "东镇", "roles": ["mediator"],
        "civil_servant": False, "active": True, "created_at": None, "live_tokens": 0}
    changed = patch(admin, "/admin/users/wang1", {"roles": ["mediator", "leader"], "org_unit": "qh"})
    assert changed.status_code == 200 and changed.get_json()["roles"] == ["mediator", "leader"]
    listed = admin.get("/admin/users").get_json()
    assert conforms("AccountList", listed)
    assert {u["username"] for u in listed["items"]} >= {"wang1", "med1", "admin1"}
    assert kinds(system) == ["user_created", "user_changed"]
    # Refused input changes nothing and says which field.
    for body, field in (({"roles": ["boss"]}, "roles.0"), ({"org_unit": "nowhere"}, "org_unit"),
                        ({"colour": "red"}, "colour"), ({}, "body")):
        bad = patch(admin, "/admin/users/wang1", body)
        assert bad.status_code == 400 and field in bad.get_json()["error"]["fields"], (body, bad.get_json())
    dup = admin.post("/admin/users", {"username": "wang1", "password": "long enough", "roles": ["mediator"],
                                      "org_unit": "qh"})
    assert dup.status_code == 400 and "username" in dup.get_json()["error"]["fields"]
    missing = admin.post("/admin/users", {"username": "li1"})
    assert missing.status_code == 400 and set(missing.get_json()["error"]["fields"]) == {"password", "roles", "org_unit"}
    assert admin.get("/admin/users/nobody").status_code == 404
    assert kinds(system) == ["user_created", "user_changed"]


def test_only_admins_may_use_it_and_a_refusal_says_nothing_about_the_body(people, admin):
    for person in (people["mediator"], people["auditor"]):
        assert person.get("/admin/users").status_code == 403
        assert person.post("/admin/users", {"username": "z1", "password": "long enough", "roles": ["mediator"],
                                            "org_unit": "qh"}).status_code == 403
        assert person.post("/admin/users/med1/deactivate").status_code == 403
        assert person.post("/admin/users/med1/password", {"password": "long enough"}).status_code == 403
        assert person.post("/admin/tokens/1/revoke").status_code == 403
        assert person.get("/admin/events").status_code == 403
    assert people["anonymous"].get("/admin/users").status_code == 401


def test_tokens_are_issued_listed_and_revoked_and_a_revoked_one_gets_401(system, people, admin, conforms):  # noqa: F811
    issued = admin.post("/admin/users/auditor1/tokens", {"days": 10, "name": "审计系统"})
    assert issued.status_code == 201
    body = issued.get_json()
    assert conforms("IssuedToken", body) and body["state"] == "active" and body["name"] == "审计系统"
    assert body["expires_at"] == "2026-09-11T09:00:00+08:00"
    other = ApiUser(admin.client, "auditor1", body["token"])
    assert other.get("/audit/verify").status_code == 200
    listed = admin.get("/admin/users/auditor1/tokens").get_json()
    assert conforms("TokenList", listed) and body["token"] not in str(listed)
    assert listed["items"][0]["id"] == body["id"]
    revoked = admin.post(f"/admin/tokens/{body['id']}/revoke")
    assert revoked.status_code == 200 and conforms("Token", revoked.get_json())
    assert revoked.get_json()["state"] == "revoked" and revoked.get_json()["revoked_at"] == "2026-09-01T09:00:00+08:00"
    gone = other.get("/audit/verify")
    assert gone.status_code == 401 and gone.headers["WWW-Authenticate"] == "Bearer"
    assert admin.post(f"/admin/tokens/{body['id']}/revoke").status_code == 409
    assert admin.post("/admin/tokens/987654321/revoke").status_code == 404
    assert people["auditor"].get("/audit/verify").status_code == 200  # the auditor's other token still works
    for bad in ({"days": 0}, {"days": 3651}, {"days": "10"}, {"days": True}, {"name": "长" * 101}, {"scope": "all"}):
        assert admin.post("/admin/users/auditor1/tokens", bad).status_code == 400, bad
    assert kinds(system) == ["token_created", "token_revoked"]


def test_an_expired_token_gets_401(system, client, admin):
    token = admin.post("/admin/users/med1/tokens", {"days": 1}).get_json()["token"]
    med = ApiUser(client, "med1", token)
    assert med.get("/tasks").status_code == 200
    system.clock.advance(timedelta(days=1))
    expired = med.get("/tasks")
    assert expired.status_code == 401 and "过期" in expired.get_json()["error"]["message"]
    assert admin.get("/admin/users/med1/tokens").get_json()["items"][0]["state"] == "expired"


def test_deactivation_refuses_every_token_of_the_user_at_once(system, people, admin):
    med = people["mediator"]
    assert med.get("/tasks").status_code == 200
    done = admin.post("/admin/users/med1/deactivate")
    assert done.status_code == 200 and done.get_json()["active"] is False
    assert med.get("/tasks").status_code == 401
    assert admin.post("/admin/users/med1/deactivate").status_code == 409
    assert admin.post("/admin/users/med1/tokens", {}).status_code == 409  # no new token while deactivated
    assert admin.post("/admin/users/admin1/deactivate").status_code == 409  # not oneself
    assert admin.post("/admin/users/med1/activate").status_code == 200
    assert med.get("/tasks").status_code == 200
    assert kinds(system) == ["user_deactivated", "user_activated"]


def test_a_password_reset_is_checked_and_recorded_without_the_password(system, admin):
    assert admin.post("/admin/users/med1/password", {"password": "short"}).status_code == 400
    assert admin.post("/admin/users/med1/password", {}).status_code == 400
    assert admin.post("/admin/users/med1/password", {"password": "new secret 1", "x": 1}).status_code == 400
    assert admin.post("/admin/users/med1/password", {"password": "new secret 1"}).status_code == 200
    with system.db.read() as s:
        user = s.scalar(select(User).where(User.username == "med1"))
        assert check_password(user.password_hash, "new secret 1")
        (event,) = s.scalars(select(AdminEvent)).all()
        assert event.kind == "password_reset" and event.subject == "med1" and "new secret" not in str(event.data)


def test_the_log_lists_newest_first_by_subject_and_verifies_the_chain(system, admin, conforms):  # noqa: F811
    admin.post("/admin/users/med1/deactivate")
    admin.post("/admin/users/med1/activate")
    admin.post("/admin/users/auditor1/tokens", {})
    page = admin.get("/admin/events").get_json()
    assert conforms("AdminEventPage", page)
    assert [e["kind"] for e in page["items"]] == ["token_created", "user_activated", "user_deactivated"]
    assert page["chain"] == {"ok": True, "checked": 3, "broken_seq": None, "reason": None}
    assert [e["kind"] for e in admin.get("/admin/events", subject="med1").get_json()["items"]] == [
        "user_activated", "user_deactivated"]
    first = admin.get("/admin/events", limit=2).get_json()
    assert len(first["items"]) == 2 and first["next"] == "2"
    assert [e["seq"] for e in admin.get("/admin/events", before=first["next"]).get_json()["items"]] == [1]
    assert admin.get("/admin/events", before="x").status_code == 400


def test_the_document_describes_the_admin_routes(document):  # noqa: F811
    from web.api.admin import OPENAPI_PATHS, OPENAPI_SCHEMAS
    for name in OPENAPI_SCHEMAS:
        assert name in document["components"]["schemas"]
    assert {"/admin/users", "/admin/users/{username}", "/admin/tokens/{token_id}/revoke", "/admin/events"} <= set(
        document["paths"])
    assert OPENAPI_SCHEMAS["NewAccount"]["additionalProperties"] is False
    assert set(OPENAPI_PATHS) <= set(document["paths"])
    for path, item in OPENAPI_PATHS.items():
        assert {m for m in item if m != "parameters"} == {m for m in document["paths"][path]}, path
