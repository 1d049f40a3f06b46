"""The justice officers' and the county's pages join the authorization matrix: every role × the
subsidy review pages (/subsidies, an entry with its case file, its actions, the quarter's batch) ×
an entry of their own office and of another, and the dashboard, signed in through /login.

The world and the relations written down by construction are the REST matrix's
(tests/api/test_authorization_matrix.py). An entry one may not read is a 404 page like a missing
one; a page one may not use is the 403 page; nothing refused changes anything; no page shows an
unmasked ID number or phone.
"""
from __future__ import annotations

from engine.application import Actor
from tests.api.test_authorization_matrix import (  # noqa: F401
    PEOPLE,
    SECRETS,
    TOO_LONG,
    entry_relations,
    state,
    world,
)
from tests.pages.conftest import PageUser
from usecases import authorization as authz

A = authz
EVERY_ENTRY_RELATION = {A.ENTRY_OFFICE, A.OFFICE_ABOVE, A.PAYEE}
ENTRY_PAGES = {  # page: (method, use case)
    "GET /subsidies?entry=<id>": ("GET", "subsidy.read"),
    "POST /subsidies/<id>/review": ("POST", "subsidy.review"),
    "POST /subsidies/<id>/approve": ("POST", "subsidy.approve"),
    "POST /subsidies/<id>/reject": ("POST", "subsidy.reject"),
    "POST /subsidies/<id>/reverse": ("POST", "subsidy.reverse"),
}
PLAIN_PAGES = {  # page: (method, use case, relations with no object)
    "GET /subsidies": ("GET", "subsidy.read"),
    "GET /subsidies/batch": ("GET", "subsidy.batch"),
    "POST /subsidies/batch": ("POST", "subsidy.batch"),
    "GET /dashboard": ("GET", "dashboard.read"),
}
COUNTY_ROLES = {"court_liaison", "leader", "auditor", "admin"}


def expected_entry(role: str, method: str, use_case: str, key: str) -> str:
    actor = Actor("x", frozenset({role}))
    if not authz.allowed("subsidy.read", actor, EVERY_ENTRY_RELATION):
        return "refused" if method == "GET" else "hidden"  # the page lists nothing for them; the action: 404
    relations = entry_relations(role, key)
    if not authz.allowed("subsidy.read", actor, relations):
        return "hidden"
    return "allowed" if authz.allowed(use_case, actor, relations) else "refused"


def expected_plain(role: str, use_case: str) -> str:
    actor = Actor("x", frozenset({role}))
    relations = {A.AT_COUNTY} if role in COUNTY_ROLES else set()
    if use_case == "subsidy.read":
        relations = EVERY_ENTRY_RELATION
    if use_case == "dashboard.read":
        relations = {"anywhere"}
    return "allowed" if authz.allowed(use_case, actor, relations) else "refused"


def test_every_role_on_every_justice_page_gets_what_the_table_says(world, record_property):  # noqa: F811
    from web.app import create_app
    app = create_app(services=world["system"].services)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        checks = []
        for page, (method, use_case) in ENTRY_PAGES.items():
            for key in ("EA", "EB"):
                path = page.split(" ", 1)[1].replace("<id>", str(world["entries"][key]))
                checks.append((f"{page} {key}", method, path, expected_entry(role, method, use_case, key)))
        for page, (method, use_case) in PLAIN_PAGES.items():
            checks.append((page, method, page.split(" ", 1)[1], expected_plain(role, use_case)))
        for where, method, path, want in checks:
            before = state(world)
            if method == "GET":
                response = person.get(path)
            else:  # a reason too long for any action, and a quarter that has not ended: nothing may change
                response = person.submit(path, {"note": TOO_LONG, "reason": TOO_LONG, "quarter": "2026Q4"},
                                         form_page="/")
            got, text = response.status_code, response.get_data(as_text=True)
            cells += 1
            said = f"{role} {where}: expected {want}, got {got}"
            if want == "hidden" and (got != 404 or "不存在" not in text and "找不到" not in text and got != 404) or want == "refused" and got != 403 or want == "allowed" and got in (403, 404) or got >= 500:
                problems.append(said)
            if state(world) != before:
                problems.append(f"{said}: changed something")
            problems += [f"{said}: shows {s}" for s in SECRETS if s in text]
    record_property("matrix", f"justice page matrix: {cells} cells checked ({len(PEOPLE)} roles × "
                              f"{len(ENTRY_PAGES) * 2 + len(PLAIN_PAGES)} page cells)")
    assert not problems, "\n".join(problems[:40])
