"""What every client can rely on: bearer tokens, one error shape, JSON even when things go wrong."""
import pytest

from usecases.people import People
from tests.api.conftest import API


def assert_error(response, status: int, code: str):
    assert response.status_code == status
    assert response.is_json, response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert " / " in message and not message[0].isascii(), message  # Chinese first, then English
    return body["error"]


@pytest.mark.parametrize("method, path", [("get", "/cases"), ("get", "/cases/1"), ("post", "/cases"),
                                          ("get", "/tasks"), ("post", "/tasks/1/complete"), ("get", "/users"),
                                          ("get", "/audit/verify"), ("get", "/org-units")])
def test_every_route_needs_a_bearer_token(client, method, path):
    response = getattr(client, method)(API + path)
    assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_a_wrong_or_malformed_token_is_refused(client, people):
    for header in ("Bearer fq_not-a-real-token", "Basic bWVkMTpwYXNzd29yZDE=", "Bearer ", "fq_token"):
        assert_error(client.get(API + "/cases", headers={"Authorization": header}), 401, "unauthenticated")
    assert client.get(API + "/cases", headers={"Authorization": "bearer " + people["mediator"].token}).status_code == 200


def test_nothing_is_registered_without_a_token(client, mediator):
    assert_error(client.post(API + "/cases", json={"type": "timed", "data": {"days": 3}}), 401, "unauthenticated")
    assert mediator.get("/cases").get_json()["items"] == []


def test_a_body_that_is_not_json_is_refused_in_chinese(mediator):
    response = mediator.post("/cases", data="{type: timed", content_type="application/json")
    error = assert_error(response, 400, "invalid_input")
    assert error["message"].startswith("请求体不是合法的 JSON")
    error = assert_error(mediator.post("/cases", json=["timed"]), 400, "invalid_input")
    assert error["fields"] == {"body": "应为对象 / must be an object"}
    assert mediator.get("/cases").get_json()["items"] == []


def test_registering_needs_a_known_deployed_type_and_an_object_of_data(mediator):
    assert assert_error(mediator.post("/cases", {"data": {}}), 400, "invalid_input")["fields"] == \
        {"type": "必填 / required"}
    assert "type" in assert_error(mediator.post("/cases", {"type": "nosuch", "data": {}}), 400,
                                  "invalid_input")["fields"]
    assert "data" in assert_error(mediator.post("/cases", {"type": "timed", "data": [1]}), 400,
                                  "invalid_input")["fields"]
    assert mediator.get("/cases").get_json()["items"] == []


def test_unknown_routes_and_methods_answer_in_the_error_format(mediator, client):
    assert_error(mediator.get("/no-such-thing"), 404, "not_found")
    assert_error(client.get(API + "/cases/abc"), 404, "not_found")
    assert_error(mediator.get("/tasks/999"), 404, "not_found")
    assert_error(mediator.post("/tasks/999/claim"), 404, "not_found")
    response = mediator.client.delete(API + "/cases", headers=mediator._headers())
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_an_unexpected_failure_is_logged_and_answered_as_json(mediator, monkeypatch, caplog):
    def broken(self, actor):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(People, "org_units", broken)
    response = mediator.get("/org-units")

    error = assert_error(response, 500, "internal_error")
    assert "disk on fire" not in error["message"]
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged and "/api/v1/org-units" in logged[0].getMessage()


def test_the_front_page_asks_a_stranger_to_sign_in_and_links_the_api_document(client):
    response = client.get("/", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "text/html" in response.content_type
    assert response.request.path == "/login" and "登录" in page
    assert 'href="/api/v1/openapi.json"' in page


def test_pages_outside_the_api_keep_their_html_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "text/html" in response.content_type
