"""What every response says about itself: security headers on the API as on the pages, nothing kept
by a browser or a proxy where personal data may be, no server banner, and a request-size limit
answered with 413 (in the API's error shape, or a page) before anything is parsed or changed."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import func, select

from engine.store import Case, HumanTask
from usecases import CLI
from web.app import create_app

API = "/api/v1"
PASSWORD = "demo-password-1"  # the demo county's, as tests/operations/conftest.py seeds it


@pytest.fixture
def client(store):
    app = create_app(services=store.services)
    app.testing = True
    return app.test_client()


def token_of(store, username: str) -> str:
    return store.services.admin.create_token(CLI, username)


def bearer(store, username: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(store, username)}"}


def case_count(store) -> int:
    with store.db.read() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_every_api_answer_carries_the_headers_and_is_never_stored(store, client):
    headers = bearer(store, "mediator_village")
    with store.db.read() as session:
        case_id = session.scalar(select(HumanTask.case_id).where(HumanTask.status == "ready",
                                                                  HumanTask.org_unit == "shangzhuang"))
    answers = [client.get(f"{API}/cases/{case_id}", headers=headers),
               client.get(f"{API}/cases/{case_id}/unmasked", headers=headers),
               client.get(f"{API}/tasks", headers=headers),
               client.get(f"{API}/cases"),  # 401
               client.get(f"{API}/no-such-route", headers=headers),  # 404
               client.get(f"{API}/openapi.json")]
    assert [a.status_code for a in answers] == [200, 200, 200, 401, 404, 200]
    for answer in answers:
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert answer.headers["X-Frame-Options"] == "DENY"
        assert answer.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"]
        assert "Server" not in answer.headers


def test_a_signed_in_page_is_never_stored(store, client):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed_in = client.post("/login", data={"username": "mediator_village", "password": PASSWORD, "next": "/tasks",
                                            "csrf_token": token})
    assert signed_in.status_code == 302
    tasks = client.get("/tasks")
    assert tasks.status_code == 200 and tasks.headers["Cache-Control"] == "no-store"


def test_an_api_body_over_the_limit_is_refused_with_413_and_changes_nothing(store, client):
    headers = {**bearer(store, "intake"), "Content-Type": "application/json"}
    before = case_count(store)
    big = b'{"type": "mediation", "data": {"summary": "' + b"x" * (1024 * 1024) + b'"}}'
    answer = client.post(f"{API}/cases", data=big, headers=headers)
    assert answer.status_code == 413
    error = answer.get_json()["error"]
    assert error["code"] == "request_too_large" and "1048576" in error["message"] and "body" in error["fields"]
    assert answer.headers["Cache-Control"] == "no-store"
    assert case_count(store) == before


def test_an_unauthenticated_big_body_gets_413_before_anything_else(client):
    answer = client.post(f"{API}/cases", data=b"x" * (2 * 1024 * 1024), content_type="application/json")
    assert answer.status_code == 413 and answer.get_json()["error"]["code"] == "request_too_large"


def test_a_refused_body_is_read_through_so_its_sender_gets_the_answer_unless_it_is_huge(client):
    # A server that closes on an unread body makes the kernel reset the connection, and a client still
    # sending then sees a broken pipe instead of the 413 (gunicorn does not read a body before the app).
    sent = io.BytesIO(b"x" * (2 * 1024 * 1024))
    answer = client.post(f"{API}/cases", input_stream=sent, content_length=len(sent.getvalue()),
                         content_type="application/json")
    assert answer.status_code == 413 and sent.tell() == len(sent.getvalue())
    huge = io.BytesIO(b"x" * (9 * 1024 * 1024))  # more than 8 × the limit: not worth reading
    answer = client.post(f"{API}/cases", input_stream=huge, content_length=len(huge.getvalue()),
                         content_type="application/json")
    assert answer.status_code == 413 and huge.tell() == 0


def test_a_form_over_the_limit_gets_a_page_in_plain_words(store, client):
    answer = client.post("/login", data={"username": "x" * (1024 * 1024 + 10), "password": "p"})
    assert answer.status_code == 413
    page = answer.get_data(as_text=True)
    assert "提交的内容太大" in page and "没有做任何更改" in page and "nothing was changed" in page and "1 MB" in page


def test_the_limit_is_a_setting(database_url, tmp_path):
    from tests.conftest import FIXTURES, make_system
    system = make_system(database_url, FIXTURES / "bpmn", max_request_bytes=4096)
    try:
        app = create_app(services=system.services)
        client = app.test_client()
        assert client.post(f"{API}/cases", data=b"x" * 5000, content_type="application/json").status_code == 413
        assert client.post(f"{API}/cases", data=b"x" * 4000, content_type="application/json").status_code == 401
    finally:
        system.close()
