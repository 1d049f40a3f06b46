"""REST routes of the deployed versions (admin only): list them, read one, compare two, move running
cases from one to another (`usecases/definitions.py`).

`OPENAPI_PATHS` and `OPENAPI_SCHEMAS` describe these routes fully for the OpenAPI document (the
route table gives their paths and errors; these give their bodies).
"""
from __future__ import annotations

from typing import Any

from .http import actor, json_body, query_text, route, services
from .openapi import Param


@route("GET", "/definitions", summary="已部署的流程版本及其案件数 / Deployed process versions and their cases",
       response=None, query=(Param("key", "只列此流程 / only this process"),), errors=(403,), tag="definitions")
def list_definitions():
    return services().definitions.list(actor(), query_text("key"))


@route("GET", "/definitions/<key>/<int:version>", summary="一个版本：步骤、文件与流程图 / One version: its steps, "
       "files and diagram", response=None, errors=(403,), tag="definitions")
def get_definition(key: str, version: int):
    return services().definitions.get(actor(), key, version)


@route("GET", "/definitions/<key>/diff", summary="比较两个版本，并检查在办案件能否迁移 / Compare two versions and "
       "check whether each open case can move", response=None,
       query=(Param("from", "原版本 / the version compared from", type="integer", minimum=1),
              Param("to", "新版本 / the version compared to", type="integer", minimum=1)),
       errors=(403,), tag="definitions")
def diff_definitions(key: str):
    return services().definitions.diff(actor(), key, query_text("from"), query_text("to"))


@route("POST", "/definitions/<key>/migrate", summary="把在办案件迁移到另一版本（管理员）/ Move open cases to "
       "another version (admins)", response=None, body=None, errors=(403, 409), tag="definitions")
def migrate_definitions(key: str):
    body = json_body()
    return services().definitions.migrate(actor(), key, body.get("from"), body.get("to"), cases=body.get("cases"),
                                          dry_run=body.get("dry_run", False))


_VERSION = {
    "type": "object",
    "required": ["key", "name", "version", "content_hash", "deployed_at", "deployed_by", "open_cases",
                 "closed_cases", "newest"],
    "properties": {"key": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "integer"},
                   "content_hash": {"type": "string", "description": "sha256 of the spec and its diagram"},
                   "deployed_at": {"type": "string", "format": "date-time"}, "deployed_by": {"type": "string"},
                   "open_cases": {"type": "integer"}, "closed_cases": {"type": "integer"},
                   "newest": {"type": "boolean"}},
}
_STEP = {"type": "object", "required": ["id", "name", "kind"],
         "properties": {"id": {"type": "string", "description": "BPMN id"}, "name": {"type": "string"},
                        "kind": {"type": "string"}}}
_CASE_CHECK = {
    "type": "object", "required": ["case_id", "number", "status", "can_move", "open_steps", "blockers", "mapping",
                                   "timers"],
    "properties": {
        "case_id": {"type": "integer"}, "number": {"type": ["string", "null"]},
        "status": {"type": "string", "enum": ["moved", "would_move", "blocked", "skipped"]},
        "can_move": {"type": "boolean"}, "note": {"type": "string"},
        "open_steps": {"type": "array", "items": {"type": "string"}},
        "blockers": {"type": "array", "items": {"type": "object", "properties": {
            "step": {"type": "string"}, "name": {"type": "string"}, "message": {"type": "string"},
            "reason": {"type": "string", "enum": ["open_step_removed", "passed_step_removed", "form_changed",
                                                  "role_changed", "kind_changed", "attached_events_changed",
                                                  "timer_kind_changed", "cycle_timer_changed", "message_changed",
                                                  "timer_unavailable", "not_placed"]}}}},
        "mapping": {"type": "object", "additionalProperties": {"type": "string"},
                    "description": "open step id in the old version → id in the new"},
        "timers": {"type": "array", "items": {"type": "object", "properties": {
            "step": {"type": "string"}, "kind": {"type": "string"}, "from": {"type": ["string", "null"]},
            "to": {"type": "string"}, "overdue": {"type": "boolean"}}}},
    },
}

OPENAPI_SCHEMAS: dict[str, dict[str, Any]] = {
    "DefinitionVersion": _VERSION,
    "DefinitionList": {"type": "object", "required": ["items", "decisions"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/DefinitionVersion"}},
        "decisions": {"type": "array", "description": "DMN decision tables, versioned on their own",
                      "items": {"type": "object", "properties": {
                          "key": {"type": "string"}, "name": {"type": "string"}, "version": {"type": "integer"},
                          "content_hash": {"type": "string"}, "file": {"type": "string"},
                          "deployed_at": {"type": "string"}, "deployed_by": {"type": "string"}}}}}},
    "DefinitionDetail": {"allOf": [{"$ref": "#/components/schemas/DefinitionVersion"}, {
        "type": "object", "properties": {
            "files": {"type": "array", "items": {"type": "string"}},
            "bpmn": {"type": ["string", "null"], "description": "the BPMN file, diagram included"},
            "versions": {"type": "array", "items": {"type": "integer"}},
            "steps": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "name": {"type": "string"}, "kind": {"type": "string"},
                "role": {"type": ["string", "null"]}, "form": {"type": ["string", "null"]},
                "timer": {"type": ["string", "null"]}}}}}}]},
    "DefinitionStep": _STEP,
    "DefinitionStepChange": {"allOf": [{"$ref": "#/components/schemas/DefinitionStep"}, {
        "type": "object", "properties": {
            "changes": {"type": "array", "items": {"type": "string", "enum": [
                "name", "id", "kind", "timer", "form", "role", "script", "flow", "event", "properties", "other"]}},
            "before": {"type": "object"}, "after": {"type": "object"}}}]},
    "CaseMigrationCheck": _CASE_CHECK,
    "DefinitionDiff": {"type": "object", "required": ["process_key", "from", "to", "added", "removed", "changed",
                                                      "cases", "open_cases", "movable", "blocked"],
                       "properties": {
                           "process_key": {"type": "string"}, "from": {"type": "integer"}, "to": {"type": "integer"},
                           "added": {"type": "array", "items": {"$ref": "#/components/schemas/DefinitionStep"}},
                           "removed": {"type": "array", "items": {"$ref": "#/components/schemas/DefinitionStep"}},
                           "changed": {"type": "array",
                                       "items": {"$ref": "#/components/schemas/DefinitionStepChange"}},
                           "cases": {"type": "array", "items": {"$ref": "#/components/schemas/CaseMigrationCheck"}},
                           "open_cases": {"type": "integer"}, "checked": {"type": "integer"},
                           "movable": {"type": "integer"}, "blocked": {"type": "integer"}}},
    "MigrationRequest": {"type": "object", "required": ["from", "to"], "additionalProperties": False, "properties": {
        "from": {"type": "integer", "minimum": 1, "maximum": 2 ** 31 - 1},
        "to": {"type": "integer", "minimum": 1, "maximum": 2 ** 31 - 1},
        "cases": {"type": "array", "items": {"type": ["integer", "string"]},
                  "description": "only these cases (ids or numbers); default every open case of `from`"},
        "dry_run": {"type": "boolean", "default": False, "description": "say what would happen, change nothing"}}},
    "MigrationResult": {"type": "object", "required": ["process_key", "from", "to", "dry_run", "cases", "moved",
                                                       "would_move", "blocked", "skipped"],
                        "properties": {
                            "process_key": {"type": "string"}, "from": {"type": "integer"},
                            "to": {"type": "integer"}, "dry_run": {"type": "boolean"},
                            "cases": {"type": "array", "items": {"$ref": "#/components/schemas/CaseMigrationCheck"}},
                            "moved": {"type": "integer"}, "would_move": {"type": "integer"},
                            "blocked": {"type": "integer"}, "skipped": {"type": "integer"}}},
}


def _ok(schema: str) -> dict[str, Any]:
    return {"description": "成功 / success", "content": {"application/json": {"schema": {
        "$ref": f"#/components/schemas/{schema}"}}}}


def _errors(*codes: int) -> dict[str, Any]:
    names = {400: "BadRequest", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
             500: "InternalError"}
    return {str(c): {"$ref": f"#/components/responses/{names[c]}"} for c in codes}


_KEY = {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}, "description": "process key"}
OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/definitions": {"get": {
        "operationId": "list_definitions", "tags": ["definitions"], "security": [{"bearerAuth": []}],
        "summary": "已部署的流程版本及其案件数 / Deployed process versions and their cases",
        "parameters": [{"name": "key", "in": "query", "required": False, "schema": {"type": "string"}}],
        "responses": {"200": _ok("DefinitionList"), **_errors(400, 401, 403, 404, 500)}}},
    "/definitions/{key}/{version}": {"get": {
        "operationId": "get_definition", "tags": ["definitions"], "security": [{"bearerAuth": []}],
        "summary": "一个版本：步骤、文件与流程图 / One version: its steps, files and diagram",
        "parameters": [_KEY, {"name": "version", "in": "path", "required": True,
                              "schema": {"type": "integer", "minimum": 1, "maximum": 2 ** 63 - 1}}],
        "responses": {"200": _ok("DefinitionDetail"), **_errors(400, 401, 403, 404, 500)}}},
    "/definitions/{key}/diff": {"get": {
        "operationId": "diff_definitions", "tags": ["definitions"], "security": [{"bearerAuth": []}],
        "summary": "比较两个版本，并检查在办案件能否迁移 / Compare two versions and check whether each open case can move",
        "parameters": [_KEY, {"name": "from", "in": "query", "required": True,
                              "schema": {"type": "integer", "minimum": 1}},
                       {"name": "to", "in": "query", "required": True, "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": _ok("DefinitionDiff"), **_errors(400, 401, 403, 404, 500)}}},
    "/definitions/{key}/migrate": {"post": {
        "operationId": "migrate_definitions", "tags": ["definitions"], "security": [{"bearerAuth": []}],
        "summary": "把在办案件迁移到另一版本（管理员）/ Move open cases to another version (admins)",
        "parameters": [_KEY],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/MigrationRequest"}}}},
        "responses": {"200": _ok("MigrationResult"), **_errors(400, 401, 403, 404, 409, 500)}}},
}
