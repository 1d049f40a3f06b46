"""The auditors' pages join the authorization matrix: every role × every /audit page (and export) ×
each case of the REST matrix's world (tests/api/test_authorization_matrix.py), signed in through
/login like a person.

A page one may not use is the 403 page and starts nothing; a case one may not read is the 404 of a
missing one; no page or file (the XLSX read inside its zip) shows an unmasked ID number or phone, or
the petitioner of PB to the county, which PB complains about — the auditors sit at the county too.
"""
from __future__ import annotations

import io
import re
import zipfile

from sqlalchemy import func, select

from engine.application import Actor
from engine.store import AuditRun
from tests.api.test_authorization_matrix import (  # noqa: F401
    CASE_TYPE,
    COUNTY,
    PEOPLE,
    SECRETS,
    ZHAO_LIU,
    case_relations,
    state,
    world,
)
from tests.pages.conftest import PageUser
from usecases import authorization as authz

MISSING = 987654321
LISTS = {  # page: (method, the use cases it needs)
    "GET /audit": ("GET", ("audit.search",)),
    "GET /audit?party=赵六": ("GET", ("audit.search",)),
    "GET /audit?category=land_forest": ("GET", ("audit.search",)),
    "GET /audit/cases.csv": ("GET", ("audit.search", "audit.export")),
    "GET /audit/cases.xlsx": ("GET", ("audit.search", "audit.export")),
    "GET /audit/verify": ("GET", ("audit.verify",)),
    "POST /audit/verify": ("POST", ("audit.verify",)),
    "GET /audit/ledger": ("GET", ("audit.ledger",)),
    "GET /audit/ledger.csv": ("GET", ("audit.ledger", "audit.export")),
    "GET /audit/ledger.xlsx": ("GET", ("audit.ledger", "audit.export")),
}
CASE_PAGES = {
    "GET /audit/cases/<id>": ("audit.history",),
    "GET /audit/cases/<id>/history.csv": ("audit.history", "audit.export"),
    "GET /audit/cases/<id>/history.xlsx": ("audit.history", "audit.export"),
    "GET /audit/cases/<id>/file": ("audit.case_file",),
}


def may(role: str, use_cases) -> bool:
    actor = Actor("x", frozenset({role}))
    return all(authz.allowed(u, actor, {"anywhere"}) for u in use_cases)


def text_of(response) -> str:
    """What a page or a file says: an XLSX is read inside its zip (the sheet and its strings)."""
    data = response.get_data()
    if data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            return "".join(book.read(name).decode("utf-8") for name in book.namelist() if name.endswith(".xml"))
    return data.decode("utf-8", "replace")


def leaks(role: str, body: str, shows_pb: bool) -> list[str]:
    body = body.replace(f'value="{ZHAO_LIU["name"]}"', "")  # what the searcher typed comes back in its field
    found = [s for s in SECRETS if s in body]
    if role in COUNTY and shows_pb and ZHAO_LIU["name"] in body:
        found.append("the petitioner, to the unit complained about")
    return found


def runs(world) -> int:  # noqa: F811  (the fixture above)
    with world["system"].db.read() as s:
        return s.scalar(select(func.count()).select_from(AuditRun))


def test_every_role_on_every_audit_page_gets_what_the_table_says(world, record_property):  # noqa: F811
    from web.app import create_app
    world["system"].services.audit.runner = lambda work: work()  # a verification runs in place
    app = create_app(services=world["system"].services)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        for page, (method, use_cases) in LISTS.items():
            path = page.split(" ", 1)[1]
            want = "allowed" if may(role, use_cases) else "refused"
            before, started = state(world), runs(world)
            response = person.get(path) if method == "GET" else person.submit(path, {}, form_page="/")
            got, body = response.status_code, text_of(response)
            cells += 1
            where = f"{role} {page}: expected {want}, got {got}"
            if want == "refused" and (got != 403 or state(world) != before or runs(world) != started):
                problems.append(where)
            if want == "allowed" and got not in (200, 303):
                problems.append(where)
            problems += [f"{where}: shows {leak}" for leak in leaks(role, body, shows_pb=True)]
        for page, use_cases in CASE_PAGES.items():
            missing = person.get(page.split(" ", 1)[1].replace("<id>", str(MISSING)))
            for key, case_id in world["ids"].items():
                path = page.split(" ", 1)[1].replace("<id>", str(case_id))
                actor = Actor("x", frozenset({role}))
                if not may(role, use_cases):
                    want = "refused"
                elif not authz.allowed("case.read", actor, case_relations(role, key), case_type=CASE_TYPE[key]):
                    want = "hidden"
                else:
                    want = "allowed"
                response = person.get(path)
                got, body = response.status_code, text_of(response)
                cells += 1
                where = f"{role} {page} {key}: expected {want}, got {got}"
                if want == "refused" and got != 403 or want == "hidden" and (got != 404 or re.sub(r"\d+", "N", body) != re.sub(
                        r"\d+", "N", text_of(missing))) or want == "allowed" and got != 200:
                    problems.append(where)
                problems += [f"{where}: shows {leak}" for leak in leaks(role, body, shows_pb=key == "PB")]
    record_property("matrix", f"audit page authorization matrix: {cells} cells checked ({len(PEOPLE)} roles × "
                              f"{len(LISTS)} pages and exports + {len(CASE_PAGES)} case pages × 4 cases)")
    assert not problems, "\n".join(problems[:40])


def test_the_county_s_auditor_finds_no_petition_by_the_name_of_a_petitioner_withheld_from_the_county(world):  # noqa: F811
    from web.app import create_app
    app = create_app(services=world["system"].services)
    auditor = PageUser(app)
    auditor.login(PEOPLE["auditor"][0], "password1")
    page = auditor.get("/audit?party=赵六").get_data(as_text=True)
    assert "没有符合条件的案件" in page
    listed = auditor.get("/audit?type=petition").get_data(as_text=True)
    assert "（保密）" in listed and ZHAO_LIU["name"] not in listed
