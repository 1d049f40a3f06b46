"""The people of bench/load.py: who they are, what they do in a day and how long they think between
two actions. Run by bench/load.py (`locust --headless -f bench/locustfile.py`), which writes the
plan (accounts, tokens, villages, names to search for) to the JSON file named by FENGQIAO_LOAD_PLAN.

Each simulated person is one account of the seeded county: village mediators and intake workers are
each their own village's (the intake worker registers in a village whose mediator is simulated too),
so no two people complete the same task; the town and county staff, the auditors and the leaders
only read, and several may share an account. Pages are used signed in through /login (a session
cookie, the form's CSRF token); the API with a bearer token.
"""
from __future__ import annotations

import json
import os
import random
import re
from datetime import UTC, datetime, timedelta
from itertools import count
from pathlib import Path

from locust import FastHttpUser, between, task

PLAN = json.loads(Path(os.environ["FENGQIAO_LOAD_PLAN"]).read_text(encoding="utf-8"))
PASSWORD = PLAN["password"]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_TASK_LINK = re.compile(r'href="/tasks/(\d+)"')
_CASE_LINK = re.compile(r'href="/cases/(\d+)"')
_AUDIT_LINK = re.compile(r'href="/audit/cases/(\d+)"')
_NEXT = {kind: count() for kind in ("mediators", "intake", "staff", "auditors", "leaders")}
ARCHIVE_CHECKLIST = {k: True for k in ("registration_form", "rights_notice", "identity_proof", "mediation_record",
                                       "agreement", "followup_record")}


def account(kind: str) -> dict:
    accounts = PLAN[kind]
    return accounts[next(_NEXT[kind]) % len(accounts)]


def step_data(step: str, rng: random.Random) -> dict | None:
    """The step's form as a mediator fills it (the bundled mediation process's steps)."""
    if step == "mediate":
        if rng.random() < 0.3:
            return {"result": "no_agreement", "notes": "双方分歧较大，未能达成一致"}
        return {"result": "agreement", "agreement_form": "oral", "agreement_text": "当场履行完毕", "difficulty": "simple"}
    if step == "judicial_confirmation":
        return {"applied": False}
    if step == "followup":
        return {"performance": "performed", "satisfaction": rng.randint(3, 5)}
    if step == "archive":
        return {"checklist": ARCHIVE_CHECKLIST}
    return None


class Person(FastHttpUser):
    abstract = True
    kind = ""
    connection_timeout = 30.0
    network_timeout = 60.0

    def on_start(self):
        self.me = account(self.kind)
        self.rng = random.Random(self.me["username"])
        self.api = {"Authorization": f"Bearer {self.me['token']}"} if self.me.get("token") else {}
        if self.me.get("pages"):
            self.sign_in()

    def sign_in(self):
        with self.client.get("/login", name="GET /login", catch_response=True) as page:
            token = _CSRF.search(page.text or "")
            if token is None:
                page.failure("no CSRF token on /login")
                return
        with self.client.post("/login", name="POST /login", catch_response=True, allow_redirects=False,
                              data={"username": self.me["username"], "password": PASSWORD,
                                    "csrf_token": token.group(1), "next": "/tasks"}) as signed_in:
            if signed_in.status_code != 302:
                signed_in.failure(f"sign-in answered {signed_in.status_code}")

    def page(self, path: str, name: str) -> str:
        with self.client.get(path, name=name, catch_response=True, allow_redirects=False) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}")
                return ""
            return answer.text or ""

    def api_get(self, path: str, name: str):
        with self.client.get("/api/v1" + path, name=name, headers=self.api, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:200]}")
                return None
            return answer.json()


class VillageMediator(Person):
    """Works the village's worklist in the pages; completes a step now and then (through the API, as
    the form's submission would)."""
    weight = 55
    kind = "mediators"
    wait_time = between(5, 20)

    def on_start(self):
        super().on_start()
        self.task_ids: list[str] = []  # (not `self.tasks`: that is locust's list of what a user does)
        self.case_ids: list[str] = []

    @task(4)
    def worklist(self):
        html = self.page("/tasks", "page: worklist /tasks")
        self.task_ids = _TASK_LINK.findall(html) or self.task_ids

    @task(3)
    def task_page(self):
        if self.task_ids:
            html = self.page(f"/tasks/{self.rng.choice(self.task_ids)}", "page: task /tasks/<id>")
            self.case_ids = _CASE_LINK.findall(html) or self.case_ids

    @task(3)
    def case_page(self):
        if self.case_ids:
            self.page(f"/cases/{self.rng.choice(self.case_ids)}", "page: case /cases/<id>")

    @task(1)
    def complete(self):
        found = self.api_get("/tasks?limit=50", "api: GET /tasks")
        if not found:
            return
        soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        # A step whose deadline fires within the hour may be moved by the scheduler under the click:
        # a mediator's worklist shows it as urgent; the simulation leaves those alone.
        workable = [t for t in found["items"] if step_data(t["name"], self.rng) is not None
                    and (t.get("due_at") is None or t["due_at"] > soon)]
        if not workable:
            return
        item = self.rng.choice(workable)
        case = self.api_get(f"/cases/{item['case_id']}", "api: GET /cases/<id>")
        if case is None:
            return
        body = {"data": step_data(item["name"], self.rng), "version": case["version"]}
        with self.client.post(f"/api/v1/tasks/{item['id']}/complete", name="api: POST /tasks/<id>/complete",
                              json=body, headers=self.api, catch_response=True) as answer:
            if answer.status_code != 200:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:300]}")


class IntakeWorker(Person):
    """Registers the village's new disputes through the API and looks at what was registered."""
    weight = 20
    kind = "intake"
    wait_time = between(10, 30)

    def on_start(self):
        super().on_start()
        self.serial = count(1)

    @task(2)
    def register(self):
        village = self.me["village"]
        names = self.rng.sample(PLAN["names"], 2)
        body = {"type": "mediation", "data": {
            "parties": [{"side": "applicant", "name": names[0], "residence_org": village,
                         "household_address": f"{village} 第{self.rng.randint(1, 9)}村民小组"},
                        {"side": "respondent", "name": names[1], "residence_org": village,
                         "household_address": f"{village} 第{self.rng.randint(1, 9)}村民小组"}],
            "category": self.rng.choice(["neighbour", "contract", "marriage_family", "land_forest"]),
            "summary": f"负载测试登记 {self.me['username']} {next(self.serial)}：相邻通行纠纷",
            "source": "party_application", "risk_level": self.rng.choice(["green", "green", "green", "yellow"])}}
        with self.client.post("/api/v1/cases", name="api: POST /cases (register)", json=body, headers=self.api,
                              catch_response=True) as answer:
            if answer.status_code != 201:
                answer.failure(f"{answer.status_code}: {(answer.text or '')[:300]}")
                return
            case_id = answer.json()["id"]
        self.api_get(f"/cases/{case_id}", "api: GET /cases/<id>")

    @task(1)
    def my_cases(self):
        self.api_get("/cases?status=open&limit=20", "api: GET /cases?status=open")

    @task(1)
    def search(self):
        self.api_get(f"/cases?q={self.rng.choice(PLAN['names'])}", "api: GET /cases?q= (search)")


class TownCountyStaff(Person):
    """Town and county mediators, petition and justice officers: their worklist, a search of the
    cases they may read, a case's page."""
    weight = 15
    kind = "staff"
    wait_time = between(5, 20)

    def on_start(self):
        super().on_start()
        self.cases: list[int] = []

    @task(3)
    def worklist(self):
        self.page("/tasks", "page: worklist /tasks")

    @task(2)
    def search(self):
        found = self.api_get(f"/cases?q={self.rng.choice(PLAN['names'])}", "api: GET /cases?q= (search)")
        if found and found["items"]:
            self.cases = [c["id"] for c in found["items"]]

    @task(2)
    def case_page(self):
        if not self.cases:
            found = self.api_get("/cases?status=open&limit=20", "api: GET /cases?status=open")
            self.cases = [c["id"] for c in (found or {}).get("items", [])]
        if self.cases:
            self.page(f"/cases/{self.rng.choice(self.cases)}", "page: case /cases/<id>")


class Auditor(Person):
    """The auditors' search by a party's name or a town's open cases, and a case's audit page."""
    weight = 6
    kind = "auditors"
    wait_time = between(10, 30)

    def on_start(self):
        super().on_start()
        self.cases: list[str] = []

    @task(2)
    def search_party(self):
        html = self.page(f"/audit?party={self.rng.choice(PLAN['names'])}", "page: audit search /audit?party=")
        self.cases = _AUDIT_LINK.findall(html) or self.cases

    @task(1)
    def search_unit(self):
        html = self.page(f"/audit?unit={self.rng.choice(PLAN['towns'])}&status=open",
                         "page: audit search /audit?unit=&status=")
        self.cases = _AUDIT_LINK.findall(html) or self.cases

    @task(2)
    def audit_case(self):
        if self.cases:
            self.page(f"/audit/cases/{self.rng.choice(self.cases)}", "page: audit case /audit/cases/<id>")


class Leader(Person):
    """A county leader: the dashboard, their own cases, the petition board."""
    weight = 4
    kind = "leaders"
    wait_time = between(10, 30)

    @task(2)
    def dashboard(self):
        self.page("/dashboard", "page: dashboard /dashboard")

    @task(1)
    def own_cases(self):
        self.page("/leader", "page: leader /leader")

    @task(1)
    def board(self):
        self.page("/petitions/board", "page: petition board /petitions/board")
