"""REST routes of the quarterly statistics (季度统计): the same figures as the `/reports/mediation` and
`/reports/petition` pages, for other county systems. What each figure counts is said in the schemas'
descriptions below (and in the README)."""
from __future__ import annotations

from .http import actor, query, route, services
from .openapi import Param

QUARTER_PATTERN = r"^\d{4}Q[1-4]$"
REPORT_QUERY = (
    Param("quarter", "季度，如 2026Q4（北京时间 10 月 1 日至 12 月 31 日）；默认本季度 / the quarter, e.g. 2026Q4 "
                     "(1 October to 31 December, Asia/Shanghai); default the current one",
          pattern=QUARTER_PATTERN, max_length=6),
    Param("unit", "单位代码，默认本人单位；只能是本单位或下级单位 / org unit code, default the caller's; the "
                  "caller's own unit or one below it", max_length=64),
)


@route("GET", "/reports/mediation", summary="矛盾纠纷调解季度统计 / The quarter's dispute mediation statistics",
       response=None, query=REPORT_QUERY, errors=(403,), tag="reports")
def mediation_report():
    return services().reports.mediation(actor(), quarter=query("quarter"), unit=query("unit"))


@route("GET", "/reports/petition", summary="信访事项季度统计 / The quarter's petition statistics",
       response=None, query=REPORT_QUERY, errors=(403,), tag="reports")
def petition_report():
    return services().reports.petition(actor(), quarter=query("quarter"), unit=query("unit"))


_COUNT = {"type": "integer", "minimum": 0}
_RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1,
         "description": "比例（0–1），无数据时为 null / share from 0 to 1, null when there is nothing to count"}


def _counts(descriptions: dict[str, str]) -> dict[str, dict]:
    return {name: {**_COUNT, "description": text} for name, text in descriptions.items()}


MEDIATION_COUNTS = _counts({
    "received": "本季度登记的纠纷 / disputes registered in the quarter",
    "mediated": "本季度完成过调解步骤（任一层级、任一结果）的纠纷 / disputes with a mediation step finished in the "
                "quarter (any level, any result)",
    "succeeded": "本季度达成调解协议的纠纷 / disputes that reached an agreement in the quarter",
    "failed": "本季度结案且未达成协议的纠纷（当事人拒绝调解、转入诉讼）/ disputes closed in the quarter without "
              "agreement (refused, or sent to court)",
})
MEDIATION_ROW = {
    **MEDIATION_COUNTS,
    **_counts({
        "written": "本季度达成的书面协议 / written agreements reached in the quarter",
        "oral": "本季度达成的口头协议 / oral agreements reached in the quarter",
        "confirmation_applied": "本季度申请司法确认的 / judicial confirmations applied for in the quarter",
        "confirmation_confirmed": "本季度法院确认有效的 / agreements the court confirmed in the quarter",
        "court_referrals": "本季度移送法院（诉调对接）的纠纷 / disputes referred to court in the quarter",
        "agreed_village": "本季度在村级达成的协议 / agreements reached at village level in the quarter",
        "agreed_town": "本季度在镇级达成的协议 / agreements reached at town level in the quarter",
        "agreed_county": "本季度在县级达成的协议 / agreements reached at county level in the quarter",
        "subsidy_paid_entries": "本季度发放的补贴记录数 / subsidy entries paid in the quarter",
    }),
    "subsidy_paid_fen": {"type": "integer", "description": "本季度发放的补贴金额（分，含冲正）/ subsidy paid in the "
                                                            "quarter, in fen (reversals included)"},
}
PETITION_ROW = {
    **_counts({
        "received": "本季度登记的信访事项 / petitions registered in the quarter",
        "channel_letter": "来信 / by letter", "channel_visit": "来访 / by visit", "channel_online": "网上 / online",
        "channel_phone": "电话 / by phone", "kind_complaint_request": "申诉求决 / complaints and requests",
        "kind_suggestion": "意见建议 / suggestions", "kind_accusation": "检举控告 / accusations",
        "repeat": "其中重复信访 / of them repeat petitions",
        "acceptance_decided": "本季度作出受理决定的 / acceptance decisions made in the quarter",
        "accepted_within_deadline": "其中在期限内（登记后 15 日，按法定节假日顺延）作出的 / of them made by their "
                                    "deadline (15 days from registration, as the calendar counts)",
        "handled": "本季度出具处理意见的 / written opinions served in the quarter",
        "handled_on_time": "其中在办理期限内（受理后 60 日，延期后顺延）出具的 / of them served by their deadline "
                           "(60 days from acceptance, moved by an extension)",
        "backlog_opened": "本季度成为积案的（标记为积案，或超过积案天数仍未办结）/ petitions that became backlog in "
                          "the quarter (marked, or open past the backlog period)",
        "backlog_resolved": "本季度办结的积案 / backlog petitions closed in the quarter",
    }),
    "repeat_rate": _RATE, "acceptance_rate": _RATE, "on_time_rate": _RATE,
}
_UNIT_ROW = {"unit": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
             "own": {"type": "boolean", "description": "所选单位本级 / the chosen unit itself (not one below)"}}
_FRAME = {
    "quarter": {"type": "string", "pattern": QUARTER_PATTERN},
    "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
    "as_of": {"type": "string", "format": "date-time"},
    "unit": {"type": "object", "properties": {"code": {"type": "string"}, "name": {"type": ["string", "null"]},
                                              "level": {"type": ["string", "null"]}}},
    "units": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "name": {"type": ["string", "null"]}, "level": {"type": ["string", "null"]},
        "parent": {"type": ["string", "null"]}}}},
}


def _table(properties: dict) -> dict:
    return {"type": "array", "items": {"type": "object", "properties": properties, "required": list(properties)}}


OPENAPI_SCHEMAS = {
    "MediationReport": {
        "type": "object",
        "description": "一个季度、一个单位及其下级单位的调解统计：每个直属下级单位一行（所选单位本级一行），另有合计。"
                       "案件计入现在承办它的单位。金额为分。 / One quarter's dispute statistics for a unit and the "
                       "units below it: a row for the unit itself and one per unit directly below, and the total. "
                       "A case counts under the unit that holds it now. Money in integer fen.",
        "required": [*_FRAME, "rows", "total", "by_category"],
        "properties": {
            **_FRAME,
            "rows": _table({**_UNIT_ROW, **MEDIATION_ROW}),
            "total": {"type": "object", "properties": MEDIATION_ROW, "required": list(MEDIATION_ROW)},
            "by_category": _table({"category": {"type": "string"}, **MEDIATION_COUNTS}),
        },
    },
    "PetitionReport": {
        "type": "object",
        "description": "一个季度、一个单位及其下级单位的信访统计（行与合计同调解统计）。 / One quarter's petition "
                       "statistics for a unit and the units below it (rows and total as in the mediation report).",
        "required": [*_FRAME, "rows", "total", "backlog_days"],
        "properties": {
            **_FRAME,
            "rows": _table({**_UNIT_ROW, **PETITION_ROW}),
            "total": {"type": "object", "properties": PETITION_ROW, "required": list(PETITION_ROW)},
            "backlog_days": {"type": "integer", "minimum": 1,
                             "description": "超过此天数仍未办结即为积案 / open longer than this is backlog"},
        },
    },
}


def _operation(operation_id: str, summary: str, schema: str) -> dict:
    return {"get": {
        "operationId": operation_id, "tags": ["reports"], "summary": summary,
        "parameters": [{"name": p.name, "in": "query", "required": False, "description": p.description,
                        "schema": p.schema()} for p in REPORT_QUERY],
        "responses": {"200": {"description": "成功 / success",
                              "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}},
                      "400": {"$ref": "#/components/responses/BadRequest"},
                      "401": {"$ref": "#/components/responses/Unauthenticated"},
                      "403": {"$ref": "#/components/responses/Forbidden"},
                      "500": {"$ref": "#/components/responses/InternalError"}},
        "security": [{"bearerAuth": []}],
    }}


OPENAPI_PATHS = {
    "/reports/mediation": _operation("mediation_report", "矛盾纠纷调解季度统计 / The quarter's dispute mediation "
                                                         "statistics", "MediationReport"),
    "/reports/petition": _operation("petition_report", "信访事项季度统计 / The quarter's petition statistics",
                                    "PetitionReport"),
}
