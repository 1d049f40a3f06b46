"""The administration and inbox pages join the page matrix: every role × every page of /admin and
/inbox, signed in through /login like a person, in the REST matrix's world. Only admins may use
/admin (everyone else gets the 403 page and changes nothing); everyone has an inbox of their own."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from engine.application import Actor
from engine.store import AdminEvent, ApiToken, User
from tests.api.test_authorization_matrix import PEOPLE, SECRETS, state, world  # noqa: F401
from tests.pages.conftest import PageUser
from usecases import authorization as authz

MISSING = 987654321
PAGES = {  # page: the use case it serves, the form sent (POST)
    "GET /admin": ("admin.calendar_read", None),
    "GET /admin/users": ("admin.list_users", None),
    "POST /admin/users": ("admin.users", {"username": "x", "password": "", "password_again": ""}),
    "GET /admin/users/xmed1": ("admin.list_users", None),
    "POST /admin/users/xmed1": ("admin.change_user", {"display_name": ""}),
    "POST /admin/users/xmed1/deactivate": ("admin.deactivate_user", {}),
    "POST /admin/users/xmed1/activate": ("admin.activate_user", {}),
    "POST /admin/users/xmed1/password": ("admin.reset_password", {"password": "short", "password_again": "short"}),
    "POST /admin/users/xmed1/tokens": ("admin.tokens", {"days": "0"}),
    f"POST /admin/tokens/{MISSING}/revoke": ("admin.revoke_token", {}),
    "GET /admin/units": ("admin.org_units", None),
    "POST /admin/units": ("admin.org_units", {"code": "", "name": "", "level": ""}),
    "GET /admin/rates": ("admin.rates", None),
    "GET /admin/calendar": ("admin.calendar_read", None),
    "POST /admin/calendar": ("admin.calendar", {}),
    "GET /admin/notifications": ("outbox.read", None),
    f"POST /admin/notifications/{MISSING}/retry": ("outbox.retry", {}),
    "GET /admin/events": ("admin.events", None),
    "GET /inbox": ("inbox.own", None),
    f"POST /inbox/{MISSING}/read": ("inbox.own", {}),
    "POST /inbox/read-all": ("inbox.own", {}),
}
# An admin's refused input (400), an answer about a missing object (404), a state it is already in (409).
ADMIN_ANSWERS = {200, 302, 400, 404, 409}


def accounts(world) -> str:
    with world["system"].db.read() as s:
        return json.dumps([s.execute(select(User.username, User.active, User.roles, User.org_unit,
                                            User.credentials_version).order_by(User.id)).all(),
                           s.scalar(select(func.count()).select_from(ApiToken)),
                           s.scalar(select(func.count()).select_from(AdminEvent))], default=str)


def test_every_role_on_every_admin_and_inbox_page_gets_what_the_table_says(world, record_property):
    from web.app import create_app
    app = create_app(services=world["system"].services)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        for page, (use_case, form) in PAGES.items():
            method, path = page.split(" ", 1)
            allowed = authz.allowed(use_case, Actor("x", frozenset({role})), {"anywhere"})
            before = (state(world), accounts(world))
            response = person.get(path) if method == "GET" else person.submit(path, form, form_page="/inbox")
            got, text = response.status_code, response.get_data(as_text=True)
            cells += 1
            where = f"{role} {page}: {'allowed' if allowed else 'refused'}, got {got}"
            if allowed and got not in ADMIN_ANSWERS:
                problems.append(where)
            if not allowed and got != 403:
                problems.append(where)
            if not allowed and (state(world), accounts(world)) != before:
                problems.append(f"{where}: a refused request changed something")
            if method == "GET" and allowed and got != 200:
                problems.append(f"{where}: a page the role may use did not open")
            problems += [f"{where}: shows {s}" for s in SECRETS if s in text]
    # xmed1 was deactivated and reactivated by the admin: nothing else changed hands.
    record_property("matrix", f"admin page matrix: {cells} cells checked ({len(PEOPLE)} roles × {len(PAGES)} pages)")
    assert not problems, "\n".join(problems[:40])
