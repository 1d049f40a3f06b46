"""The OpenAPI document describes exactly the routes that exist, with schemas the answers match."""
import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.api.conftest import API
from web.api.openapi import openapi_path

DOC_URI = "urn:fengqiao:openapi"
IGNORED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture
def document(client):
    response = client.get(API + "/openapi.json")  # no token needed
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def conforms(document):
    """conforms("Case", body) checks a response body against the document's schema of that name."""
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012))

    def check(name, instance):
        validator = Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry)
        errors = sorted(validator.iter_errors(instance), key=str)
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])
        return True

    return check


def test_every_flask_route_is_in_the_document_and_every_documented_route_exists(app, document):
    served = {(openapi_path(rule.rule[len(API):]), method.lower())
              for rule in app.url_map.iter_rules() if rule.rule.startswith(API + "/")
              for method in rule.methods - IGNORED_METHODS}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert served == documented
    assert document["openapi"].startswith("3.")
    assert document["servers"] == [{"url": API}]


def test_the_contract_routes_are_all_there(document):
    expected = {("/cases", "post"), ("/cases", "get"), ("/cases/{case_id}", "get"),
                ("/cases/{case_id}/events", "get"), ("/cases/{case_id}/messages/{name}", "post"),
                ("/tasks", "get"), ("/tasks/{task_id}", "get"), ("/tasks/{task_id}/claim", "post"),
                ("/tasks/{task_id}/unclaim", "post"), ("/tasks/{task_id}/assign", "post"),
                ("/tasks/{task_id}/complete", "post"), ("/audit/verify", "get"), ("/org-units", "get"),
                ("/users", "get"), ("/openapi.json", "get")}
    documented = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert expected <= documented


def test_every_reference_resolves_and_every_route_is_secured_but_the_document(document):
    schemas, responses = document["components"]["schemas"], document["components"]["responses"]
    for name in ("Case", "Task", "Deadline", "Event", "Error", "OrgUnit", "User", "CaseList", "AuditResult"):
        assert name in schemas
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"], "type": "http", "scheme": "bearer"}

    def refs(node):
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    for ref in refs(document):
        kind, name = ref.removeprefix("#/components/").split("/")
        assert name in {"schemas": schemas, "responses": responses}[kind], ref
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            assert op["security"] == ([] if path == "/openapi.json" else [{"bearerAuth": []}]), (path, method)
            if path != "/openapi.json":
                assert "401" in op["responses"]
            for param in op.get("parameters", []):
                if param["in"] == "path":
                    assert "{" + param["name"] + "}" in path


def test_answers_match_the_documented_schemas(system, mediator, auditor, people, conforms):
    case = mediator.register()
    (task,) = mediator.tasks()
    conforms("Case", case)
    conforms("TaskList", mediator.get("/tasks").get_json())
    conforms("Task", mediator.get(f"/tasks/{task['id']}").get_json())
    conforms("CaseList", mediator.get("/cases", limit=1).get_json())
    mediator.register()
    conforms("CaseList", mediator.get("/cases", limit=1).get_json())
    conforms("EventList", mediator.get(f"/cases/{case['id']}/events").get_json())
    conforms("Case", mediator.complete(task["id"], case["version"], answer="已答复").get_json())
    conforms("AuditResult", auditor.get("/audit/verify").get_json())
    conforms("OrgUnitList", mediator.get("/org-units").get_json())
    conforms("UserList", mediator.get("/users").get_json())
    conforms("Error", mediator.get("/cases/999").get_json())
    conforms("Error", people["anonymous"].get("/cases").get_json())


# ------------------------------------------------------------------ the document is valid OpenAPI 3.1
def test_the_document_validates_against_the_openapi_3_1_meta_schema(document):
    from openapi_spec_validator import OpenAPIV31SpecValidator
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []
    assert document["openapi"] == "3.1.0"


def _bundled_forms() -> dict:
    import json

    from tests.conftest import BPMN_DIR
    return {case_type: json.loads((BPMN_DIR / "forms" / case_type / "register.json").read_text(encoding="utf-8"))
            for case_type in ("mediation", "petition")}


def test_with_the_bundled_forms_post_cases_takes_one_register_form_per_case_type():
    from openapi_spec_validator import OpenAPIV31SpecValidator

    from web.api import MODULES
    from web.api.http import ROUTES
    from web.api.openapi import build_document
    document = build_document(ROUTES, API, register_forms=_bundled_forms(), modules=MODULES)
    assert list(OpenAPIV31SpecValidator(document).iter_errors()) == []
    schemas = document["components"]["schemas"]
    assert schemas["NewCase"]["discriminator"] == {"propertyName": "type", "mapping": {
        "mediation": "#/components/schemas/NewCase.mediation", "petition": "#/components/schemas/NewCase.petition"}}
    assert schemas["NewCase.mediation"]["properties"]["data"] == {"$ref": "#/components/schemas/RegisterForm.mediation"}
    assert schemas["RegisterForm.petition"]["required"] == _bundled_forms()["petition"]["required"]
    registry = Registry().with_resource(DOC_URI, Resource.from_contents(document, default_specification=DRAFT202012))
    new_case = Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/NewCase"}, registry=registry)
    dispute = {"parties": [{"side": "applicant", "name": "张三", "residence_org": "v1"},
                           {"side": "respondent", "name": "李四", "residence_org": "v1"}],
               "category": "neighbour", "summary": "排水沟", "source": "party_application", "risk_level": "green"}
    assert new_case.is_valid({"type": "mediation", "data": dispute})
    assert not new_case.is_valid({"type": "petition", "data": {}})  # the example: no longer "valid"
    assert not new_case.is_valid({"type": "mediation"})
    assert not new_case.is_valid({"type": "mediation", "data": dispute, "extra": 1})
    assert not new_case.is_valid({"type": "unknown", "data": {}})
    post = document["paths"]["/cases"]["post"]
    assert post["requestBody"]["required"] is True
    assert {"201", "400", "401", "403", "500"} == set(post["responses"])


def test_every_body_refuses_unknown_fields_and_every_id_has_its_range(document):
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            for param in op.get("parameters", []):
                if param["schema"]["type"] == "integer" and param["name"] in ("case", "after") or param["in"] == "path" \
                        and param["schema"]["type"] == "integer":
                    assert (param["schema"]["minimum"], param["schema"]["maximum"]) == (1, 2 ** 63 - 1), (path, param)
            body = op.get("requestBody")
            if body is None:
                continue
            name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            schema = schemas[name]
            branches = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in schema.get("oneOf", [])] or [schema]
            for branch in branches:
                assert branch["additionalProperties"] is False, (path, method, name)
    assert schemas["Assignment"]["properties"]["user"]["minLength"] == 1
    assert schemas["OwnerAssignment"]["properties"]["leader"]["minLength"] == 1
    assert schemas["BacklogMark"]["properties"]["reason"]["minLength"] == 1
    assert schemas["NotificationSettingsChange"]["minProperties"] == 1
    cases = {p["name"]: p["schema"] for p in document["paths"]["/cases"]["get"]["parameters"]}
    assert cases["overdue"] == {"type": "string", "enum": ["0", "1"]}
    assert cases["after"]["type"] == "integer"
    assert cases["type"]["enum"] == ["timed"]  # the deployed case types


def test_the_server_takes_exactly_what_the_document_declares(system, mediator, people):
    case = mediator.register()

    def refused(response, field):
        assert response.status_code == 400, response.get_json()
        assert field in response.get_json()["error"]["fields"], response.get_json()
        return True

    put = lambda body, **kw: mediator.client.put(API + "/me/notifications", headers=mediator._headers(),
                                                 **({"json": body} if body is not None else kw))
    assert refused(put(None, data=b""), "body")  # an empty body changes nothing: refused
    assert refused(put({}), "body")
    assert refused(put({"channels": ["inapp"], "colour": "red"}), "colour")
    assert refused(put({"channels": ["INAPP"]}), "channels.0")
    assert put({"channels": ["inapp"]}).status_code == 200
    for flag in ("true", "yes", "no", ""):
        assert refused(mediator.get("/cases", overdue=flag), "overdue")
        assert refused(mediator.get("/inbox", unread=flag), "unread")
    assert mediator.get("/cases", overdue="1").status_code == 200
    assert refused(mediator.client.get(API + f"/tasks?case={case['id']}&case={case['id']}",
                                       headers=mediator._headers()), "case")
    for after in ("", "0", "-1", "1.5", "x", str(2 ** 63)):
        assert refused(mediator.get("/cases", after=after), "after")
    assert refused(mediator.post("/cases", {"type": "timed", "data": {"days": 3}, "note": "x"}), "note")
    assert refused(mediator.post("/cases", {"data": {"days": 3}}), "type")
    (task,) = mediator.tasks(case=case["id"])
    assert refused(mediator.post(f"/tasks/{task['id']}/assign", {"user": ""}), "user")
    assert refused(mediator.post(f"/tasks/{task['id']}/complete", {"data": {}, "version": -1}), "version")
    assert refused(mediator.post(f"/tasks/{task['id']}/complete", {"data": {}, "version": 0, "verison": 1}),
                   "verison")
    assert refused(mediator.post(f"/tasks/{task['id']}/extend", {"days": 1, "reason": "   "}), "reason")
    assert refused(mediator.post(f"/cases/{case['id']}/messages/withdraw", {"data": {}, "x": 1}), "x")
    # NaN is not JSON.
    response = mediator.client.post(API + f"/tasks/{task['id']}/complete", data=b'{"version": NaN}',
                                    headers={**mediator._headers(), "Content-Type": "application/json"})
    assert refused(response, "body")
    # Nothing above changed the case.
    assert mediator.case(case["id"])["version"] == case["version"]


def test_api_modules_add_their_paths_and_schemas_and_a_clash_is_an_error():
    import types

    from web.api import MODULES
    from web.api.http import ROUTES
    from web.api.openapi import build_document
    extra = types.ModuleType("web.api.example")
    extra.OPENAPI_PATHS = {"/example/{thing_id}": {"get": {
        "operationId": "example", "summary": "例 / Example",
        "parameters": [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok", "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Example"}}}}}}}}
    extra.OPENAPI_SCHEMAS = {"Example": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    document = build_document(ROUTES, API, modules=[*MODULES, extra])
    assert document["paths"]["/example/{thing_id}"]["get"]["operationId"] == "example"
    assert document["components"]["schemas"]["Example"] == extra.OPENAPI_SCHEMAS["Example"]
    clash = types.ModuleType("web.api.clash")
    clash.OPENAPI_SCHEMAS = {"Case": {"type": "object"}}
    with pytest.raises(ValueError, match="Case"):
        build_document(ROUTES, API, modules=[*MODULES, clash])
