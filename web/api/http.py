"""The REST API's HTTP plumbing: the blueprint, the route table the OpenAPI document is built from,
bearer-token authentication, reading requests, and the error format.

Routes stay thin: read the request, call one use case of the application layer (`usecases`),
return JSON. Every error leaves as `{"error": {"code", "message", "fields"}}`.
"""
from __future__ import annotations

import json
from functools import cache, lru_cache
from types import ModuleType
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound as RouteNotFound
from werkzeug.routing import BaseConverter

from engine.application import Actor
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.forms import field_errors
from usecases import Services

from .openapi import ID_MAX, Param, Route, all_schemas, openapi_path, request_schemas

URL_PREFIX = "/api/v1"
EXTENSION = "fengqiao"
DEFAULT_PAGE = 50
MAX_PAGE = 200

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
ROUTES: list[Route] = []
ROUTE_OF: dict[str, Route] = {}  # endpoint → its route
MODULES: list[ModuleType] = []  # every API module (web.api fills it): their OPENAPI_PATHS and OPENAPI_SCHEMAS

STATUS_OF = {InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409}


class IdConverter(BaseConverter):
    """A path id: digits that fit a 64-bit id; anything else matches no route (404)."""
    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > ID_MAX:
            from werkzeug.routing import ValidationError
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters.setdefault("id", IdConverter)


def route(method: str, rule: str, *, summary: str, response: str | None, status: int = 200,
          body: str | None = None, query: tuple[Param, ...] = (), errors: tuple[int, ...] = (),
          public: bool = False, tag: str = "") -> Callable:
    """Register a view with Flask and describe it in the OpenAPI route table."""
    def register(view: Callable) -> Callable:
        described = Route(method, rule, view.__name__, summary, response, status, body, query, errors,
                          public, (tag,) if tag else ())
        ROUTES.append(described)
        ROUTE_OF[f"{bp.name}.{view.__name__}"] = described
        view.public = public
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view
    return register


# ------------------------------------------------------------------------------ plumbing
def services() -> Services:
    return current_app.extensions[EXTENSION]


def actor() -> Actor:
    return g.actor


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def _refuse_constant(name: str):
    raise ValueError(name)


def json_body() -> dict[str, Any]:
    """The request body as a JSON object ({} when empty), checked against the body schema the document
    declares for this route (unknown fields, types, bounds and patterns); 400 naming each bad field."""
    raw = request.get_data(cache=True)
    body: Any = {}
    if raw.strip():
        try:
            body = json.loads(raw, parse_constant=_refuse_constant)  # NaN and Infinity are not JSON
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise InvalidInput("请求体不是合法的 JSON / the request body is not valid JSON",
                               fields={"body": "JSON 格式错误 / malformed JSON"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 / the request body must be a JSON object",
                           fields={"body": "应为对象 / must be an object"})
    schema = _body_schema(request.url_rule.rule if request.url_rule else "", request.method)
    if schema is not None:
        errors = field_errors(schema, body)
        if "_" in errors:  # the body as a whole (e.g. no field given): named "body" as elsewhere in the API
            errors["body"] = errors.pop("_")
        if errors:
            raise InvalidInput("请求有误，请检查标出的字段 / the request has errors in the fields shown", fields=errors)
    return body


@cache
def _body_schema(rule: str, method: str) -> dict[str, Any] | None:
    """The documented body schema of a route, with the components its references point into."""
    schema = _request_schemas().get((openapi_path(rule[len(URL_PREFIX):]), method.lower()))
    if schema is None:
        return None
    return {**schema, "components": {"schemas": all_schemas(MODULES)}}


@lru_cache(maxsize=1)
def _request_schemas() -> dict[tuple[str, str], dict]:
    return request_schemas(ROUTES, MODULES)


def form_data(body: dict[str, Any]) -> Any:
    return body.get("data", {})


def query(name: str) -> Any:
    """The route's query parameter `name`, read exactly as the document declares it (`Param.read`):
    None when absent; 400 when given twice or not as declared."""
    declared = ROUTE_OF.get(request.endpoint or "")
    param = next((p for p in declared.query if p.name == name), None) if declared else None
    param = param or Param(name, "")  # not declared (a route described in OPENAPI_PATHS): plain text
    values = request.args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"参数 {name} 只能给一次 / {name} may be given only once",
                           fields={name: "重复的参数 / repeated parameter"})
    if not values:
        return None
    try:
        value = param.read(values[0])
    except ValueError as e:
        raise _bad_parameter(name, e) from None
    return None if value == "" else value


def _bad_parameter(name: str, error: ValueError) -> InvalidInput:
    zh, _, en = str(error).partition(" / ")
    return InvalidInput(f"参数 {name}：{zh} / {name}: {en}", fields={name: str(error)})


def query_text(name: str) -> str | None:
    """A query parameter given at most once (a repeated one is refused), or None."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"参数 {name} 只能给一次 / {name} may be given only once",
                           fields={name: "重复的参数 / repeated parameter"})
    return values[0] if values and values[0] != "" else None


def query_int(name: str, *, default: int | None = None, minimum: int = 1, maximum: int | None = None) -> int | None:
    """For routes without a declared `Param`: a whole number in range, `default` when absent; an
    empty or malformed value is refused (400), as `query` does."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"参数 {name} 只能给一次 / {name} may be given only once",
                           fields={name: "重复的参数 / repeated parameter"})
    if not values:
        return default
    try:
        return Param(name, "", type="integer", minimum=minimum, maximum=maximum).read(values[0])
    except ValueError as e:
        raise _bad_parameter(name, e) from None


def query_flag(name: str) -> bool:
    """For routes without a declared `Param`: exactly "1" or "0" (absent: False)."""
    values = request.args.getlist(name)
    if len(values) > 1:
        raise InvalidInput(f"参数 {name} 只能给一次 / {name} may be given only once",
                           fields={name: "重复的参数 / repeated parameter"})
    if not values:
        return False
    try:
        return Param(name, "", type="flag").read(values[0])
    except ValueError as e:
        raise _bad_parameter(name, e) from None


def page(items: list, next_id: int | None, **extra: Any) -> dict[str, Any]:
    return {"items": items, "next": str(next_id) if next_id is not None else None, **extra}


# ------------------------------------------------------------------------------ auth and errors
@bp.before_request
def authenticate():
    view = current_app.view_functions.get(request.endpoint or "")
    if view is not None and getattr(view, "public", False):
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("缺少访问令牌，请在 Authorization 头中提供 Bearer 令牌 / "
                              "missing bearer token in the Authorization header")
    g.actor = services().actor_for_token(token)
    return None


@bp.errorhandler(EngineError)
def engine_error(e: EngineError):
    status = next((s for cls, s in STATUS_OF.items() if isinstance(e, cls)), 400)
    return error_response(status, e.code, e.message, e.fields)


def in_api() -> bool:
    return request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/")


@bp.app_errorhandler(RouteNotFound)
def route_not_found(e: RouteNotFound):
    # App-wide: an unknown URL matches no blueprint, so only the path says it was meant for the API.
    if not in_api():
        return e
    return error_response(404, "not_found", "没有这个接口 / no such API route")


@bp.app_errorhandler(MethodNotAllowed)
def method_not_allowed(e: MethodNotAllowed):
    if not in_api():
        return e
    response = error_response(405, "method_not_allowed", f"该接口不支持 {request.method} 方法 / "
                                                         f"{request.method} is not allowed here")
    response.headers["Allow"] = ", ".join(sorted(e.valid_methods or []))
    return response


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException):
    if e.code == 400:
        return error_response(400, "invalid_input", "请求有误 / bad request")
    if e.code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(413, "request_too_large",
                              f"请求体超过 {limit} 字节的上限，未做任何更改 / the request body is larger than the "
                              f"limit of {limit} bytes: nothing was changed", {"body": f"≤ {limit} bytes"})
    code = (e.name or "error").lower().replace(" ", "_")
    return error_response(e.code or 500, code, f"请求未能处理（{e.code}）/ {e.name}")


@bp.errorhandler(Exception)
def unexpected_error(e: Exception):
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "internal_error", "服务器内部错误，已记录，请稍后重试或联系管理员 / "
                                                 "internal server error (logged): retry later or tell the admin")
