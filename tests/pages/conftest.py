"""The pages as a browser without JavaScript meets them, through Flask's test client: a small county
(tests/conftest.py's `seed_people`) on SQLite and, with FENGQIAO_TEST_DATABASE_URL, on PostgreSQL.

`ui` acts like a person at one browser: `ui.login("vmed1", "password1")`, `ui.logout()`,
`ui.get(path)`, `ui.submit(path, fields)` (a form with the page's CSRF token)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.conftest import FIXTURES, make_system, seed_people
from tests.pages.app import page_app

PASSWORD = "password1"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


class PageUser:
    """One person at one browser: cookies kept between requests, forms sent with their token."""

    def __init__(self, app, address: str = "127.0.0.1"):
        self.app = app
        self.client = app.test_client()
        self.address = address

    def get(self, path: str, **kwargs):
        return self.client.get(path, environ_base={"REMOTE_ADDR": self.address}, **kwargs)

    def token(self, path: str = "/login") -> str:
        found = _TOKEN.search(self.get(path).get_data(as_text=True))
        assert found, f"no CSRF token on {path}"
        return found.group(1)

    def submit(self, path: str, fields: dict, *, form_page: str | None = None, with_token: bool = True):
        """Fill in the form shown at `form_page` (default: `path`) and send it to `path`."""
        data = dict(fields)
        if with_token:
            data["csrf_token"] = self.token(form_page or path)
        return self.client.post(path, data=data, environ_base={"REMOTE_ADDR": self.address})

    # --- what people do -------------------------------------------------------------------
    def login(self, username: str, password: str = PASSWORD, next_page: str = "/"):
        return self.submit("/login", {"username": username, "password": password, "next": next_page})

    def logout(self):
        return self.submit("/logout", {}, form_page="/")

    def page(self, path: str) -> str:
        response = self.get(path)
        assert response.status_code == 200, (path, response.status_code, response.headers.get("Location"))
        return response.get_data(as_text=True)


@pytest.fixture
def system(database_url):
    system = make_system(database_url, FIXTURES / "bpmn")
    system.people = seed_people(system)
    yield system
    system.close()


@pytest.fixture
def app(system):
    return page_app(system)


@pytest.fixture
def ui(app):
    return PageUser(app)


@pytest.fixture
def browser_at(app):
    """Another person, at a browser of their own on another address."""
    return lambda address: PageUser(app, address)


def minutes(n: float) -> timedelta:
    return timedelta(minutes=n)
