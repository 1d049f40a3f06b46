"""The OpenAPI document of `/api/v1`, built from the same route table that registers the views.

`web.api.http` declares each route once (`Route`: method, Flask rule, summary, parameters, body and
response schema names); Flask gets the rule and this module gets the description, so the two
cannot drift. The component schemas are the data contract of DOMAIN.md §7, and the server reads
requests through them: bodies are checked against the schema named here (`http.json_body`), query
parameters through their `Param` (`http.query`), so what the document calls invalid is refused.
API modules add path items and schemas of their own (`OPENAPI_PATHS`, `OPENAPI_SCHEMAS`, collected
by `module_parts`); `POST /cases` takes one register form per deployed case type.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"


@dataclass(frozen=True)
class Param:
    """A query parameter, as the document declares it and as the server reads it (`read`): the two
    cannot disagree. A parameter given twice, or not as declared, is refused (400)."""
    name: str
    description: str
    type: str = "string"  # "string", "integer", or "flag" (the string "0" or "1", read as a bool)
    enum: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    case_type: bool = False  # the deployed case types are its enum (filled in per document)

    def schema(self, case_types: tuple[str, ...] = ()) -> dict[str, Any]:
        if self.type == "flag":
            return {"type": "string", "enum": ["0", "1"]}
        schema: dict[str, Any] = {"type": self.type}
        enum = case_types if self.case_type else self.enum
        if enum:
            schema["enum"] = list(enum)
        if self.type == "integer":
            schema["minimum"] = 1 if self.minimum is None else self.minimum
            schema["maximum"] = ID_MAX if self.maximum is None else self.maximum
        if self.max_length is not None:
            schema["maxLength"] = self.max_length
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        return schema

    def read(self, raw: str) -> Any:
        """The value of `raw` (as given in the URL), or ValueError with what is wrong with it."""
        if self.type == "flag":
            if raw not in ("0", "1"):
                raise ValueError("应为 1 或 0 / must be 1 or 0")
            return raw == "1"
        if self.type == "integer":
            low = 1 if self.minimum is None else self.minimum
            high = ID_MAX if self.maximum is None else self.maximum
            value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 19 else None
            if value is None or not low <= value <= high:
                raise ValueError(f"应为整数 {low}–{high} / must be a whole number from {low} to {high}")
            return value
        if self.enum and raw not in self.enum:
            raise ValueError(f"应为 {' | '.join(self.enum)} 之一 / must be one of {' | '.join(self.enum)}")
        if self.case_type and not raw:
            raise ValueError("不能为空 / must not be empty")
        if self.max_length is not None and len(raw) > self.max_length:
            raise ValueError(f"不超过 {self.max_length} 字 / at most {self.max_length} characters")
        if self.pattern is not None and not re.search(self.pattern, raw):
            raise ValueError("格式不正确 / wrong format")
        return raw


@dataclass(frozen=True)
class Route:
    """One API route: what Flask registers and what the document says about it."""
    method: str
    rule: str  # Flask rule below the API prefix, e.g. "/cases/<int:case_id>"
    endpoint: str
    summary: str
    response: str | None  # component schema of the success body
    status: int = 200
    body: str | None = None  # component schema of the request body
    query: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()  # besides 401 (authenticated routes), 404 (path parameters) and 500
    public: bool = False  # no bearer token needed
    tags: tuple[str, ...] = field(default=())


_RULE_PARAM = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_TYPES = {"int": "integer", "float": "number", "id": "integer"}
ID_MAX = 2 ** 63 - 1  # ids are 64-bit integers in every store


def openapi_path(rule: str) -> str:
    """`/cases/<int:case_id>` → `/cases/{case_id}`."""
    return _RULE_PARAM.sub(lambda m: "{" + m.group("name") + "}", rule)


def path_params(rule: str) -> list[dict[str, Any]]:
    params = []
    for m in _RULE_PARAM.finditer(rule):
        schema: dict[str, Any] = {"type": _CONVERTER_TYPES.get(m.group("converter") or "", "string")}
        if schema["type"] == "integer":
            schema["minimum"] = 1
            schema["maximum"] = ID_MAX
        params.append({"name": m.group("name"), "in": "path", "required": True, "schema": schema})
    return params


# --------------------------------------------------------------------------------- schemas
def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **extra: Any) -> dict[str, Any]:
    return {"type": [type_, "null"], **extra}


_TIME = {"type": "string", "format": "date-time", "description": "ISO 8601，带时区 / ISO 8601 with offset"}
_TIME_OR_NULL = {"type": ["string", "null"], "format": "date-time"}
_WARNING = {"type": "string", "enum": ["normal", "warning", "overdue"]}
_ANY_OBJECT = {"type": "object", "additionalProperties": True}
_VERSION = {"type": "integer", "minimum": 0, "maximum": ID_MAX}
_USERNAME = {"type": "string", "minLength": 1, "maxLength": 64}
_REASON = {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S",
           "description": "不能只有空白 / not only blanks"}
# The e-mail addresses and mobile numbers notifications.contacts accepts (and normalizes).
_EMAIL_PATTERN = (r"^\s*[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                  r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}\s*$")
_SEP = r"[\s()-]*"
_MOBILE_PATTERN = (rf"^{_SEP}(?:(?:\+{_SEP}8{_SEP}6|0{_SEP}0{_SEP}8{_SEP}6|8{_SEP}6){_SEP})?"
                   rf"1{_SEP}[3-9](?:{_SEP}[0-9]){{9}}{_SEP}$")


def _list_of(item: str, description: str) -> dict[str, Any]:
    return {"type": "object", "description": description, "required": ["items"],
            "properties": {"items": {"type": "array", "items": _ref(item)}}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object", "required": ["error"],
        "description": "所有错误的统一格式 / every error has this shape",
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_input", "conflict"]},
                "message": {"type": "string", "description": "先中文后英文 / Chinese first, then English"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "字段名 → 错误说明 / field name → message"}}}},
    },
    "Deadline": {
        "type": "object", "required": ["kind", "due_at", "warning_level", "estimated"],
        "properties": {"kind": {"type": "string", "description": "步骤或时限窗口 / step or window key"},
                       "due_at": _TIME, "warning_level": _WARNING,
                       "estimated": {"type": "boolean",
                                     "description": "按估算的节假日计算 / counted on an estimated holiday calendar"},
                       "started_at": _TIME_OR_NULL},
    },
    "Task": {
        "type": "object",
        "required": ["id", "case_id", "name", "title", "level", "role", "org_unit", "assignee", "due_at",
                     "warning_level"],
        "properties": {"id": {"type": "integer"}, "case_id": {"type": "integer"},
                       "case_number": _nullable("string"),
                       "name": {"type": "string", "description": "步骤键 / step key"},
                       "title": {"type": "string"}, "level": _nullable("string"),
                       "role": {"type": "string"}, "org_unit": _nullable("string"),
                       "assignee": _nullable("string"), "status": {"type": "string"},
                       "due_at": _TIME_OR_NULL, "warning_level": _WARNING, "created_at": _TIME_OR_NULL,
                       "form": {"type": "object",
                                "description": "该步骤表单的 JSON Schema（无表单时为 {}）/ the step's form as "
                                               "JSON Schema ({} when it has none); only in GET /tasks/{task_id}"}},
    },
    "LedgerEntry": {
        "type": "object",
        "required": ["id", "case_id", "mediator", "level", "difficulty", "amount_fen", "status", "kind"],
        "properties": {"id": {"type": "integer"}, "case_id": {"type": "integer"},
                       "mediator": _nullable("string"), "level": _nullable("string"),
                       "difficulty": _nullable("string"),
                       "amount_fen": {"type": "integer", "description": "金额（分）/ amount in fen"},
                       "status": {"type": "string",
                                  "enum": ["accrued", "reviewed", "approved", "paid", "rejected"]},
                       "kind": {"type": "string", "enum": ["subsidy", "reversal"]},
                       "reason": {"type": "string"}, "rate_version": _nullable("integer"),
                       "batch": _nullable("string")},
    },
    "CaseSummary": {
        "type": "object",
        "required": ["id", "number", "type", "status", "outcome", "level", "jurisdiction", "owner_leader",
                     "version"],
        "properties": {"id": {"type": "integer"}, "number": {"type": "string"}, "type": {"type": "string"},
                       "status": {"type": "string", "enum": ["open", "closed"]}, "outcome": _nullable("string"),
                       "level": _nullable("string"), "jurisdiction": _nullable("string"),
                       "owner_leader": _nullable("string"), "flags": {"type": "array", "items": {"type": "string"}},
                       "version": {"type": "integer"}, "created_at": _TIME_OR_NULL},
    },
    "Case": {
        "type": "object",
        "required": ["id", "number", "type", "status", "outcome", "level", "jurisdiction", "owner_leader",
                     "version", "data", "tasks", "deadlines", "subsidy"],
        "properties": {"id": {"type": "integer"}, "number": {"type": "string"}, "type": {"type": "string"},
                       "status": {"type": "string", "enum": ["open", "closed"]}, "outcome": _nullable("string"),
                       "level": _nullable("string"), "jurisdiction": _nullable("string"),
                       "owner_leader": _nullable("string"), "repeat_of": _nullable("integer"),
                       "flags": {"type": "array", "items": {"type": "string"}},
                       "version": {"type": "integer",
                                   "description": "完成任务时回传 / send it back when completing a task"},
                       "data": _ANY_OBJECT,
                       "tasks": {"type": "array", "items": _ref("Task")},
                       "deadlines": {"type": "array", "items": _ref("Deadline")},
                       "subsidy": {"type": "array", "items": _ref("LedgerEntry")},
                       "created_at": _TIME_OR_NULL, "updated_at": _TIME_OR_NULL, "closed_at": _TIME_OR_NULL},
    },
    "CaseList": {
        "type": "object", "required": ["items", "next"],
        "description": "一页案件，新的在前 / a page of cases, newest first",
        "properties": {"items": {"type": "array", "items": _ref("CaseSummary")},
                       "next": {"type": ["string", "null"],
                                "description": "下一页游标，作为 ?after= 传回；没有下一页时为 null / pass back as "
                                               "?after= for the next page; null on the last page"}},
    },
    "Event": {
        "type": "object", "required": ["seq", "at", "actor", "kind", "data", "prev_hash", "hash"],
        "properties": {"seq": {"type": "integer"}, "at": _TIME, "actor": {"type": "string"},
                       "kind": {"type": "string", "examples": ["case_created", "task_completed"]},
                       "data": _ANY_OBJECT,
                       "prev_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                       "hash": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                                "description": "sha256(prev_hash + 事件的规范 JSON / canonical JSON of the event)"}},
    },
    "EventList": _list_of("Event", "案件历史，按 seq 排序 / the case history in seq order"),
    "TaskList": {
        "type": "object", "required": ["items", "next"],
        "description": "一页当前用户可办理的任务，最先到期的在前（同一期限按编号；无期限的在后）/ a page of the "
                       "caller's workable tasks, soonest due first (then by id; those without a due date last)",
        "properties": {"items": {"type": "array", "items": _ref("Task")},
                       "next": {"type": ["string", "null"],
                                "description": "下一页游标，作为 ?after= 传回；没有下一页时为 null / pass back as "
                                               "?after= for the next page; null on the last page"}},
    },
    "OrgUnit": {
        "type": "object", "required": ["code", "name", "level", "parent"],
        "properties": {"code": {"type": "string"}, "name": {"type": "string"},
                       "level": {"type": "string", "enum": ["county", "town", "village"]},
                       "parent": _nullable("string")},
    },
    "OrgUnitList": _list_of("OrgUnit", "全县单位 / the county's org units"),
    "User": {
        "type": "object", "required": ["username", "org_unit", "roles"],
        "properties": {"username": {"type": "string"}, "display_name": {"type": "string"},
                       "org_unit": {"type": "string"}, "roles": {"type": "array", "items": {"type": "string"}},
                       "civil_servant": {"type": "boolean"}},
    },
    "UserList": _list_of("User", "在职用户（不含密码等机密）/ active users, without secrets"),
    "ChainBreak": {
        "type": "object", "required": ["case_id", "seq", "event_id", "reason"],
        "properties": {"case_id": {"type": "integer"}, "seq": _nullable("integer"),
                       "event_id": _nullable("integer"), "reason": {"type": "string"}},
    },
    "AuditResult": {
        "type": "object", "required": ["ok", "cases_checked", "first_break"],
        "properties": {"ok": {"type": "boolean"}, "cases_checked": {"type": "integer"},
                       "first_break": {"oneOf": [_ref("ChainBreak"), {"type": "null"}]}},
    },
    "OpenApiDocument": {"type": "object", "required": ["openapi", "paths"],
                        "description": "本文档（OpenAPI 3.1）/ this document (OpenAPI 3.1)"},
    "NewCase": {
        # What the server checks before the use case; the document shows it as one form per
        # deployed case type (`new_case_schemas`), which the engine checks `data` against.
        "type": "object", "required": ["type"], "additionalProperties": False,
        "properties": {"type": {"type": "string", "minLength": 1, "description": "案件类型 / case type"},
                       "data": {**_ANY_OBJECT, "description": "登记表 / the register form"}},
    },
    "Completion": {
        "type": "object", "required": ["version"], "additionalProperties": False,
        "properties": {"data": {**_ANY_OBJECT, "default": {},
                                "description": "该步骤的表单（见 GET /tasks/{task_id} 的 form）/ the step's form "
                                               "(see the form of GET /tasks/{task_id})"},
                       "version": {**_VERSION,
                                   "description": "读取时的案件版本；已变化则 409 / the case version you read; "
                                                  "409 if it moved on"}},
    },
    "Message": {
        "type": "object", "additionalProperties": False,
        "properties": {"data": {**_ANY_OBJECT, "default": {}, "description": "消息内容 / the message payload"}},
    },
    "Assignment": {
        "type": "object", "required": ["user"], "additionalProperties": False,
        "properties": {"user": {**_USERNAME, "description": "用户名 / username"}},
    },
}

# The schemas of the petition office, the ledger and the notifications routes.
_OUTBOX_STATUSES = ("pending", "sent", "failed")
_OUTBOX_STATUS = {"type": "string", "enum": list(_OUTBOX_STATUSES)}
_NULLABLE_TIME = {"type": ["string", "null"], "format": "date-time"}
SCHEMAS.update({
    "Extension": {
        "type": "object", "required": ["days", "reason"], "additionalProperties": False,
        "properties": {"days": {"type": "integer", "minimum": 1, "maximum": 365,
                                "description": "延长天数（调解每级一次，最多 15 天；信访办理一次，最多 30 天）/ days to "
                                               "add (mediation: once per level, at most 15; petition handling: once, "
                                               "at most 30)"},
                       "reason": {**_REASON, "description": "理由 / reason"},
                       "parties_consent": {"type": "boolean", "default": True,
                                           "description": "调解：双方当事人同意延期（须为 true）/ mediation: both "
                                                          "parties consent (must be true)"},
                       "approved_by": {**_USERNAME,
                                       "description": "信访：批准延期的本机关负责人（领导）用户名 / petition: the "
                                                      "username of the head (a leader) who approved it"},
                       "version": {**_VERSION, "description": "读取时的案件版本（可选）/ the case version you "
                                                              "read (optional)"}},
    },
    "LedgerAction": {
        "type": "object", "additionalProperties": False,
        "properties": {"reason": {"type": "string", "maxLength": 2000,
                                  "description": "备注（可选）/ a note (optional)"}},
    },
    "LedgerReason": {
        "type": "object", "required": ["reason"], "additionalProperties": False,
        "properties": {"reason": {**_REASON, "description": "驳回或冲销的理由 / why it is rejected or reversed"}},
    },
    "LedgerEntryList": {
        "type": "object", "required": ["items", "next"],
        "description": "补贴台账，按编号排序 / ledger entries by id",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/LedgerEntry"}},
                       "next": {"type": ["string", "null"],
                                "description": "下一页游标，作为 ?after= 传回 / pass back as ?after="}},
    },
})
SCHEMAS.update({
    "OwnerAssignment": {
        "type": "object", "required": ["leader"], "additionalProperties": False,
        "properties": {"leader": {**_USERNAME, "description": "包案领导用户名 / the owner leader's username"},
                       "reason": {"type": ["string", "null"], "maxLength": 2000,
                                  "description": "更换理由（可选）/ why (optional)"}},
    },
    "BacklogMark": {
        "type": "object", "required": ["reason"], "additionalProperties": False,
        "properties": {"reason": {**_REASON, "description": "列为积案的理由 / why it is backlog"},
                       "leader": {"type": ["string", "null"], "minLength": 1, "maxLength": 64,
                                  "description": "尚无包案领导时必填 / the owner leader, required when it has none"}},
    },
    "OwnerBoardRow": {
        "type": "object", "required": ["leader", "open", "due_within_7_days", "overdue", "backlog"],
        "properties": {"leader": {"type": ["string", "null"],
                                  "description": "包案领导；null 为尚无包案领导的信访 / null: petitions nobody owns yet"},
                       "display_name": {"type": ["string", "null"]},
                       "open": {"type": "integer", "description": "在办信访 / open petitions"},
                       "due_within_7_days": {"type": "integer",
                                             "description": "有步骤 7 天内到期 / a step is due within 7 days"},
                       "overdue": {"type": "integer", "description": "有步骤已超期 / a step is overdue"},
                       "backlog": {"type": "integer", "description": "积案 / backlog (open > 90 days, or marked)"},
                       "needs_owner": {"type": "integer", "description": "仅无包案领导一行：其中须指定包案领导的"
                                       "（重复、群体、积案）/ the no-owner row only: those that need an owner "
                                       "(repeat, group, backlog)"}},
    },
    "OwnerBoard": {
        "type": "object", "required": ["items", "as_of"],
        "description": "按包案领导统计的在办信访 / open petitions by owner leader",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OwnerBoardRow"}},
                       "as_of": {"type": "string", "format": "date-time"},
                       "flags": {"type": "array", "items": {"type": "string"}, "description": "所筛选的标记 / the flags filtered by"},
                       "unit": {"type": ["string", "null"], "description": "所筛选的单位 / the unit filtered by"}},
    },
})
SCHEMAS["Case"]["properties"].update({
    "owner_since": {"type": ["string", "null"], "format": "date-time",
                    "description": "包案领导自何时起包案 / since when the owner leader owns the case"},
    "warning_level": {"type": "string", "enum": ["normal", "warning", "overdue"],
                      "description": "案件颜色：未办步骤和期限中最严重的 / the worst level of its open steps and deadlines"},
    "links": {"type": "array", "description": "关联案件（信访转调解）/ linked cases (a petition's mediation)",
              "items": {"type": "object", "properties": {
                  "kind": {"type": "string"}, "direction": {"type": "string", "enum": ["opened", "opened_by"]},
                  "case_id": {"type": "integer"}, "number": {"type": "string"}, "type": {"type": "string"},
                  "status": {"type": "string"}, "outcome": {"type": ["string", "null"]}}}},
})
SCHEMAS.update({
    "InboxItem": {
        "type": "object", "required": ["id", "kind", "title", "body", "created_at", "read"],
        "properties": {"id": {"type": "integer"},
                       "kind": {"type": "string", "examples": ["deadline_warning", "deadline_overdue",
                                                               "deadline_overdue_supervisor", "leader_digest"]},
                       "case_id": {"type": ["integer", "null"]}, "title": {"type": "string"},
                       "body": {"type": "string"}, "link": {"type": ["string", "null"]},
                       "created_at": {"type": "string", "format": "date-time"}, "read": {"type": "boolean"},
                       "read_at": _NULLABLE_TIME},
    },
    "Inbox": {
        "type": "object", "required": ["items", "unread", "next"],
        "description": "站内通知，新的在前 / in-app notifications, newest first",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/InboxItem"}},
                       "unread": {"type": "integer", "description": "未读数 / unread count"},
                       "next": {"type": ["string", "null"]}},
    },
    "InboxReadAll": {
        "type": "object", "required": ["marked", "unread"],
        "properties": {"marked": {"type": "integer"}, "unread": {"type": "integer"}},
    },
    "NotificationSettings": {
        "type": "object", "required": ["username", "channels", "email", "phone", "unit_head"],
        "properties": {"username": {"type": "string"},
                       "channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]}},
                       "email": {"type": ["string", "null"]}, "phone": {"type": ["string", "null"]},
                       "unit_head": {"type": "boolean",
                                     "description": "本单位负责人（由管理员设置）/ heads their unit (set by an admin)"}},
    },
    "NotificationSettingsChange": {
        "type": "object", "minProperties": 1, "additionalProperties": False,
        "description": "只改给出的字段（至少一项）；null 清除地址；选邮件或短信通道须有相应地址 / only the fields "
                       "given change (at least one); null clears an address; the email and sms channels need "
                       "their address",
        "properties": {"channels": {"type": "array", "items": {"type": "string", "enum": ["inapp", "email", "sms"]},
                                    "minItems": 1, "maxItems": 3},
                       "email": {"type": ["string", "null"], "maxLength": 254, "pattern": _EMAIL_PATTERN,
                                 "description": "前后空白会去掉 / blanks around it are dropped"},
                       "phone": {"type": ["string", "null"], "pattern": _MOBILE_PATTERN,
                                 "description": "11 位大陆手机号，可带 +86、空格、短横线或括号 / a mainland mobile, "
                                                "11 digits, optionally with +86, blanks, dashes or brackets"}},
    },
    "OutboxMessage": {
        "type": "object", "required": ["id", "kind", "channel", "recipient", "status", "attempts", "last_error"],
        "properties": {"id": {"type": "integer"}, "kind": {"type": "string"},
                       "channel": {"type": "string", "enum": ["inapp", "email", "sms"]},
                       "recipient": {"type": "string"}, "case_id": {"type": ["integer", "null"]},
                       "status": _OUTBOX_STATUS, "attempts": {"type": "integer"}, "last_error": {"type": "string"},
                       "created_at": _NULLABLE_TIME, "next_attempt_at": _NULLABLE_TIME, "retry_at": _NULLABLE_TIME,
                       "sent_at": _NULLABLE_TIME, "key": {"type": "string"},
                       "attempt_log": {"type": "array", "items": {
                           "type": "object", "properties": {"attempt": {"type": "integer"}, "at": _NULLABLE_TIME,
                                                            "ok": {"type": "boolean"}, "error": {"type": "string"},
                                                            "duration_ms": {"type": "integer"}}}}},
    },
    "OutboxPage": {
        "type": "object", "required": ["items", "next"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OutboxMessage"}},
                       "next": {"type": ["string", "null"]}},
    },
})


_ERROR_RESPONSES = {
    400: ("BadRequest", "输入有误，未做任何更改 / bad input, nothing changed"),
    401: ("Unauthenticated", "缺少或无效的令牌 / missing or invalid bearer token"),
    403: ("Forbidden", "无权执行 / not allowed"),
    404: ("NotFound", "不存在或无权查看 / not found or not visible"),
    409: ("Conflict", "案件已更新或任务已不在待办 / stale version or task no longer ready"),
    500: ("InternalError", "服务器内部错误（已记录）/ internal error (logged)"),
}


def body_required(schema_name: str, schemas: dict[str, Any]) -> bool:
    """Whether the body may be left out: not when its schema refuses `{}` (an empty body reads as `{}`)."""
    schema = schemas.get(schema_name, {})
    return bool(schema.get("required") or schema.get("minProperties") or "oneOf" in schema)


def _operation(route: Route, schemas: dict[str, Any], case_types: tuple[str, ...]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": route.endpoint, "summary": route.summary}
    if route.tags:
        op["tags"] = list(route.tags)
    params = path_params(route.rule) + [
        {"name": p.name, "in": "query", "required": False, "description": p.description,
         "schema": p.schema(case_types)}
        for p in route.query]
    if params:
        op["parameters"] = params
    if route.body:
        op["requestBody"] = {"required": body_required(route.body, schemas),
                             "content": {"application/json": {"schema": _ref(route.body)}}}
    ok: dict[str, Any] = {"description": "成功 / success"}
    if route.response:
        ok["content"] = {"application/json": {"schema": _ref(route.response)}}
    responses: dict[str, Any] = {str(route.status): ok}
    for status in sorted(route_errors(route)):
        responses[str(status)] = {"$ref": f"#/components/responses/{_ERROR_RESPONSES[status][0]}"}
    op["responses"] = responses
    op["security"] = [] if route.public else [{"bearerAuth": []}]
    return op


def route_errors(route: Route) -> set[int]:
    """Every error status the route can answer: its own (`errors`: 403, 409, a 404 of a query's case …),
    401 without a valid token, 404 for a path id that does not exist or may not be seen, 400 for a body
    or query not as declared, 500 always."""
    errors = set(route.errors) | {500}
    if not route.public:
        errors.add(401)
    if path_params(route.rule):
        errors.add(404)
    if route.body or route.query:
        errors.add(400)
    return errors


# ------------------------------------------------------------------ what POST /cases takes
def _component_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def new_case_schemas(register_forms: dict[str, dict | None]) -> dict[str, dict[str, Any]]:
    """`NewCase` as one body per deployed case type (`type` is the discriminator), each referencing
    that type's register form as deployed: the form the engine checks `data` against."""
    if not register_forms:
        return {}
    schemas: dict[str, dict[str, Any]] = {}
    mapping = {}
    for case_type, form in sorted(register_forms.items()):
        name = _component_name(case_type)
        body: dict[str, Any] = {
            "type": "object", "required": ["type"], "additionalProperties": False,
            "properties": {"type": {"const": case_type}, "data": {**_ANY_OBJECT, "default": {}}}}
        if form is not None:
            schemas[f"RegisterForm.{name}"] = {k: v for k, v in form.items() if k != "$schema"}
            body["properties"]["data"] = _ref(f"RegisterForm.{name}")
            if form.get("required") or form.get("minProperties"):
                body["required"] = ["type", "data"]
        schemas[f"NewCase.{name}"] = body
        mapping[case_type] = f"#/components/schemas/NewCase.{name}"
    schemas["NewCase"] = {"description": "案件类型及其登记表 / the case type and its register form",
                          "oneOf": [{"$ref": ref} for ref in mapping.values()],
                          "discriminator": {"propertyName": "type", "mapping": mapping}}
    return schemas


# ------------------------------------------------------------------ the document
def module_parts(modules: Iterable[ModuleType]) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """The path items (`OPENAPI_PATHS`) and component schemas (`OPENAPI_SCHEMAS`) the API modules
    declare beside their routes; a path or schema declared twice differently is an error."""
    paths: dict[str, dict[str, Any]] = {}
    schemas: dict[str, dict[str, Any]] = {}
    for module in modules:
        for path, item in (getattr(module, "OPENAPI_PATHS", None) or {}).items():
            for method, operation in item.items():
                if paths.get(path, {}).get(method, operation) != operation:
                    raise ValueError(f"{module.__name__}: {method.upper()} {path} is declared twice")
                paths.setdefault(path, {})[method] = operation
        for name, schema in (getattr(module, "OPENAPI_SCHEMAS", None) or {}).items():
            if schemas.get(name, SCHEMAS.get(name, schema)) != schema:
                raise ValueError(f"{module.__name__}: schema {name} is declared twice")
            schemas[name] = schema
    return paths, schemas


HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def all_schemas(modules: Iterable[ModuleType] = ()) -> dict[str, dict[str, Any]]:
    """The component schemas of this module and of the API modules, as the server checks bodies."""
    return {**SCHEMAS, **module_parts(modules)[1]}


def request_schemas(routes: list[Route], modules: Iterable[ModuleType] = ()) -> dict[tuple[str, str], dict]:
    """(OpenAPI path, method) → the JSON Schema of its request body, for the server to check bodies
    against exactly what the document says (its `$ref`s point into `components`)."""
    paths, _ = module_parts(modules)
    found: dict[tuple[str, str], dict] = {}
    for route in routes:
        if route.body:
            found[(openapi_path(route.rule), route.method.lower())] = _ref(route.body)
    for path, item in paths.items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:  # a path item's own `parameters`, `summary`…
                continue
            schema = (operation.get("requestBody") or {}).get("content", {}).get("application/json", {}).get("schema")
            if schema is not None:
                found[(path, method)] = schema
    return found


def build_document(routes: list[Route], prefix: str, *, register_forms: dict[str, dict | None] | None = None,
                   modules: Iterable[ModuleType] = ()) -> dict[str, Any]:
    """The OpenAPI document for `routes` mounted under `prefix`, with the path items and schemas the
    API `modules` declare, and `POST /cases` per deployed case type (`register_forms`: type → form)."""
    module_paths, module_schemas = module_parts(modules)
    register_forms = register_forms or {}
    schemas = {**SCHEMAS, **module_schemas, **new_case_schemas(register_forms)}
    case_types = tuple(sorted(register_forms))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(openapi_path(route.rule), {})[route.method.lower()] = _operation(route, schemas, case_types)
    for path, item in module_paths.items():
        paths.setdefault(path, {}).update(item)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "枫桥 fengqiao API",
            "version": API_VERSION,
            "description": "县域矛盾纠纷调解与信访事项流程引擎的 REST 接口。除本文档外，所有接口都需要 "
                           "`Authorization: Bearer <令牌>`；错误统一为 {\"error\": {code, message, fields}}。\n\n"
                           "REST API of the county dispute-mediation and petition case engine. Every route "
                           "except this document needs `Authorization: Bearer <token>`; every error is "
                           "{\"error\": {code, message, fields}}. Times are ISO 8601 with offset; money is "
                           "integer fen. Request bodies are JSON objects checked exactly as declared here "
                           "(unknown fields are refused); a query parameter given twice is refused.",
        },
        "servers": [{"url": prefix}],
        "security": [{"bearerAuth": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "用 `fengqiao token create 用户名` 生成 / "
                                                              "made with `fengqiao token create USERNAME`"}},
            "schemas": dict(sorted(schemas.items())),
            "responses": {name: {"description": text,
                                 "content": {"application/json": {"schema": _ref("Error")}}}
                          for name, text in _ERROR_RESPONSES.values()},
        },
    }
