"""The pages of the deployed versions join the authorization matrix: every role × every page of
`/admin/definitions`, signed in through /login like a person (the world is the REST matrix's). Only an
admin sees them; anyone else gets the 403 page and changes nothing. Then an admin's journey: the list,
a version drawn, the comparison, a dry run that changes nothing, and the confirmed move."""
from __future__ import annotations

from pathlib import Path

from engine.application import Actor
from tests.api.test_authorization_matrix import PEOPLE, state, world  # noqa: F401
from tests.conftest import deploy_files
from tests.mediation.conftest import BPMN
from tests.pages.conftest import PageUser
from usecases import authorization as authz

VARIANT = Path(__file__).resolve().parents[1] / "fixtures" / "versions" / "mediation_village_7_days.bpmn"
PAGES = {  # page: (method, the use case it serves)
    "GET /admin/definitions": ("GET", "definitions.read"),
    "GET /admin/definitions/mediation/1": ("GET", "definitions.read"),
    "GET /admin/definitions/mediation/diff?from=1&to=2": ("GET", "definitions.read"),
    "POST /admin/definitions/mediation/migrate": ("POST", "definitions.migrate"),
}


def deploy_variant(system) -> None:
    files = {p.name: p.read_bytes() for p in sorted(BPMN.iterdir()) if p.suffix in (".bpmn", ".dmn")}
    files["mediation.bpmn"] = VARIANT.read_bytes()
    deploy_files(system, files)


def app_of(world):
    from web.app import create_app
    return create_app(services=world["system"].services)


def test_every_role_on_every_versions_page_gets_what_the_table_says(world, record_property):
    deploy_variant(world["system"])
    app = app_of(world)
    problems, cells = [], 0
    for role, (username, _unit) in PEOPLE.items():
        person = PageUser(app)
        assert person.login(username, "password1").status_code in (302, 303)
        for page, (method, use_case) in PAGES.items():
            path = page.split(" ", 1)[1]
            allowed = authz.allowed(use_case, Actor("x", frozenset({role})), {"anywhere"})
            before = state(world)
            if method == "GET":
                response = person.get(path)
            else:  # a dry run: even allowed, it changes nothing
                response = person.submit(path, {"from": "1", "to": "2"}, form_page="/")
            cells += 1
            got = response.status_code
            if allowed and got != 200 or not allowed and got != 403:
                problems.append(f"{role} {page}: allowed={allowed}, got {got}")
            if state(world) != before:
                problems.append(f"{role} {page}: changed something")
    record_property("matrix", f"versions page matrix: {cells} cells checked ({len(PEOPLE)} roles × {len(PAGES)} pages)")
    assert not problems, "\n".join(problems)


def test_an_admin_compares_the_versions_tries_a_dry_run_and_confirms_the_move(world):
    system = world["system"]
    deploy_variant(system)
    admin = PageUser(app_of(world))
    admin.login("admin1", "password1")
    ma = world["ids"]["MA"]

    listing = admin.page("/admin/definitions")
    assert "第 2 版" in listing and "最新" in listing and "cli" in listing and "/admin/definitions/mediation/1" in listing
    assert "决策表（各自的版本）" in listing and "subsidy" in listing

    drawn = admin.page("/admin/definitions/mediation/2")
    assert 'data-element-id="mediate_village_late"' in drawn and "<svg" in drawn
    assert "due_in_days(7)" in drawn

    diff = admin.page("/admin/definitions/mediation/diff?from=1&to=2")
    assert "mediate_village_late" in diff and "due_in_days(7)" in diff and "试运行（不作更改）" in diff
    number = system.services.cases.get(world["actors"]["admin1"], ma)["number"]
    assert number in diff

    before = state(world)
    dry = admin.submit("/admin/definitions/mediation/migrate", {"from": "1", "to": "2", "cases": number},
                       form_page="/admin/definitions/mediation/diff?from=1&to=2")
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "试运行结果：没有作任何更改" in text and "确认迁移" in text
    assert state(world) == before

    done = admin.submit("/admin/definitions/mediation/migrate",
                        {"from": "1", "to": "2", "cases": number, "confirm": "1"},
                        form_page="/admin/definitions/mediation/diff?from=1&to=2")
    assert done.status_code == 200 and "已迁移 1 件" in done.get_data(as_text=True)
    case_page = admin.page(f"/cases/{ma}")
    assert "流程版本" in case_page and "第 2 版" in case_page and "流程由第 1 版迁移到第 2 版" in case_page

    wrong = admin.submit("/admin/definitions/mediation/migrate", {"from": "1", "to": "2", "cases": "NO-SUCH-1"},
                         form_page="/admin/definitions/mediation/diff?from=1&to=2")
    text = wrong.get_data(as_text=True)
    assert wrong.status_code == 400 and "NO-SUCH-1" in text and 'class="error-summary"' in text
