"""REST routes of the administration (admins only): accounts, their roles and unit, deactivation,
password resets, API tokens, and the administrators' hash-chained log. Each change is an
`admin_event` written by the use case (usecases/admin.py) in the transaction of the change."""
from __future__ import annotations

from typing import Any

from usecases.authorization import ROLES

from .http import actor, json_body, query, route, services
from .openapi import ID_MAX, SCHEMAS, Param

USERNAME_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"
TAG = "admin"  # the OpenAPI tag of these routes


@route("GET", "/admin/users", summary="全部账号（含已停用）/ Every account, deactivated ones too",
       response="AccountList", errors=(403,), tag=TAG)
def admin_users():
    return {"items": services().admin.list_users(actor())}


@route("POST", "/admin/users", summary="新建账号 / Create an account", body="NewAccount", response="Account",
       status=201, errors=(400, 403), tag=TAG)
def admin_create_user():
    return services().admin.create_account(actor(), json_body()), 201


@route("GET", "/admin/users/<username>", summary="一个账号 / One account", response="Account", errors=(403,),
       tag=TAG)
def admin_user(username: str):
    return services().admin.get_user(actor(), username)


@route("PATCH", "/admin/users/<username>", summary="修改角色、单位、显示名 / Change roles, unit, display name",
       body="AccountChange", response="Account", errors=(400, 403, 409), tag=TAG)
def admin_change_user(username: str):
    return services().admin.change_account(actor(), username, json_body())


@route("POST", "/admin/users/<username>/deactivate",
       summary="停用账号：其令牌和网页登录即刻失效 / Deactivate: its tokens and page sessions stop at once",
       response="Account", errors=(403, 409), tag=TAG)
def admin_deactivate_user(username: str):
    return services().admin.deactivate_user(actor(), username)


@route("POST", "/admin/users/<username>/activate", summary="恢复账号 / Reactivate an account", response="Account",
       errors=(403, 409), tag=TAG)
def admin_activate_user(username: str):
    return services().admin.activate_user(actor(), username)


@route("POST", "/admin/users/<username>/password",
       summary="重设密码（已登录的网页需重新登录）/ Reset the password (signed-in pages sign in again)",
       body="PasswordReset", response="Account", errors=(400, 403), tag=TAG)
def admin_reset_password(username: str):
    return services().admin.reset_password_request(actor(), username, json_body())


@route("GET", "/admin/users/<username>/tokens", summary="账号的接口令牌（不含令牌本身）/ An account's API tokens "
                                                     "(never the secret)", response="TokenList", errors=(403,),
       tag=TAG)
def admin_user_tokens(username: str):
    return {"items": services().admin.list_tokens(actor(), username)}


@route("POST", "/admin/users/<username>/tokens",
       summary="发放接口令牌（令牌只在此次返回）/ Issue an API token (the secret is returned this once)",
       body="NewToken", response="IssuedToken", status=201, errors=(400, 403, 409), tag=TAG)
def admin_issue_token(username: str):
    return services().admin.issue_token_request(actor(), username, json_body()), 201


@route("POST", "/admin/tokens/<id:token_id>/revoke",
       summary="撤销接口令牌：此后的请求即得 401 / Revoke a token: its next request gets 401",
       response="Token", errors=(403, 409), tag=TAG)
def admin_revoke_token(token_id: int):
    return services().admin.revoke_token(actor(), token_id)


@route("GET", "/admin/events", summary="管理操作记录（哈希链）及其校验 / The administrators' log (hash chain) and "
                                       "its verification", response="AdminEventPage",
       query=(Param("subject", "只看涉及此对象（用户名、单位代码……）的 / only about this user, unit …"),
              Param("kind", "事件类型 / event kind"),
              Param("before", "上一页返回的 next / the `next` of the previous page", type="integer", minimum=1),
              Param("limit", "每页条数 / page size (default 50)", type="integer", minimum=1, maximum=200)),
       errors=(400, 403), tag=TAG)
def admin_events():
    return services().admin.events(actor(), subject=query("subject"), kind=query("kind"),
                                   before=query("before"), limit=query("limit") or 50)


# ------------------------------------------------------------------------------ the OpenAPI description
_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_ROLE = {"type": "string", "enum": list(ROLES)}
_USERNAME = {"type": "string", "pattern": USERNAME_PATTERN, "minLength": 1, "maxLength": 64}
_PASSWORD = {"type": "string", "minLength": 8, "maxLength": 1000}
_TOKEN_PROPERTIES = {
    "id": {"type": "integer", "minimum": 1, "maximum": ID_MAX}, "username": {"type": "string"},
    "name": {"type": "string", "maxLength": 100}, "created_at": _TIME, "expires_at": _TIME,
    "revoked_at": _TIME_OR_NULL,
    "state": {"type": "string", "enum": ["active", "expired", "revoked"],
              "description": "有效、已过期、已撤销 / active, expired, revoked"}}

OPENAPI_SCHEMAS: dict[str, dict[str, Any]] = {
    "Account": {
        "type": "object", "required": ["username", "display_name", "org_unit", "unit_name", "roles", "civil_servant",
                                       "active", "created_at"],
        "description": "一个账号（不含密码）/ an account, without its password",
        "properties": {"username": {"type": "string"}, "display_name": {"type": "string"},
                       "org_unit": {"type": "string"}, "unit_name": {"type": "string"},
                       "roles": {"type": "array", "items": {"type": "string"}},
                       "civil_servant": {"type": "boolean"}, "active": {"type": "boolean"},
                       "created_at": _TIME,
                       "live_tokens": {"type": "integer", "minimum": 0,
                                       "description": "有效的接口令牌数 / API tokens neither expired nor revoked"}},
    },
    "AccountList": {"type": "object", "required": ["items"],
                    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Account"}}}},
    "NewAccount": {
        "type": "object", "additionalProperties": False, "required": ["username", "password", "roles", "org_unit"],
        "properties": {"username": _USERNAME, "password": _PASSWORD,
                       "roles": {"type": "array", "items": _ROLE, "minItems": 1},
                       "org_unit": {"type": "string", "minLength": 1}, "display_name": {"type": "string",
                                                                                        "maxLength": 200},
                       "civil_servant": {"type": "boolean", "default": False}},
    },
    "AccountChange": {
        "type": "object", "additionalProperties": False, "minProperties": 1,
        "description": "只改给出的字段 / only the fields given change",
        "properties": {"roles": {"type": "array", "items": _ROLE, "minItems": 1},
                       "org_unit": {"type": "string", "minLength": 1},
                       "display_name": {"type": "string", "minLength": 1, "maxLength": 200},
                       "civil_servant": {"type": "boolean"}},
    },
    "PasswordReset": {"type": "object", "additionalProperties": False, "required": ["password"],
                      "properties": {"password": _PASSWORD}},
    "NewToken": {
        "type": "object", "additionalProperties": False,
        "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 3650,
                                "description": "有效天数（默认 FENGQIAO_TOKEN_DAYS，90）/ days valid (default 90)"},
                       "name": {"type": "string", "maxLength": 100,
                                "description": "名称，如对接的系统 / a name, e.g. the system using it"}},
    },
    "Token": {"type": "object", "required": list(_TOKEN_PROPERTIES), "properties": _TOKEN_PROPERTIES},
    "IssuedToken": {"type": "object", "required": ["token", *_TOKEN_PROPERTIES],
                    "properties": {"token": {"type": "string", "pattern": "^fq_",
                                             "description": "令牌本身，只返回这一次 / the secret, returned this once"},
                                   **_TOKEN_PROPERTIES}},
    "TokenList": {"type": "object", "required": ["items"],
                  "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Token"}}}},
    "AdminEvent": {
        "type": "object", "required": ["seq", "at", "actor", "kind", "subject", "data", "hash"],
        "properties": {"seq": {"type": "integer", "minimum": 1}, "at": _TIME, "actor": {"type": "string"},
                       "kind": {"type": "string", "examples": ["user_created", "user_changed", "user_deactivated",
                                                               "user_activated", "password_reset", "token_created",
                                                               "token_revoked", "org_unit_created",
                                                               "calendar_imported", "outbox_retried",
                                                               "definitions_deployed", "contacts_changed",
                                                               "clock_set"]},
                       "subject": {"type": "string"}, "data": {"type": "object"},
                       "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
    },
    "AdminEventPage": {
        "type": "object", "required": ["items", "next", "chain"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminEvent"}},
                       "next": {"type": ["string", "null"], "description": "作为 ?before= 传回 / pass back as ?before="},
                       "chain": {"type": "object", "required": ["ok", "checked", "broken_seq", "reason"],
                                 "properties": {"ok": {"type": "boolean"}, "checked": {"type": "integer"},
                                                "broken_seq": {"type": ["integer", "null"]},
                                                "reason": {"type": ["string", "null"]}}}},
    },
}


def _operation(summary: str, response: str, *, status: int = 200, body: str | None = None,
               errors: tuple[int, ...] = (), params: list[dict] | None = None,
               body_required: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [TAG], "security": [{"bearerAuth": []}],
                          "responses": {str(status): {"description": "OK", "content": {"application/json": {
                              "schema": {"$ref": f"#/components/schemas/{response}"}}}}}}
    for code in (401, *errors):
        op["responses"][str(code)] = {"$ref": f"#/components/responses/{_ERROR_NAMES[code]}"}
    if body:
        op["requestBody"] = {"required": body_required, "content": {"application/json": {
            "schema": {"$ref": f"#/components/schemas/{body}"}}}}
    if params:
        op["parameters"] = params
    return op


_ERROR_NAMES = {400: "BadRequest", 401: "Unauthenticated", 403: "Forbidden", 404: "NotFound", 409: "Conflict"}
_USER_PARAM = {"name": "username", "in": "path", "required": True, "schema": _USERNAME}
_TOKEN_PARAM = {"name": "token_id", "in": "path", "required": True,
                "schema": {"type": "integer", "minimum": 1, "maximum": ID_MAX}}

OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    "/admin/users": {
        "get": _operation("全部账号（含已停用）/ Every account", "AccountList", errors=(403,)),
        "post": _operation("新建账号 / Create an account", "Account", status=201, body="NewAccount", errors=(400, 403)),
    },
    "/admin/users/{username}": {
        "parameters": [_USER_PARAM],
        "get": _operation("一个账号 / One account", "Account", errors=(403, 404)),
        "patch": _operation("修改角色、单位、显示名 / Change roles, unit, display name", "Account",
                            body="AccountChange", errors=(400, 403, 404, 409)),
    },
    "/admin/users/{username}/deactivate": {
        "parameters": [_USER_PARAM],
        "post": _operation("停用账号 / Deactivate an account", "Account", errors=(403, 404, 409))},
    "/admin/users/{username}/activate": {
        "parameters": [_USER_PARAM],
        "post": _operation("恢复账号 / Reactivate an account", "Account", errors=(403, 404, 409))},
    "/admin/users/{username}/password": {
        "parameters": [_USER_PARAM],
        "post": _operation("重设密码 / Reset the password", "Account", body="PasswordReset", errors=(400, 403, 404))},
    "/admin/users/{username}/tokens": {
        "parameters": [_USER_PARAM],
        "get": _operation("账号的接口令牌 / An account's API tokens", "TokenList", errors=(403, 404)),
        "post": _operation("发放接口令牌 / Issue an API token", "IssuedToken", status=201, body="NewToken",
                           errors=(400, 403, 404, 409), body_required=False),  # every field has a default
    },
    "/admin/tokens/{token_id}/revoke": {
        "parameters": [_TOKEN_PARAM],
        "post": _operation("撤销接口令牌 / Revoke an API token", "Token", errors=(403, 404, 409))},
    "/admin/events": {
        "get": _operation("管理操作记录及其校验 / The administrators' log and its verification", "AdminEventPage",
                          errors=(400, 403), params=[
                              {"name": "subject", "in": "query", "schema": {"type": "string"}},
                              {"name": "kind", "in": "query", "schema": {"type": "string"}},
                              {"name": "before", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                           "maximum": ID_MAX}},
                              {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                                          "maximum": 200}}])},
}

# Path-level parameters written once above go into each operation, where the rest of the document
# (and the tests reading it) keep them.
for _item in OPENAPI_PATHS.values():
    _shared = _item.pop("parameters", [])
    for _operation_item in _item.values():
        _operation_item["parameters"] = [*_shared, *_operation_item.get("parameters", [])]
