"""The pages join the authorization table's matrix: every role × every page of a case or task × a
case of their own jurisdiction and of another, signed in through /login like a person.

The world (who sits where, which cases and tasks exist) and the relations written down by
construction are the REST matrix's (tests/api/test_authorization_matrix.py). A case one may not read
is the same 404 page as a missing one; a page one may not use is the 403 page; nothing refused
changes anything; and no page shows an unmasked ID number or phone, or a petitioner to the unit
complained about.
"""
from __future__ import annotations

import re

from engine.application import Actor
from tests.api.test_authorization_matrix import (CASE_TYPE, COUNTY, PEOPLE, SECRETS, TASK_STEP, ZHAO_LIU,
                                                 case_relations, state, task_relations, world)  # noqa: F401
from tests.pages.conftest import PageUser
from usecases import authorization as authz

MISSING = 987654321
PAGES = {  # page: (method, the use case it serves, what it is about)
    "GET /cases/<id>": ("GET", "case.read", "case"),
    "GET /cases/<id>/receipt": ("GET", "case.read", "case"),
    "POST /cases/<id>/unmasked": ("POST", "case.unmask", "case"),
    "GET /tasks/<id>": ("GET", "case.read", "task"),
    "POST /tasks/<id>/claim": ("POST", "task.claim", "task"),
    "POST /tasks/<id>/unclaim": ("POST", "task.unclaim", "task"),
}


def expected(role: str, use_case: str, kind: str, key: str) -> str:
    actor, case_type = Actor("x", frozenset({role})), CASE_TYPE[key]
    if not authz.allowed("case.read", actor, case_relations(role, key), case_type=case_type):
        return "hidden"
    relations = task_relations(role, key) if kind == "task" and use_case != "case.read" else case_relations(role, key)
    step = TASK_STEP[key] if kind == "task" else None
    return "allowed" if authz.allowed(use_case, actor, relations, case_type=case_type, step=step) else "refused"


def test_every_role_on_every_case_page_gets_what_the_table_says(world, record_property):
    from web.app import create_app
    app = create_app(services=world["system"].services)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        for page, (method, use_case, kind) in PAGES.items():
            missing_page = person.get(page.split(" ", 1)[1].replace("<id>", str(MISSING))).get_data(as_text=True)
            for key in CASE_TYPE:
                ident = world["tasks"][key] if kind == "task" else world["ids"][key]
                path = page.split(" ", 1)[1].replace("<id>", str(ident))
                want = expected(role, use_case, kind, key)
                before = state(world)
                if method == "GET":
                    response = person.get(path)
                else:
                    response = person.submit(path, {}, form_page="/tasks")
                got, text = response.status_code, response.get_data(as_text=True)
                cells += 1
                where = f"{role} {page} {key}: expected {want}, got {got}"
                if want == "hidden":
                    # The same page as for a case that does not exist, but for the number asked about.
                    same = re.sub(r"\d+", "N", text) == re.sub(r"\d+", "N", missing_page)
                    if got != 404 or (method == "GET" and not same):
                        problems.append(where)
                elif want == "refused" and got != 403:
                    problems.append(where)
                elif want == "allowed" and got in (403, 404, 500):
                    problems.append(where)
                if want != "allowed" and state(world) != before:
                    problems.append(f"{where}: a refused request changed something")
                unmasked = page.endswith("/unmasked") and want == "allowed"
                problems += [f"{where}: shows {s}" for s in SECRETS if s in text and not unmasked]
                if key == "PB" and role in COUNTY and ZHAO_LIU["name"] in text:
                    problems.append(f"{where}: shows the petitioner to the unit complained about")
                if page.endswith("/claim") and got in (200, 302, 303) and want == "allowed":
                    world["system"].engine.unclaim_task(world["tasks"][key], world["actors"]["admin1"])
    # Printed at the end of the run (tests/conftest.py), from whichever worker ran it.
    record_property("matrix", f"page authorization matrix: {cells} cells checked ({len(PEOPLE)} roles × {len(PAGES)} pages × 4 cases)")
    assert not problems, "\n".join(problems[:40])


def test_the_task_list_shows_each_role_only_the_tasks_they_may_work(world):
    from web.app import create_app
    app = create_app(services=world["system"].services)
    numbers = {key: world["system"].services.cases.get(world["actors"]["admin1"], case_id)["number"]
               for key, case_id in world["ids"].items()}
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        person.login(username, "password1")
        response = person.get("/tasks")
        text = response.get_data(as_text=True)
        mine = {key for key in CASE_TYPE if authz.WORKER in task_relations(role, key)}
        if not authz.allowed("area.tasks", Actor("x", frozenset({role})), {"anywhere"}):
            continue
        assert response.status_code == 200, role
        for key, number in numbers.items():
            assert (number in text) == (key in mine), (role, key)
