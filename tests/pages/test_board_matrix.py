"""The petition office's and the leader's pages join the authorization matrix: every role × the board,
the petitions behind its figures, the leader's page, and the owner form on each case of the REST
matrix's world (tests/api/test_authorization_matrix.py), signed in through /login like a person.

A page one may not use is the 403 page; a case one may not read is the same 404 page as a missing
one; nothing refused changes anything; the lists show each role exactly the petitions it may read;
no page shows an unmasked ID number or phone, nor the petitioner of PB (a complaint about the
county) to anyone of the county.
"""
from __future__ import annotations

import re

from engine.application import Actor
from tests.api.test_authorization_matrix import (
    CASE_TYPE,
    COUNTY,
    PEOPLE,
    SECRETS,
    ZHAO_LIU,
    case_relations,
    state,
    world,  # noqa: F401  (world is a fixture)
)
from tests.pages.conftest import PageUser
from usecases import authorization as authz

MISSING = 987654321
LIST_PAGES = {"/petitions/board": "petitions.board", "/petitions?owner=none": "petitions.board",
              "/petitions?owner=none&needs_owner=1": "petitions.board", "/leader": "leader.cases"}
_NUMBER = re.compile(r'<td data-label="案件编号" class="case-number"><a href="/cases/(\d+)">')


def owner_form_expected(role: str, key: str) -> str:
    actor, case_type = Actor("x", frozenset({role})), CASE_TYPE[key]
    relations = case_relations(role, key)
    if not authz.allowed("case.read", actor, relations, case_type=case_type):
        return "hidden"
    if authz.applies("case.set_owner", case_type) and authz.allowed("case.set_owner", actor, relations,
                                                                     case_type=case_type):
        return "allowed"
    return "refused"


def test_every_role_on_the_board_and_leader_pages_gets_what_the_table_says(world, record_property):  # noqa: F811
    from web.app import create_app
    app = create_app(services=world["system"].services)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        actor = Actor(username, frozenset({role}))
        readable = {world["ids"][k] for k in CASE_TYPE if CASE_TYPE[k] == "petition"
                    and authz.allowed("case.read", actor, case_relations(role, k), case_type="petition")}
        for path, use_case in LIST_PAGES.items():
            before = state(world)
            response = person.get(path)
            text = response.get_data(as_text=True)
            cells += 1
            want = 200 if authz.allowed(use_case, actor, {"anywhere"}) else 403
            where = f"{role} GET {path}: expected {want}, got {response.status_code}"
            if response.status_code != want:
                problems.append(where)
            if state(world) != before:
                problems.append(f"{where}: a read changed something")
            if path.startswith("/petitions?") and want == 200:
                shown = {int(i) for i in _NUMBER.findall(text)}
                wanted = readable if "needs_owner" not in path else set()  # the world's petitions are no repeats
                if shown != wanted:
                    problems.append(f"{where}: lists {sorted(shown)}, may read {sorted(wanted)}")
            problems += [f"{where}: shows {s}" for s in SECRETS if s in text]
            if role in COUNTY and ZHAO_LIU["name"] in text:
                problems.append(f"{where}: shows the petitioner to the unit complained about")
        missing = person.get(f"/petitions/{MISSING}/owner").get_data(as_text=True)
        for key in CASE_TYPE:
            path = f"/petitions/{world['ids'][key]}/owner"
            want = owner_form_expected(role, key)
            for method in ("GET", "POST"):
                before = state(world)
                if method == "GET":
                    response = person.get(path)
                else:  # an empty form: refused by the page if allowed at all, so nothing may change
                    response = person.submit(path, {"leader": "", "reason": ""}, form_page="/")
                got, text = response.status_code, response.get_data(as_text=True)
                cells += 1
                where = f"{role} {method} {path} ({key}): expected {want}, got {got}"
                if want == "hidden":
                    same = re.sub(r"\d+", "N", text) == re.sub(r"\d+", "N", missing)
                    if got != 404 or (method == "GET" and not same):
                        problems.append(where)
                elif got != {"refused": 403, "allowed": 200 if method == "GET" else 400}[want]:
                    problems.append(where)
                if state(world) != before:
                    problems.append(f"{where}: changed something")
                problems += [f"{where}: shows {s}" for s in SECRETS if s in text]
                if key == "PB" and role in COUNTY and ZHAO_LIU["name"] in text:
                    problems.append(f"{where}: shows the petitioner to the unit complained about")
    record_property("matrix", f"board page authorization matrix: {cells} cells checked ({len(PEOPLE)} roles × "
                              f"({len(LIST_PAGES)} pages + 2 × 4 owner forms))")
    assert not problems, "\n".join(problems[:40])
