"""How the case pages say things: codes in words, fen in 元, times in Shanghai, units and people
by name, a form's values as labelled rows."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    current_app,
    g,
)

from usecases.authorization import ROLE_TITLES
from web.i18n import N_, _, current_language, localized

from . import lookups

ZONE = ZoneInfo("Asia/Shanghai")

# --- words for codes (DOMAIN.md §2–§5, §7) ----------------------------------------------------
TYPE_WORDS = {"mediation": N_("矛盾纠纷"), "petition": N_("信访事项")}
REGISTER_TITLES = {"mediation": N_("登记矛盾纠纷"), "petition": N_("登记信访事项")}
STATUS_WORDS = {"open": N_("办理中"), "closed": N_("已结案")}
OUTCOME_WORDS = {
    "resolved_village": N_("村级调解成功"), "resolved_town": N_("镇级调解成功"),
    "resolved_county": N_("县级调解成功"), "court": N_("转法院处理"), "refused": N_("当事人拒绝调解"),
    "withdrawn": N_("申请人撤回"), "resolved": N_("已办结"), "not_accepted": N_("不予受理"),
    "final": N_("复核后终结"), "mediation": N_("转为调解"),
}
LEVEL_WORDS = {"village": N_("村级"), "town": N_("镇级"), "county": N_("县级"), "court": N_("法院")}
WARNING_WORDS = {"normal": N_("正常"), "warning": N_("临期"), "overdue": N_("逾期")}
FLAG_WORDS = {"repeat": N_("重复信访"), "group": N_("群体事项"), "backlog": N_("信访积案"),
              "final_matter": N_("已终结事项，不再受理")}
SUBSIDY_STATUS_WORDS = {"accrued": N_("已计提"), "reviewed": N_("已审核"), "approved": N_("已批准"),
                        "paid": N_("已发放"), "rejected": N_("已驳回")}
DIFFICULTY_WORDS = {"simple": N_("简易"), "general": N_("一般"), "difficult": N_("疑难"), "major": N_("重大")}
DEADLINE_WORDS = {
    "mediate": N_("调解期限"), "judicial_confirmation": N_("申请司法确认的期限"),
    "court_confirmation": N_("法院答复司法确认的期限"), "followup": N_("回访期限"),
    "court_result": N_("诉前调解期限"), "decide_acceptance": N_("受理决定期限"), "handle": N_("办理并出具处理意见的期限"),
    "review_request_window": N_("申请复查的期限"), "review": N_("复查期限"),
    "rereview_request_window": N_("申请复核的期限"), "rereview": N_("复核期限"),
    "progress_report": N_("包案领导报告进展的期限"),
}
SUBSIDY_EVENT_WORDS = {"subsidy_reviewed": N_("补贴已审核"), "subsidy_approved": N_("补贴已批准"),
                       "subsidy_paid": N_("补贴已发放"), "subsidy_rejected": N_("补贴已驳回")}
ESCALATION_REASONS = {"no_agreement": N_("未达成协议"), "deadline": N_("调解期限已过")}
ACTOR_WORDS = {"system": N_("系统"), "cli": N_("系统管理员（命令行）")}
# Fields the pages name in words of their own: the forms' titles speak of codes and fen, while the
# pages offer units by name and money in 元.
FIELD_TITLES = {"amount_fen": N_("争议金额"), "residence_org": N_("居住地（村/社区）"),
                "respondent_unit": N_("被反映单位")}
# Fields whose values are org-unit codes or usernames, so the page says the unit's or person's name.
UNIT_FIELDS = frozenset({"residence_org", "respondent_unit", "transfer_to", "jurisdiction"})
PERSON_FIELDS = frozenset({"leader", "mediators", "mediator"})
# Fields the window does not type: the petition office links a mediation to its petition itself.
NOT_TYPED_AT_REGISTRATION = frozenset({"petition_case_id"})
_AMOUNT = re.compile(r"(\d{1,13})(?:\.(\d{1,2}))?")
MAX_AMOUNT_FEN = 10 ** 12  # 100 亿元, the register schema's maximum
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def services():
    return current_app.extensions["fengqiao"]


def form_schema(case_type: str, name: str) -> dict | None:
    """The JSON Schema of a case type's form (`register`, a step key, or `message_<name>`)."""
    return services().cases.form(g.actor, case_type, name)


# --- saying things -----------------------------------------------------------------------------
def is_english() -> bool:
    return current_language() == "en"


_CJK = "\u3000-\u303f\u3400-\u9fff\uff00-\uffef"
_BILINGUAL = re.compile(rf"(.*?[{_CJK}].*?)\s*/\s*([^{_CJK}]+)", re.DOTALL)


def say(text: Any) -> str:
    """The page's half of an engine text written "中文 / English" (also when the Chinese half ends
    in a full-width bracket with no space before the slash)."""
    text = str(text or "")
    found = _BILINGUAL.fullmatch(text)
    if not found:
        return localized(text)
    return found.group(2 if is_english() else 1).strip()


def word(table: Mapping[str, str], code: Any) -> str:
    """A code in words; an unknown code as itself, so nothing is hidden."""
    if code is None or code == "":
        return ""
    return _(table[code]) if code in table else str(code)


def when(iso_text: Any, *, date_only: bool = False) -> str:
    """An ISO time as people in the county read it: Shanghai wall-clock time."""
    if not iso_text:
        return ""
    try:
        moment = datetime.fromisoformat(str(iso_text))
    except ValueError:
        return str(iso_text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZONE)
    if is_english():
        day = f"{moment.day} {_MONTHS[moment.month - 1]} {moment.year}"
    else:
        day = f"{moment.year}年{moment.month}月{moment.day}日"
    return day if date_only else f"{day} {moment:%H:%M}"


def yuan(fen: Any) -> str:
    """Integer fen as 元 with two decimals (`1,200.50 元`), never through floating point."""
    if not isinstance(fen, int) or isinstance(fen, bool):
        return ""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole:,}.{cents:02d} {'yuan' if is_english() else '元'}"


def field_title(schema: Mapping | None, key: str) -> str:
    """A field's label on these pages: its form's title, or the pages' own words for it."""
    return _(FIELD_TITLES[key]) if key in FIELD_TITLES else title_of(schema, key)


def title_of(schema: Mapping | None, fallback: str) -> str:
    if not schema:
        return fallback
    zh, en = schema.get("title"), schema.get("x-title-en")
    return ((en or zh) if is_english() else (zh or en)) or fallback


def choice_title(schema: Mapping | None, code: Any) -> str:
    """An enumerated value by its form's title, as the step forms show it (forms.py's convention)."""
    titles = (schema or {}).get("x-enum-titles", {})
    zh = titles.get(str(code))
    if is_english():
        en = (schema or {}).get("x-enum-titles-en", {}).get(str(code))
        return en or (f"{zh} ({code})" if zh else str(code))
    return zh or str(code)


def sep() -> str:
    return ": " if is_english() else "："


def listing(items: Iterable[str]) -> str:
    return (", " if is_english() else "、").join(i for i in items if i)


@dataclass
class Names:
    """Who and where, by name: the county's units and people as the application layer lists them."""
    units: dict[str, dict] = field(default_factory=dict)
    people: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, actor) -> Names:
        return cls({u["code"]: u for u in lookups.org_units()},
                   dict(lookups.names()))

    def unit(self, code: Any) -> str:
        if not code:
            return ""
        unit = self.units.get(str(code))
        return unit["name"] if unit else str(code)

    def unit_in_town(self, code: Any) -> str:
        """A village as `东镇 · 柳村`: village names repeat across towns."""
        unit = self.units.get(str(code or ""))
        if unit is None:
            return str(code or "")
        parent = self.units.get(unit.get("parent") or "")
        if unit["level"] == "village" and parent:
            return f"{parent['name']} · {unit['name']}"
        return unit["name"]

    def person(self, username: Any) -> str:
        if not username:
            return ""
        if username in ACTOR_WORDS:
            return _(ACTOR_WORDS[username])
        return self.people.get(str(username), str(username))


def value_text(schema: Mapping | None, key: str, value: Any, names: Names) -> str:
    """One form value in words, by its schema (titles of choices), its meaning (a unit, a person,
    money) or as written."""
    schema = schema or {}
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, list):
        items = schema.get("items", {})
        if all(isinstance(v, Mapping) for v in value):
            rows = (listing(f"{label}{sep()}{text}" for label, text in describe(items, v, names)) for v in value)
            return ("; " if is_english() else "；").join(r for r in rows if r)
        return listing(value_text(items, key, v, names) for v in value)
    if isinstance(value, Mapping):
        return listing(f"{label}{sep()}{text}" for label, text in describe(schema, value, names))
    if "enum" in schema or "x-enum-titles" in schema:
        return choice_title(schema, value)
    if key in UNIT_FIELDS:
        return names.unit(value)
    if key in PERSON_FIELDS:
        return names.person(value)
    if key.endswith("_fen") and isinstance(value, int):
        return yuan(value)
    return str(value)


def describe(schema: Mapping | None, data: Mapping[str, Any], names: Names) -> list[tuple[str, str]]:
    """(label, value in words) for each filled field of `data`, in the order of its form; a field the
    form does not know by its code."""
    properties = (schema or {}).get("properties", {})
    keys = [k for k in properties if k in data] + [k for k in data if k not in properties]
    rows = []
    for key in keys:
        sub, value = properties.get(key), data[key]
        if isinstance(value, Mapping) and (sub or {}).get("properties"):
            # A group (卷宗清单, 联案干警) as one line per field, named "group · field".
            rows += [(f"{field_title(sub, key)} · {label}", text) for label, text in describe(sub, value, names)]
            continue
        text = value_text(sub, key, value, names)
        if text:
            rows.append((field_title(sub, key), text))
    return rows


def role_title(code: Any) -> str:
    titles = ROLE_TITLES.get(code)
    return titles[1 if is_english() else 0] if titles else str(code or "")
