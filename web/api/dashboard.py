"""REST route of the county dashboard: the same figures as the `/dashboard` page, for other county
systems. Its OpenAPI description is in `OPENAPI_PATHS` / `OPENAPI_SCHEMAS` below (collected into
the document by the lead's hook, so openapi.py is not edited here)."""
from __future__ import annotations

from .http import actor, query_text, route, services
from .openapi import Param

DASHBOARD_QUERY = (
    Param("from", "开始日期（含），如 2026-01-01；默认为 12 个月前的月初 / first day (inclusive), e.g. 2026-01-01; "
                  "default: the first of the month 11 months back"),
    Param("to", "结束日期（含），默认今天 / last day (inclusive), default today (Asia/Shanghai)"),
    Param("unit", "单位代码，默认本人单位；只能是本单位或下级单位 / org unit code, default the caller's; "
                  "the caller's own unit or one below it"),
)


@route("GET", "/dashboard", summary="全县概况的各项数字 / The county dashboard's figures", response=None,
       query=DASHBOARD_QUERY, errors=(403,), tag="dashboard")
def dashboard_figures():
    return services().dashboard.figures(actor(), start=query_text("from"), end=query_text("to"),
                                        unit=query_text("unit"))


def _rows(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "array", "items": {"type": "object", "properties": properties,
                                       "required": required or list(properties)}}


_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
         "description": "比例（0–1），无数据时为 null / share from 0 to 1, null when there is nothing to count"}
_UNIT_ROW = {"unit": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
             "own": {"type": "boolean", "description": "所选单位本级 / the chosen unit itself (not one below)"}}

OPENAPI_SCHEMAS = {
    "Dashboard": {
        "type": "object",
        "description": "流量类数字（结案、办结、补贴、登记）按时间范围统计；逾期和积案为当前数字。金额为分。 / "
                       "Flows (closed, completed, subsidy, registered) over the range; overdue and backlog as of "
                       "now. Money in integer fen.",
        "required": ["from", "to", "as_of", "unit", "units", "fengqiao", "on_time_by_step", "on_time_by_unit",
                     "overdue_by_unit", "backlog_by_leader", "subsidy_by_quarter", "cases_by_category_month"],
        "properties": {
            "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "as_of": {"type": "string", "format": "date-time"},
            "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]},
                                                      "level": {"type": ["string", "null"]}}},
            "units": _rows({"code": {"type": "string"}, "name": {"type": ["string", "null"]},
                            "level": {"type": ["string", "null"]}, "parent": {"type": ["string", "null"]}}),
            "fengqiao": {"type": "object", "required": ["closed", "resolved", "resolved_share", "rows"], "properties": {
                "closed": _COUNT, "resolved": _COUNT, "resolved_share": _RATE,
                "rows": _rows({"outcome": {"type": "string"}, "level": {"type": ["string", "null"],
                                                                         "enum": ["village", "town", "county", None]},
                               "count": _COUNT, "share": _RATE})}},
            "on_time_by_step": _rows({"step": {"type": "string"}, "title": {"type": "string"}, "completed": _COUNT,
                                      "on_time": _COUNT, "late": _COUNT, "rate": _RATE}),
            "on_time_by_unit": _rows({**_UNIT_ROW, "completed": _COUNT, "on_time": _COUNT, "late": _COUNT,
                                      "rate": _RATE}),
            "overdue_by_unit": _rows({**_UNIT_ROW, "overdue": _COUNT}),
            "backlog_by_leader": _rows({"leader": {"type": ["string", "null"]},
                                        "display_name": {"type": ["string", "null"]},
                                        "open": _COUNT, "backlog": _COUNT, "overdue": _COUNT}),
            "subsidy_by_quarter": _rows({"quarter": {"type": "string", "pattern": "^[0-9]{4}Q[1-4]$"},
                                         "entries": _COUNT, "amount_fen": {"type": "integer"},
                                         "paid_fen": {"type": "integer"}, "rejected_fen": {"type": "integer"}}),
            "cases_by_category_month": {"type": "object", "required": ["months", "rows", "totals"], "properties": {
                "months": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}},
                "rows": _rows({"category": {"type": "string"}, "counts": {"type": "array", "items": _COUNT},
                               "total": _COUNT}),
                "totals": {"type": "array", "items": _COUNT}}},
        },
    },
}

OPENAPI_PATHS = {
    "/dashboard": {"get": {
        "operationId": "dashboard_figures", "tags": ["dashboard"],
        "summary": "全县概况的各项数字 / The county dashboard's figures",
        "parameters": [{"name": p.name, "in": "query", "required": False, "description": p.description,
                        "schema": p.schema()} for p in DASHBOARD_QUERY],
        "responses": {"200": {"description": "成功 / success",
                              "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Dashboard"}}}},
                      "400": {"$ref": "#/components/responses/BadRequest"},
                      "401": {"$ref": "#/components/responses/Unauthenticated"},
                      "403": {"$ref": "#/components/responses/Forbidden"},
                      "500": {"$ref": "#/components/responses/InternalError"}},
        "security": [{"bearerAuth": []}],
    }},
}
