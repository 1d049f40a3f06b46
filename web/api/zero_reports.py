"""REST routes of the monthly zero report (零上报): a month's reports of the villages of a unit, and a
village mediator's one-click confirmation that the month had no dispute. The same use cases as the
`/reports/zero` page (usecases/zero_reports.py)."""
from __future__ import annotations

from .http import actor, json_body, query, route, services
from .openapi import Param

MONTH_PATTERN = "^[0-9]{4}-(0[1-9]|1[0-2])$"

ZERO_REPORT_QUERY = (
    Param("month", "月份 YYYY-MM（Asia/Shanghai），默认上月 / the month, YYYY-MM in Asia/Shanghai; default the month "
                   "just ended", pattern=MONTH_PATTERN),
    Param("unit", "单位代码，默认本人单位；其本身及下级的村（社区）/ org unit code, default the caller's: its villages "
                  "and those below it", max_length=64),
)


@route("GET", "/reports/zero", summary="各村（社区）某月的上报情况 / A month's reports of a unit's villages",
       response="ZeroReportMonth", query=ZERO_REPORT_QUERY, errors=(403,), tag="reports")
def zero_report_month():
    return services().zero_reports.overview(actor(), month=query("month"), unit=query("unit"))


@route("POST", "/reports/zero", summary="确认本月无矛盾纠纷（零上报）/ Confirm a month without disputes (zero report)",
       body="ZeroReportConfirm", response="ZeroReportConfirmed", status=201, errors=(403, 409), tag="reports")
def confirm_zero_report():
    body = json_body()
    return services().zero_reports.confirm(actor(), body.get("unit"), body.get("month")), 201


_TEXT = {"type": "string"}
_NULL_TEXT = {"type": ["string", "null"]}
_COUNT = {"type": "integer", "minimum": 0}
_WHEN = {"type": ["string", "null"], "format": "date-time"}
_MONTH = {"type": "string", "pattern": MONTH_PATTERN}
_VILLAGE = {
    "type": "object",
    "required": ["code", "name", "town", "town_name", "status", "cases", "overdue", "reported_by",
                 "reported_by_name", "reported_at", "late", "void"],
    "properties": {
        "code": _TEXT, "name": _TEXT, "town": _NULL_TEXT, "town_name": _NULL_TEXT,
        "status": {"type": "string", "enum": ["cases", "zero", "missing"],
                   "description": "cases：该月有登记案件；zero：已零上报；missing：未上报 / cases registered that "
                                  "month; zero report filed; not reported"},
        "cases": _COUNT, "overdue": {"type": "boolean", "description": "未上报且已过次月 5 日 / missing after the 5th"},
        "reported_by": _NULL_TEXT, "reported_by_name": _NULL_TEXT, "reported_at": _WHEN,
        "late": {"type": "boolean", "description": "零上报晚于截止日 / the zero report came after the due date"},
        "void": {"type": "boolean", "description": "零上报后该月又登记了案件 / a case of the month came after "
                                                   "the zero report"},
    },
}

OPENAPI_SCHEMAS = {
    "ZeroReportMonth": {
        "type": "object",
        "description": "某月各村（社区）的上报情况 / the month's report of every village of the unit",
        "required": ["month", "due_date", "overdue", "open", "future", "as_of", "unit", "villages", "missing",
                     "counts", "may_confirm", "months"],
        "properties": {
            "month": _MONTH, "due_date": {"type": "string", "format": "date"}, "overdue": {"type": "boolean"},
            "open": {"type": "boolean", "description": "该月仍可上报 / the month may still be reported"},
            "future": {"type": "boolean"}, "as_of": {"type": "string", "format": "date-time"},
            "unit": {"type": "object", "required": ["code", "name", "level"],
                     "properties": {"code": _TEXT, "name": _NULL_TEXT, "level": _NULL_TEXT}},
            "villages": {"type": "array", "items": _VILLAGE},
            "missing": {"type": "array", "items": _VILLAGE},
            "counts": {"type": "object", "required": ["cases", "zero", "missing"],
                       "properties": {"cases": _COUNT, "zero": _COUNT, "missing": _COUNT}},
            "may_confirm": {"type": "array", "items": _TEXT,
                            "description": "调用者现在可以零上报的村 / villages the caller may confirm now"},
            "months": {"type": "array", "items": _MONTH, "description": "现在可上报的月份 / months open now"},
        },
    },
    "ZeroReportConfirm": {
        "type": "object", "required": ["unit", "month"], "additionalProperties": False,
        "properties": {"unit": {"type": "string", "minLength": 1, "maxLength": 64,
                                "description": "村（社区）代码 / village code"},
                       "month": {**_MONTH, "description": "上月或本月 / the month just ended or the current one"}},
    },
    "ZeroReportConfirmed": {
        "type": "object",
        "required": ["unit", "unit_name", "month", "status", "reported_by", "reported_at", "admin_event_seq", "late"],
        "properties": {"unit": _TEXT, "unit_name": _NULL_TEXT, "month": _MONTH, "status": {"const": "zero"},
                       "reported_by": _TEXT, "reported_at": {"type": "string", "format": "date-time"},
                       "admin_event_seq": {"type": "integer", "minimum": 1}, "late": {"type": "boolean"}},
    },
}
