"""Ids as other systems send them: a number past 64 bits, or a repeated parameter, is a client's
mistake answered as such (404 in a path, 400 in a query), never a server error."""
import re

import pytest

from tests.api.conftest import API
from web.api.http import ROUTES

HUGE = str(2 ** 64)


def path_routes():
    for r in ROUTES:
        if "<id:" in r.rule:
            yield r


@pytest.mark.parametrize("route", list(path_routes()), ids=lambda r: f"{r.method} {r.rule}")
def test_an_id_past_64_bits_in_any_path_is_not_found(route, mediator):
    path = re.sub(r"<id:\w+>", HUGE, route.rule)
    path = re.sub(r"<\w+>", "withdraw", path)
    response = mediator.client.open(API + path, method=route.method, json={},
                                    headers=mediator._headers())
    assert response.status_code == 404, (route.rule, response.get_json())
    assert response.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path,param", [("/tasks", "case"), ("/cases", "after"), ("/subsidies", "case"),
                                        ("/subsidies", "after"), ("/audit/verify", "case"), ("/inbox", "after"),
                                        ("/petitions", "after")])
def test_an_id_past_64_bits_in_a_query_is_bad_input(path, param, mediator, auditor):
    who = auditor if path in ("/audit/verify", "/subsidies") else mediator
    response = who.get(path, **{param: HUGE})
    assert response.status_code == 400, (path, response.get_json())
    assert list(response.get_json()["error"]["fields"]) == [param]


def test_a_parameter_given_twice_is_refused(mediator):
    response = mediator.client.get(API + "/tasks?case=1&case=2", headers=mediator._headers())
    assert response.status_code == 400 and "case" in response.get_json()["error"]["fields"]
