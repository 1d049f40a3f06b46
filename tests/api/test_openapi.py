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
