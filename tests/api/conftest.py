"""The REST API as its users meet it: a county with a few people, each holding an API token.

Builds on the shared store fixtures (`database_url`: SQLite file, or a fresh PostgreSQL schema when
FENGQIAO_TEST_DATABASE_URL is set) and drives the Flask app through its test client.
"""
from __future__ import annotations

import pytest

from engine.accounts import create_token
from tests.conftest import FIXTURES, deploy_dir, make_system, seed_people
from web.app import create_app

API = "/api/v1"


class ApiUser:
    """One person calling the API with their own bearer token."""

    def __init__(self, client, username: str, token: str | None):
        self.client = client
        self.username = username
        self.token = token

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, **params):
        return self.client.get(API + path, query_string=params, headers=self._headers())

    def post(self, path: str, json=None, **kwargs):
        return self.client.post(API + path, json=json, headers=self._headers(), **kwargs)

    # --- what people do -----------------------------------------------------------------------
    def register(self, days: int = 3, **data) -> dict:
        """Register a `timed` case (answer within `days`); returns the case view."""
        response = self.post("/cases", {"type": "timed", "data": {"days": days, **data}})
        assert response.status_code == 201, response.get_json()
        created = response.get_json()
        assert created.pop("receipt")["number"] == created["number"]  # the registrant's receipt, beside the case
        return created

    def case(self, case_id: int) -> dict:
        response = self.get(f"/cases/{case_id}")
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def events(self, case_id: int) -> list[dict]:
        response = self.get(f"/cases/{case_id}/events")
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def tasks(self, **params) -> list[dict]:
        response = self.get("/tasks", **params)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["items"]

    def claim(self, task_id: int):
        return self.post(f"/tasks/{task_id}/claim")

    def complete(self, task_id: int, version: int | None, **data):
        body = {"data": data}
        if version is not None:
            body["version"] = version
        return self.post(f"/tasks/{task_id}/complete", body)

    def message(self, case_id: int, name: str, **data):
        return self.post(f"/cases/{case_id}/messages/{name}", {"data": data})

    # --- working a case's steps (the scenario helpers of every case type) ----------------------
    def task(self, case_id: int, step: str | None = None) -> dict:
        """The case's one open task (of `step`, when given) that this person can see."""
        tasks = [t for t in self.tasks(case=case_id) if step is None or t["name"] == step]
        assert len(tasks) == 1, (step, self.tasks(case=case_id))
        return tasks[0]

    def try_step(self, case_id: int, step: str, **data):
        """Complete the case's open `step` at the version just read; returns the raw response."""
        return self.complete(self.task(case_id, step)["id"], self.case(case_id)["version"], **data)

    def do(self, case_id: int, step: str, **data) -> dict:
        """Complete the case's open `step` with `data`; returns the case view."""
        response = self.try_step(case_id, step, **data)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def send(self, case_id: int, name: str, **data) -> dict:
        response = self.message(case_id, name, **data)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    def history(self, case_id: int, kind: str | None = None) -> list[dict]:
        return [e for e in self.events(case_id) if kind is None or e["kind"] == kind]


@pytest.fixture
def system(database_url):
    """A migrated store on the simulated clock with the fixture processes deployed and the county seeded."""
    system = make_system(database_url, FIXTURES / "bpmn")  # forms come from fixtures/bpmn/forms
    deploy_dir(system, FIXTURES / "bpmn")
    system.people = seed_people(system)
    yield system
    system.close()


@pytest.fixture
def app(system):
    app = create_app(services=system.services)
    app.testing = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def people(system, client) -> dict[str, ApiUser]:
    """Everyone of the seeded county, by their role in the scenarios, each with a token."""
    with system.db.write() as session:
        tokens = {key: (actor.username, create_token(session, actor.username, system.clock.now()))
                  for key, actor in system.people.items()}
    found = {key: ApiUser(client, username, token) for key, (username, token) in tokens.items()}
    found["anonymous"] = ApiUser(client, "anonymous", None)
    return found


@pytest.fixture
def mediator(people) -> ApiUser:
    return people["mediator"]


@pytest.fixture
def auditor(people) -> ApiUser:
    return people["auditor"]
