"""The REST API, `/api/v1`: translates HTTP to engine commands and queries, and back.

Every route is declared once with `@route(...)`, which registers it with Flask and adds it to
`ROUTES`, the table the OpenAPI document is built from. Routes stay thin: read the request,
call the engine or a query, return JSON. Every error leaves as
`{"error": {"code", "message", "fields"}}`.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from flask import Blueprint, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound as RouteNotFound

from engine import queries
from engine.accounts import actor_for_token
from engine.application import Actor
from engine.audit import verify_cases
from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, Unauthenticated
from engine.system import System

from .openapi import Param, Route, build_document

URL_PREFIX = "/api/v1"
EXTENSION = "fengqiao"
DEFAULT_PAGE = 50
MAX_PAGE = 200
AUDIT_ROLES = {"auditor", "admin"}

bp = Blueprint("api", __name__, url_prefix=URL_PREFIX)
ROUTES: list[Route] = []

STATUS_OF = {InvalidInput: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409}


def route(method: str, rule: str, *, summary: str, response: str | None, status: int = 200,
          body: str | None = None, query: tuple[Param, ...] = (), errors: tuple[int, ...] = (),
          public: bool = False, tag: str = "") -> Callable:
    """Register a view with Flask and describe it in the OpenAPI route table."""
    def register(view: Callable) -> Callable:
        ROUTES.append(Route(method, rule, view.__name__, summary, response, status, body, query, errors,
                            public, (tag,) if tag else ()))
        view.public = public
        bp.add_url_rule(rule, view_func=view, methods=[method])
        return view
    return register


# ------------------------------------------------------------------------------ plumbing
def system() -> System:
    return current_app.extensions[EXTENSION]


def actor() -> Actor:
    return g.actor


def error_response(status: int, code: str, message: str, fields: dict[str, str] | None = None):
    response = jsonify({"error": {"code": code, "message": message, "fields": fields or {}}})
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


def json_body() -> dict[str, Any]:
    """The request body as a JSON object ({} when empty); 400 when it is anything else."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("请求体不是合法的 JSON / the request body is not valid JSON",
                           fields={"body": "JSON 格式错误 / malformed JSON"}) from None
    if not isinstance(body, dict):
        raise InvalidInput("请求体必须是 JSON 对象 / the request body must be a JSON object",
                           fields={"body": "应为对象 / must be an object"})
    return body


def form_data(body: dict[str, Any]) -> dict[str, Any]:
    data = body.get("data", {})
    if not isinstance(data, dict):
        raise InvalidInput("数据（data）必须是 JSON 对象 / data must be a JSON object",
                           fields={"data": "应为对象 / must be an object"})
    return data


def query_int(name: str, *, default: int | None = None, minimum: int = 1, maximum: int | None = None) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        bound = f"{minimum}–{maximum}" if maximum is not None else f"≥ {minimum}"
        raise InvalidInput(f"参数 {name} 应为整数（{bound}）/ {name} must be a whole number ({bound})",
                           fields={name: f"应为整数 {bound} / must be a whole number {bound}"})
    return value


def query_flag(name: str) -> bool:
    raw = request.args.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise InvalidInput(f"参数 {name} 应为 1 或 0 / {name} must be 1 or 0", fields={name: "应为 1 或 0 / must be 1 or 0"})


def case_view(case_id: int) -> dict[str, Any]:
    sys = system()
    with sys.db.read() as session:
        return queries.case_view(session, case_id, actor(), sys.clock.now())


def after_command(result) -> dict[str, Any]:
    """The fresh case view after a command; only what the command returned if the caller may not read it."""
    try:
        return case_view(result.case_id)
    except NotFound:
        return {"id": result.case_id, "version": result.version, "status": result.status}


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
    with system().db.read() as session:
        g.actor = actor_for_token(session, token)
    return None


@bp.errorhandler(EngineError)
def engine_error(e: EngineError):
    status = next((s for cls, s in STATUS_OF.items() if isinstance(e, cls)), 400)
    return error_response(status, e.code, e.message, e.fields)


def _in_api() -> bool:
    return request.path == URL_PREFIX or request.path.startswith(URL_PREFIX + "/")


@bp.app_errorhandler(RouteNotFound)
def route_not_found(e: RouteNotFound):
    # App-wide: an unknown URL matches no blueprint, so only the path says it was meant for the API.
    if not _in_api():
        return e
    return error_response(404, "not_found", "没有这个接口 / no such API route")


@bp.app_errorhandler(MethodNotAllowed)
def method_not_allowed(e: MethodNotAllowed):
    if not _in_api():
        return e
    response = error_response(405, "method_not_allowed", f"该接口不支持 {request.method} 方法 / "
                                                         f"{request.method} is not allowed here")
    response.headers["Allow"] = ", ".join(sorted(e.valid_methods or []))
    return response


@bp.errorhandler(HTTPException)
def http_error(e: HTTPException):
    if e.code == 400:
        return error_response(400, "invalid_input", "请求有误 / bad request")
    code = (e.name or "error").lower().replace(" ", "_")
    return error_response(e.code or 500, code, f"请求未能处理（{e.code}）/ {e.name}")


@bp.errorhandler(Exception)
def unexpected_error(e: Exception):
    current_app.logger.exception("unexpected error in %s %s", request.method, request.path)
    return error_response(500, "internal_error", "服务器内部错误，已记录，请稍后重试或联系管理员 / "
                                                 "internal server error (logged): retry later or tell the admin")


# ------------------------------------------------------------------------------ cases
@route("POST", "/cases", summary="登记案件 / Register a case", body="NewCase", response="Case", status=201,
       errors=(403,), tag="cases")
def create_case():
    body = json_body()
    case_type = body.get("type")
    if not isinstance(case_type, str) or not case_type:
        raise InvalidInput("请指明案件类型 / the case type is required",
                           fields={"type": "必填 / required"})
    result = system().engine.start_case(case_type, form_data(body), actor())
    return after_command(result), 201


CASE_FILTERS = (
    Param("type", "案件类型 / case type, e.g. mediation, petition"),
    Param("status", "状态 / status", enum=("open", "closed")),
    Param("level", "层级 / level", enum=("village", "town", "county")),
    Param("owner", "包案领导用户名 / owner leader's username"),
    Param("overdue", "1：只看已超期的 / 1: only cases with an overdue deadline", enum=("0", "1")),
    Param("q", "按编号或管辖单位搜索 / search case number or jurisdiction"),
    Param("after", "上一页返回的 next / the `next` of the previous page"),
    Param("limit", f"每页条数 / page size (default {DEFAULT_PAGE})", type="integer", minimum=1, maximum=MAX_PAGE),
)


@route("GET", "/cases", summary="案件列表 / List cases", response="CaseList", query=CASE_FILTERS, tag="cases")
def list_cases():
    status = request.args.get("status") or None
    if status not in (None, "open", "closed"):
        raise InvalidInput("status 应为 open 或 closed / status must be open or closed",
                           fields={"status": "应为 open 或 closed / must be open or closed"})
    sys = system()
    with sys.db.read() as session:
        items, next_id = queries.list_cases(
            session, actor(), sys.clock.now(), type=request.args.get("type") or None, status=status,
            level=request.args.get("level") or None, owner=request.args.get("owner") or None,
            overdue=query_flag("overdue"), q=request.args.get("q") or None, after=query_int("after"),
            limit=query_int("limit", default=DEFAULT_PAGE, maximum=MAX_PAGE))
    return {"items": items, "next": str(next_id) if next_id is not None else None}


@route("GET", "/cases/<int:case_id>", summary="案件详情 / A case", response="Case", tag="cases")
def get_case(case_id: int):
    return case_view(case_id)


@route("GET", "/cases/<int:case_id>/events", summary="案件历史（哈希链）/ A case's hash-chained history",
       response="EventList", tag="cases")
def case_events(case_id: int):
    with system().db.read() as session:
        return {"items": queries.case_events(session, case_id, actor())}


@route("POST", "/cases/<int:case_id>/messages/<name>",
       summary="向案件投递消息（法院结果、撤回、复查申请……）/ Deliver a message to a case",
       body="Message", response="Case", errors=(403, 409), tag="cases")
def send_message(case_id: int, name: str):
    data = form_data(json_body())
    case_view(case_id)  # a case the caller may not read is not found for them either
    return after_command(system().engine.send_message(case_id, name, data, actor()))


# ------------------------------------------------------------------------------ tasks
@route("GET", "/tasks", summary="我的待办 / The caller's workable tasks", response="TaskList",
       query=(Param("case", "只看某个案件 / only this case's tasks", type="integer", minimum=1),), tag="tasks")
def list_tasks():
    case_id = query_int("case")
    sys = system()
    with sys.db.read() as session:
        return {"items": queries.worklist(session, actor(), sys.clock.now(), case_id)}


@route("GET", "/tasks/<int:task_id>", summary="任务详情及其表单 / A task with its form", response="Task",
       tag="tasks")
def get_task(task_id: int):
    sys = system()
    with sys.db.read() as session:
        found = queries.task_case_type(session, task_id)
        if found is None:
            raise NotFound(f"任务 {task_id} 不存在 / task {task_id} not found")
        case_type, step = found
        form = sys.engine.application(case_type).form_schema(step) or {}
        return queries.get_task(session, task_id, actor(), sys.clock.now(), form)


@route("POST", "/tasks/<int:task_id>/claim", summary="认领任务 / Claim a task", response="Case",
       errors=(403, 409), tag="tasks")
def claim_task(task_id: int):
    return after_command(system().engine.claim_task(task_id, actor()))


@route("POST", "/tasks/<int:task_id>/unclaim", summary="退回认领 / Release a claimed task", response="Case",
       errors=(403, 409), tag="tasks")
def unclaim_task(task_id: int):
    return after_command(system().engine.unclaim_task(task_id, actor()))


@route("POST", "/tasks/<int:task_id>/assign", summary="指派任务 / Assign a task", body="Assignment",
       response="Case", errors=(403, 409), tag="tasks")
def assign_task(task_id: int):
    username = json_body().get("user")
    if not isinstance(username, str) or not username:
        raise InvalidInput("请指明用户 / the user is required", fields={"user": "必填 / required"})
    return after_command(system().engine.assign_task(task_id, username, actor()))


@route("POST", "/tasks/<int:task_id>/complete", summary="办结任务 / Complete a task", body="Completion",
       response="Case", errors=(403, 409), tag="tasks")
def complete_task(task_id: int):
    body = json_body()
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidInput("请提供读取时的案件版本号 version / the case version you read is required",
                           fields={"version": "必填，整数 / required, a whole number"})
    result = system().engine.complete_task(task_id, form_data(body), actor(), expected_version=version)
    return after_command(result)


# ------------------------------------------------------------------------------ audit, people
@route("GET", "/audit/verify", summary="校验历史哈希链 / Verify the hash chains", response="AuditResult",
       query=(Param("case", "只校验某个案件 / only this case", type="integer", minimum=1),),
       errors=(403,), tag="audit")
def verify_audit():
    if not actor().roles & AUDIT_ROLES:
        raise Forbidden("只有审计人员和管理员可以校验历史 / only auditors and admins verify history")
    case_id = query_int("case")
    with system().db.read() as session:
        checked, first_break = verify_cases(session, [case_id] if case_id is not None else None)
    return {"ok": first_break is None, "cases_checked": checked,
            "first_break": first_break.as_dict() if first_break else None}


@route("GET", "/org-units", summary="全县单位 / The county's org units", response="OrgUnitList", tag="people")
def org_units():
    with system().db.read() as session:
        return {"items": queries.org_units(session)}


@route("GET", "/users", summary="用户（不含机密）/ Users, without secrets", response="UserList", tag="people")
def users():
    with system().db.read() as session:
        return {"items": queries.users(session)}


# ------------------------------------------------------------------------------ the document
@route("GET", "/openapi.json", summary="本接口的 OpenAPI 文档 / This API's OpenAPI document", response="OpenApiDocument",
       public=True, tag="meta")
def openapi_document():
    return build_document(ROUTES, URL_PREFIX)


# The other route groups register themselves on the same blueprint (and in ROUTES).
from . import api_ledger, api_notifications, api_petitions  # noqa: E402,F401
