"""The authorization table, checked route by route: every role × every REST route × a case (task,
ledger entry) of their own jurisdiction and of another, on SQLite and PostgreSQL.

The relations of each person to each case are written down here by construction (who sits where,
who registered what, whose task is open), and the table (`usecases.authorization`) says what they
allow. Each cell asserts what the API answered: a case one may not read is a 404 indistinguishable
from a missing one; a use case one may not run is a 403 (a 409 where it does not apply to the case
type) and changes nothing; what is allowed is never 403/404; and no answer shows an ID number or a
phone unmasked (outside a handler's unmasked view) or a petitioner to the unit complained about.
"""
from __future__ import annotations

import json
import re

import pytest

from engine.accounts import MAX_TOKEN_DAYS, actor_of, add_org_unit, add_user, create_token, find_user
from engine.application import Actor
from tests.api.conftest import API, ApiUser
from tests.conftest import make_system
from tests.mediation.conftest import BPMN, COMPLETE_FILE, deploy_bundle, dispute
from tests.petition.conftest import WANG_WU, ZHAO_LIU, petition
from usecases import authorization as authz
from web.api.http import ROUTES

A = authz
UNITS = (("qh", "清河县", "county", None), ("dz", "东镇", "town", "qh"), ("dz-lc", "柳村", "village", "dz"),
         ("xz", "西镇", "town", "qh"), ("xz-hx", "河西村", "village", "xz"))
PEOPLE = {  # role: (username, unit); one person per role, each placed so that case "A" is theirs to some degree
    "intake": ("intake1", "dz-lc"), "mediator": ("vmed1", "dz-lc"), "court_liaison": ("court1", "qh"),
    "petition_officer": ("tofficer1", "dz"), "leader": ("leader1", "qh"), "justice_officer": ("jtown1", "dz"),
    "auditor": ("auditor1", "qh"), "admin": ("admin1", "qh"),
}
HELPERS = {"xmed1": (["mediator"], "xz-hx"), "xofficer1": (["petition_officer"], "xz")}
COUNTY = {"court_liaison", "leader", "auditor", "admin"}
SECRETS = ("11010519491231002X", "13800138000", "13900139000", WANG_WU["id_number"], WANG_WU["phone"],
           ZHAO_LIU["id_number"], ZHAO_LIU["phone"])


# ------------------------------------------------------------------------------ the world, by construction
def case_relations(role: str, case: str) -> set[str]:
    """How the person of `role` stands to each case of the world."""
    rel = set()
    county = role in COUNTY
    if case == "MA":    # a dispute at 柳村 (dz-lc), registered by intake1, its mediation open for vmed1
        rel |= {A.IN_UNIT} if role in ("intake", "mediator") else {A.UNIT_ABOVE}
        rel |= {A.REGISTRANT} if role == "intake" else set()
        rel |= {A.HANDLER} if role == "mediator" else set()
    elif case == "MB":  # a dispute at 河西村 (xz-hx), registered by admin1
        rel |= {A.UNIT_ABOVE} if county else set()
        rel |= {A.REGISTRANT} if role == "admin" else set()
    elif case == "PA":  # a petition held by 东镇 (dz), registered by tofficer1, its decision open for them
        rel |= {A.IN_UNIT} if role in ("petition_officer", "justice_officer") else set()
        rel |= {A.UNIT_ABOVE} if county else set()
        rel |= {A.REGISTRANT, A.HANDLER} if role == "petition_officer" else set()
    elif case == "PB":  # a petition held by 西镇 (xz) complaining about the county itself: withheld from qh
        rel |= {A.UNIT_ABOVE, A.COMPLAINED_ABOUT} if county else set()
        rel |= {A.REGISTRANT} if role == "admin" else set()
    return rel


def task_relations(role: str, case: str) -> set[str]:
    """Each case's one open task: MA's mediate (vmed1's unit), PA's decision (tofficer1's unit)."""
    if (case, role) in (("MA", "mediator"), ("PA", "petition_officer")):
        return {A.WORKER, A.COLLEAGUE}
    return set()


def entry_relations(role: str, entry: str) -> set[str]:
    """EA: vmed1's subsidy, reviewed by 东镇's justice office; EB: xmed1's, by 西镇's."""
    if entry == "EA":
        return {A.ENTRY_OFFICE} if role == "justice_officer" else {A.PAYEE} if role == "mediator" else set()
    return set()


CASE_TYPE = {"MA": "mediation", "MB": "mediation", "PA": "petition", "PB": "petition"}
TASK_STEP = {"MA": "mediate", "MB": "mediate", "PA": "decide_acceptance", "PB": "decide_acceptance"}


@pytest.fixture
def world(database_url):
    system = make_system(database_url, BPMN)
    files = {p.name: p.read_bytes() for p in sorted(BPMN.iterdir()) if p.suffix in (".bpmn", ".dmn")}
    deploy_bundle(system, files)
    with system.db.write() as s:
        for code, name, level, parent in UNITS:
            add_org_unit(s, code, name, level, parent)
        for role, (username, unit) in PEOPLE.items():
            add_user(s, username, [role], unit, "password1", now=system.clock.now())
        for username, (roles, unit) in HELPERS.items():
            add_user(s, username, roles, unit, "password1", now=system.clock.now())
    with system.db.read() as s:
        actors = {name: actor_of(find_user(s, name)) for name in [*(u for u, _ in PEOPLE.values()), *HELPERS]}
    cases = system.services.cases
    ids = {"MA": cases.register(actors["intake1"], "mediation", dispute())["id"],
           "MB": cases.register(actors["admin1"], "mediation", dispute(parties=[
               {"side": "applicant", "name": "孙七", "phone": "13700001111", "residence_org": "xz-hx"},
               {"side": "respondent", "name": "周八", "residence_org": "xz-hx"}]))["id"],
           "PA": cases.register(actors["tofficer1"], "petition", petition(respondent_unit="xz-hx"))["id"],
           "PB": cases.register(actors["admin1"], "petition", petition(
               petitioners=[dict(ZHAO_LIU)], residence_org="xz-hx", respondent_unit="qh"))["id"]}
    entries = {"EA": settled_entry(system, actors["vmed1"], actors["intake1"], dispute()),
               "EB": settled_entry(system, actors["xmed1"], actors["admin1"], dispute(parties=[
                   {"side": "applicant", "name": "吴九", "residence_org": "xz-hx"},
                   {"side": "respondent", "name": "郑十", "residence_org": "xz-hx"}]))}
    tasks = {key: system.services.tasks.worklist(
        actors["vmed1" if key == "MA" else "xmed1" if key == "MB" else "tofficer1" if key == "PA" else "xofficer1"],
        case_id)[0]["id"] for key, case_id in ids.items()}
    with system.db.write() as s:
        tokens = {role: create_token(s, username, system.clock.now(), days=MAX_TOKEN_DAYS) for role, (username, _) in PEOPLE.items()}
    from web.app import create_app
    app = create_app(services=system.services)
    client = app.test_client()
    yield {"system": system, "ids": ids, "entries": entries, "tasks": tasks,
           "people": {role: ApiUser(client, username, tokens[role]) for role, (username, _) in PEOPLE.items()},
           "actors": actors}
    system.close()


def settled_entry(system, mediator: Actor, registrant: Actor, data: dict) -> int:
    services = system.services
    case_id = services.cases.register(registrant, "mediation", data)["id"]

    def step(name: str, **values):
        (task,) = [t for t in services.tasks.worklist(mediator, case_id) if t["name"] == name]
        version = services.cases.get(mediator, case_id)["version"]
        return services.tasks.complete(mediator, task["id"], values, version)

    step("mediate", result="agreement", agreement_form="written", agreement_text="按协议履行", difficulty="general")
    step("judicial_confirmation", applied=False)
    step("followup", performance="performed", satisfaction=4)
    (entry,) = step("archive", checklist=COMPLETE_FILE)["subsidy"]
    return entry["id"]


# ------------------------------------------------------------------------------ the routes and their use cases
TOO_LONG = "长" * 2001
# Bodies are as the OpenAPI document declares them (the API refuses any other shape with 400 before
# anything else), so each cell reaches the use case: refused and hidden cells change nothing; an
# allowed one may (a ledger action), or is refused by the use case's own rules (400, 409).


def case_route(use_case, body=None):
    return {"object": "case", "use_case": use_case, "body": body}


ROUTE_CELLS = {
    "GET /cases/<id:case_id>": case_route("case.read"),
    "GET /cases/<id:case_id>/events": case_route("case.read"),
    "GET /cases/<id:case_id>/unmasked": case_route("case.unmask"),
    "POST /cases/<id:case_id>/messages/<name>": case_route("message", {"data": {"reason": TOO_LONG}}),
    "POST /cases/<id:case_id>/owner": case_route("case.set_owner", {"leader": "nobody_at_all"}),
    "POST /cases/<id:case_id>/backlog": case_route("case.mark_backlog", {"reason": "积案", "leader": "nobody_at_all"}),
    "GET /tasks/<id:task_id>": {"object": "task", "use_case": "case.read"},
    "POST /tasks/<id:task_id>/claim": {"object": "task", "use_case": "task.claim"},
    "POST /tasks/<id:task_id>/unclaim": {"object": "task", "use_case": "task.unclaim"},
    "POST /tasks/<id:task_id>/assign": {"object": "task", "use_case": "task.assign", "body": {"user": "nobody_at_all"}},
    "POST /tasks/<id:task_id>/complete": {"object": "task", "use_case": "task.complete",
                                          "body": {"data": {}, "version": 0}},
    "POST /tasks/<id:task_id>/extend": {"object": "task", "use_case": "task.extend", "body": {"days": 365, "reason": "延期", "version": 0}},
    "POST /subsidies/<id:entry_id>/review": {"object": "entry", "use_case": "subsidy.review",
                                             "body": {"reason": "抽查"}},
    "POST /subsidies/<id:entry_id>/approve": {"object": "entry", "use_case": "subsidy.approve",
                                              "body": {"reason": "抽查"}},
    "POST /subsidies/<id:entry_id>/reject": {"object": "entry", "use_case": "subsidy.reject",
                                             "body": {"reason": "抽查"}},
    "POST /subsidies/<id:entry_id>/reverse": {"object": "entry", "use_case": "subsidy.reverse",
                                              "body": {"reason": "抽查"}},
    # Lists and one's own things: the table's row with no object; lists are filtered by each case's row.
    "POST /cases": {"object": None, "use_case": "case.register", "body": {"type": "mediation", "data": {}}},
    "GET /cases": {"object": None, "use_case": "cases.list"},
    "GET /tasks": {"object": None, "use_case": "tasks.list"},
    "GET /petitions": {"object": None, "use_case": "petitions.list"},
    "GET /petitions/owners": {"object": None, "use_case": "petitions.board"},
    "GET /subsidies": {"object": None, "use_case": "subsidy.read"},
    "GET /audit/verify": {"object": None, "use_case": "audit.verify"},
    "GET /dashboard": {"object": None, "use_case": "dashboard.read"},
    "GET /reports/mediation": {"object": None, "use_case": "report.mediation"},
    "GET /reports/petition": {"object": None, "use_case": "report.petition"},
    "GET /org-units": {"object": None, "use_case": "people.read"},
    "GET /users": {"object": None, "use_case": "people.read"},
    "GET /inbox": {"object": None, "use_case": "inbox.own"},
    "POST /inbox/read-all": {"object": None, "use_case": "inbox.own"},
    "POST /inbox/<id:item_id>/read": {"object": "own", "use_case": "inbox.own"},
    "GET /me/notifications": {"object": None, "use_case": "inbox.own"},
    "PUT /me/notifications": {"object": None, "use_case": "inbox.own", "body": {"channels": ["inapp"]}},
    "GET /outbox": {"object": None, "use_case": "outbox.read"},
    "POST /outbox/<id:message_id>/retry": {"object": "own", "use_case": "outbox.retry"},
    # Administration (web/api/admin.py): admins only. Bodies of the documented shape (checked first, for
    # everyone), which an admin gets 400 for (an unknown unit) or which touch only xmed1 (deactivated and
    # reactivated, a new password, a one-day token); the token revoked does not exist (404, like "own").
    "GET /admin/users": {"object": None, "use_case": "admin.list_users"},
    "POST /admin/users": {"object": None, "use_case": "admin.users",
                          "body": {"username": "x_new", "password": "long enough", "roles": ["mediator"],
                                   "org_unit": "nowhere"}},
    "GET /admin/users/<username>": {"object": None, "use_case": "admin.list_users"},
    "PATCH /admin/users/<username>": {"object": None, "use_case": "admin.change_user", "body": {"org_unit": "nowhere"}},
    "POST /admin/users/<username>/deactivate": {"object": None, "use_case": "admin.deactivate_user"},
    "POST /admin/users/<username>/activate": {"object": None, "use_case": "admin.activate_user"},
    "POST /admin/users/<username>/password": {"object": None, "use_case": "admin.reset_password",
                                              "body": {"password": "long enough 2"}},
    "GET /admin/users/<username>/tokens": {"object": None, "use_case": "admin.list_tokens"},
    "POST /admin/users/<username>/tokens": {"object": None, "use_case": "admin.tokens", "body": {"days": 1}},
    "POST /admin/tokens/<id:token_id>/revoke": {"object": "own", "use_case": "admin.revoke_token"},
    "GET /admin/events": {"object": None, "use_case": "admin.events"},
    # Deployed versions and moving cases (admins); the migration's body names the same version twice,
    # so even where it is allowed it is refused as bad input and moves nothing.
    "GET /definitions": {"object": None, "use_case": "definitions.read"},
    "GET /definitions/<key>/<int:version>": {"object": None, "use_case": "definitions.read"},
    "GET /definitions/<key>/diff": {"object": None, "use_case": "definitions.read"},
    "POST /definitions/<key>/migrate": {"object": None, "use_case": "definitions.migrate",
                                        "body": {"from": 1, "to": 1}},
    # --- the monthly zero report (web/api/zero_reports.py): the reader's own unit; the confirmation of
    # vmed1's own village for a month not begun, which even the village's mediator is refused (409) ---
    "GET /reports/zero": {"object": "own_unit", "use_case": "zero_report.read"},
    "POST /reports/zero": {"object": "own_unit", "use_case": "zero_report.confirm",
                           "body": {"unit": "dz-lc", "month": "2099-01"}},
}
MESSAGE = {"mediation": "withdraw", "petition": "review_request"}


def test_every_rest_route_is_in_the_matrix():
    routes = {f"{r.method} {r.rule}" for r in ROUTES if not r.public}
    assert routes == set(ROUTE_CELLS), routes ^ set(ROUTE_CELLS)


def expected(role: str, cell: dict, key: str | None) -> str:
    """"hidden" (404), "refused" (403), "not_applicable" (409) or "allowed" for one cell."""
    actor = Actor("x", frozenset({role}))
    kind, use_case = cell["object"], cell["use_case"]
    if kind in ("case", "task"):
        case_type, relations = CASE_TYPE[key], case_relations(role, key)
        if not authz.allowed("case.read", actor, relations, case_type=case_type):
            return "hidden"
        if use_case == "message":
            use_case = f"message.{MESSAGE[case_type]}"
        if kind == "task" and use_case != "case.read":
            relations = task_relations(role, key)
        step = TASK_STEP[key] if kind == "task" else None
        if authz.grants(use_case, case_type, step) is None:
            return "not_applicable"
        return "allowed" if authz.allowed(use_case, actor, relations, case_type=case_type, step=step) else "refused"
    if kind == "entry":
        relations = entry_relations(role, key)
        if not authz.allowed("subsidy.read", actor, relations):
            return "hidden"
        return "allowed" if authz.allowed(use_case, actor, relations) else "refused"
    if kind == "own_unit":  # a route about the caller's own org unit (its default)
        return "allowed" if authz.allowed(use_case, actor, {A.IN_UNIT}) else "refused"
    relations = {A.AT_COUNTY} if role in COUNTY else set()
    if use_case == "subsidy.read":
        relations = {A.ENTRY_OFFICE, A.OFFICE_ABOVE, A.PAYEE}
    if use_case == "case.register":
        return "allowed" if authz.allowed(use_case, actor, relations, case_type="mediation") else "refused"
    return "allowed" if authz.allowed(use_case, actor, relations | {"anywhere"}) else "refused"


def state(world) -> str:
    """Everything a refused request must leave as it was: every case's version and history, every
    ledger entry's status, every task's assignee."""
    from sqlalchemy import func, select

    from engine.store import Case, CaseEvent, HumanTask, LedgerEvent
    with world["system"].db.read() as s:
        return json.dumps([s.execute(select(Case.id, Case.version).order_by(Case.id)).all(),
                           s.scalar(select(func.count()).select_from(CaseEvent)),
                           s.scalar(select(func.count()).select_from(LedgerEvent)),
                           s.execute(select(HumanTask.id, HumanTask.assignee, HumanTask.status)
                                     .order_by(HumanTask.id)).all()], default=str)


def path_for(rule: str, world, key: str | None) -> str:
    ids = {**world["ids"], **world["entries"]}
    path = rule
    if "<id:case_id>" in rule:
        path = path.replace("<id:case_id>", str(ids[key]))
    if "<id:task_id>" in rule:
        path = path.replace("<id:task_id>", str(world["tasks"][key]))
    if "<id:entry_id>" in rule:
        path = path.replace("<id:entry_id>", str(ids[key]))
    path = path.replace("<id:item_id>", "1").replace("<id:message_id>", "1")
    path = path.replace("<username>", "xmed1").replace("<id:token_id>", "987654321")
    path = path.replace("<key>", "mediation").replace("<int:version>", "1")
    if "<name>" in rule:
        path = path.replace("<name>", MESSAGE[CASE_TYPE[key]])
    return path


def leaks(role: str, route: str, key: str | None, body: str) -> list[str]:
    unmasked_view = route.endswith("/unmasked")
    found = [s for s in SECRETS if s in body and not unmasked_view]
    if key == "PB" and role in COUNTY and ("赵六" in body or ZHAO_LIU["id_number"] in body):
        found.append("the petitioner, to the unit complained about")
    return found


def test_every_role_on_every_route_gets_what_the_table_says_and_nothing_more(world, record_property):
    cells = 0
    problems = []
    for role, person in world["people"].items():
        for route, cell in ROUTE_CELLS.items():
            method, rule = route.split(" ", 1)
            keys = {"case": list(CASE_TYPE), "task": list(CASE_TYPE), "entry": ["EA", "EB"]}.get(cell["object"], [None])
            for key in keys:
                want = expected(role, cell, key)
                before = state(world)
                response = person.client.open(API + path_for(rule, world, key), method=method,
                                              json=cell.get("body"), headers=person._headers())
                got = response.status_code
                text = response.get_data(as_text=True)
                cells += 1
                where = f"{role} {route} {key}: expected {want}, got {got} {text[:200]}"
                if want == "hidden" and (got != 404 or "不存在" not in text):
                    problems.append(where)
                elif want == "refused" and got != 403:
                    problems.append(where)
                elif want == "not_applicable" and got != 409:
                    problems.append(where)
                elif want == "allowed" and (got in (401, 403, 404) and cell["object"] != "own" or got >= 500):
                    problems.append(where)
                if want != "allowed" and state(world) != before:
                    problems.append(f"{where}: a refused request changed something")
                problems += [f"{role} {route} {key}: shows {leak}" for leak in leaks(role, route, key, text)]
                if route.endswith("/claim") and got == 200:  # let go again: each cell starts from the same world
                    world["system"].engine.unclaim_task(world["tasks"][key], world["actors"]["admin1"])
                if cell["use_case"] in ("cases.list", "petitions.list") and got == 200:
                    for item in response.get_json()["items"]:
                        owner = next(k for k, v in world["ids"].items() if v == item["id"]) \
                            if item["id"] in world["ids"].values() else None
                        if owner and not authz.allowed("case.read", Actor("x", frozenset({role})),
                                                       case_relations(role, owner), case_type=CASE_TYPE[owner]):
                            problems.append(f"{role} {route}: lists {owner}, which they may not read")
    # A hidden case answers exactly as a missing one does.
    outsider = world["people"]["intake"]
    hidden = outsider.get(f"/cases/{world['ids']['MB']}").get_json()["error"]
    missing = outsider.get("/cases/987654321").get_json()["error"]
    assert hidden["code"] == missing["code"] and re.sub(r"\d+", "N", hidden["message"]) == re.sub(
        r"\d+", "N", missing["message"])
    # Printed at the end of the run (tests/conftest.py), from whichever worker ran it.
    record_property("matrix", f"authorization matrix: {cells} cells checked ({len(world['people'])} roles × {len(ROUTE_CELLS)} routes "
              f"× own and other cases, tasks and ledger entries)")
    assert not problems, "\n".join(problems[:40])
