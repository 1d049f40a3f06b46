"""零上报 over the REST API: the same reports and the same one click as the pages, described in the
OpenAPI document, refusals in the API's error shape."""
from __future__ import annotations

import pytest

from engine.accounts import MAX_TOKEN_DAYS, create_token
from tests.api.conftest import ApiUser
from web.app import create_app


@pytest.fixture
def api(county):
    app = create_app(services=county.services)
    app.testing = True
    client = app.test_client()

    def user(username: str) -> ApiUser:
        with county.system.db.write() as s:
            token = create_token(s, username, county.system.clock.now(), days=MAX_TOKEN_DAYS)
        return ApiUser(client, username, token)
    return user


def test_a_village_confirms_over_the_api_and_leaves_the_town_s_missing_list(county, api):
    county.at("2026-11-02 10:00")
    town, village = api("jtown1"), api("vmed1")
    before = town.get("/reports/zero", month="2026-10")
    assert before.status_code == 200
    assert [v["code"] for v in before.get_json()["missing"]] == ["dz-lc", "dz-sq"]
    done = village.post("/reports/zero", {"unit": "dz-lc", "month": "2026-10"})
    assert done.status_code == 201 and done.get_json()["reported_by"] == "vmed1"
    after = town.get("/reports/zero", month="2026-10", unit="dz").get_json()
    assert [v["code"] for v in after["missing"]] == ["dz-sq"] and after["counts"]["zero"] == 1
    again = village.post("/reports/zero", {"unit": "dz-lc", "month": "2026-10"})
    assert again.status_code == 409 and again.get_json()["error"]["code"]


@pytest.mark.parametrize("who, body, status", [
    ("smed1", {"unit": "dz-lc", "month": "2026-10"}, 403),
    ("vmed1", {"unit": "dz-lc", "month": "2026-12"}, 409),
    ("vmed1", {"unit": "dz-lc", "month": "2026-13"}, 400),
    ("vmed1", {"unit": "dz-lc"}, 400),
    ("vmed1", {"unit": "dz-lc", "month": "2026-10", "extra": 1}, 400),
])
def test_refusals_answer_in_the_api_s_shape(county, api, who, body, status):
    county.at("2026-11-02 10:00")
    response = api(who).post("/reports/zero", body)
    assert response.status_code == status and response.get_json()["error"]["message"]


def test_reading_another_town_is_forbidden_and_the_document_describes_the_routes(county, api):
    county.at("2026-11-02 10:00")
    assert api("tleader1").get("/reports/zero", unit="xz").status_code == 403
    assert api("vmed1").get("/reports/zero", month="2026-1").status_code == 400
    assert api("vmed1").get("/reports/zero", month="").status_code == 400  # as the document's pattern says
    document = api("vmed1").get("/openapi.json").get_json()
    assert set(document["paths"]["/reports/zero"]) == {"get", "post"}
    assert "ZeroReportMonth" in document["components"]["schemas"]
