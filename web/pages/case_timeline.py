"""A case's history as the case page tells it: every event a sentence, who and when, what changed."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from web.i18n import _

from .case_words import (
    DEADLINE_WORDS,
    DIFFICULTY_WORDS,
    ESCALATION_REASONS,
    LEVEL_WORDS,
    OUTCOME_WORDS,
    SUBSIDY_EVENT_WORDS,
    Names,
    choice_title,
    describe,
    form_schema,
    is_english,
    listing,
    role_title,
    say,
    sep,
    title_of,
    when,
    word,
    yuan,
)


# --- the timeline ------------------------------------------------------------------------------
@dataclass
class Entry:
    at: str
    at_iso: str
    who: str
    what: str
    details: list[tuple[str, str]] = field(default_factory=list)
    kind: str = ""


def _step_title(case_type: str, step: Any) -> str:
    schema = form_schema(case_type, str(step)) if step else None
    return title_of(schema, str(step or ""))


def _message_title(case_type: str, name: Any) -> str:
    schema = form_schema(case_type, f"message_{name}") if name else None
    return title_of(schema, str(name or ""))


def timeline(view: Mapping, history: list[Mapping], names: Names) -> list[Entry]:
    """Every event of the case in plain language, oldest first."""
    # An open step's own title (村级调解) says more than its form's (调解).
    titles = {t["id"]: (t.get("title_en") if is_english() else t.get("title_zh")) for t in view.get("tasks") or []}
    entries = []
    for event in history:
        data = event.get("data") or {}
        what, details = say_event(view["type"], event.get("kind") or "", data, names,
                                  titles.get(data.get("task_id")) if isinstance(data, Mapping) else None)
        entries.append(Entry(when(event.get("at")), event.get("at") or "", names.person(event.get("actor")),
                             what, details, event.get("kind") or ""))
    return entries


def say_event(case_type: str, kind: str, data: Mapping[str, Any], names: Names,
              step_title: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """(what happened, its details as label/value) for one history event."""
    step = step_title or _step_title(case_type, data.get("step"))
    reason = say(str(data.get("reason") or "")) if data.get("reason") else ""
    because = [(_("原因"), reason)] if reason else []
    if kind == "case_created":
        return _("登记了案件 {number}", number=data.get("number") or ""), []
    if kind == "triaged":
        return _("定级为{level}，由{unit}办理", level=word(LEVEL_WORDS, data.get("level")),
                 unit=names.unit(data.get("jurisdiction"))), because
    if kind == "task_opened":
        return _("轮到“{step}”：由{unit}的{role}办理", step=step, unit=names.unit(data.get("org_unit")),
                 role=role_title(data.get("role"))), []
    if kind == "task_completed":
        return _("完成了“{step}”", step=step), describe(form_schema(case_type, str(data.get("step"))),
                                                     data.get("data") or {}, names)
    if kind == "task_claimed":
        return _("认领了“{step}”", step=step), []
    if kind == "task_unclaimed":
        return _("退回了“{step}”，等待他人认领", step=step), []
    if kind == "task_assigned":
        return _("把“{step}”交给{person}办理", step=step, person=names.person(data.get("to"))), []
    if kind == "task_cancelled":
        return _("“{step}”不再需要办理", step=step), []
    if kind == "agreement_reached":
        details = [(_("协议形式"), choice_title((form_schema(case_type, "mediate") or {}).get("properties", {})
                                              .get("agreement_form"), data.get("agreement_form")))]
        details += [(_("难易程度"), word(DIFFICULTY_WORDS, data.get("difficulty"))),
                    (_("调解员"), listing(names.person(m) for m in data.get("mediators") or []))]
        return _("达成调解协议（{level}）", level=word(LEVEL_WORDS, data.get("level"))), [d for d in details if d[1]]
    if kind == "escalated":
        said = _("由{before}升到{after}", before=word(LEVEL_WORDS, data.get("from")),
                 after=word(LEVEL_WORDS, data.get("to")))
        details = [(_("原因"), word(ESCALATION_REASONS, data.get("reason")))]
        if data.get("to_unit"):
            details.append((_("改由"), f"{names.unit(data.get('from_unit'))} → {names.unit(data.get('to_unit'))}"))
        return said, details
    if kind == "deadline_breached":
        return _("{deadline}已过", deadline=word(DEADLINE_WORDS, data.get("kind"))), [
            (_("期限"), when(data.get("due_at")))]
    if kind == "deadline_extended":
        return _("“{step}”延期 {days} 天", step=step, days=data.get("days") or ""), [
            (_("原期限"), when(data.get("from"))), (_("新期限"), when(data.get("to"))), *because]
    if kind == "message_received":
        schema = form_schema(case_type, f"message_{data.get('name')}")
        return _("收到“{message}”", message=_message_title(case_type, data.get("name"))), describe(
            schema, data.get("data") or {}, names)
    if kind == "owner_changed":
        return _("包案领导：{before} → {after}", before=names.person(data.get("from")) or _("（无）"),
                 after=names.person(data.get("to")) or _("（无）")), because
    if kind == "backlog_marked":
        return _("标记为信访积案"), because
    if kind == "transferred":
        return _("转送{after}办理（原由{before}办理）", after=names.unit(data.get("to")),
                 before=names.unit(data.get("from"))), because
    if kind == "jurisdiction_changed":
        return _("改由{after}办理（原由{before}办理）", after=names.unit(data.get("to")),
                 before=names.unit(data.get("from"))), []
    if kind == "repeat_linked":
        return _("与先前的信访事项 {number} 关联，标记为重复信访", number=data.get("number") or ""), []
    if kind == "earlier_petitions_linked":
        return _("找到同一信访人的先前信访事项，已关联"), []
    if kind == "mediation_opened":
        return _("转为调解：开立调解案件 {number}", number=data.get("number") or ""), []
    if kind == "subsidy_recorded":
        details = [(names.person(e.get("mediator")) or _("（无）"),
                    _("{amount}（{reason}）", amount=yuan(e.get("amount_fen")), reason=say(e["reason"]))
                    if e.get("reason") else yuan(e.get("amount_fen")))
                   for e in data.get("entries") or []]
        return _("记录以案定补，共 {amount}", amount=yuan(data.get("total_fen") or 0)), details
    if kind in SUBSIDY_EVENT_WORDS:
        details = [(_("调解员"), names.person(data.get("mediator")))] if data.get("mediator") else []
        if data.get("batch"):
            details.append((_("发放批次"), str(data["batch"])))
        return f"{_(SUBSIDY_EVENT_WORDS[kind])}{sep()}{yuan(data.get('amount_fen'))}", details + because
    if kind == "subsidy_reversed":
        return _("补贴冲销：{amount}", amount=yuan(data.get("amount_fen"))), [
            (_("调解员"), names.person(data.get("mediator"))), *because]
    if kind == "pii_viewed":
        return _("查看了完整的身份证号和电话（已记录）"), []
    if kind == "document_printed":  # issue 14: each print of a standard paper
        title = str(data.get("title") or data.get("kind") or "")
        said = (_("打印了文书“{title}”（PDF）", title=title) if data.get("format") == "pdf"
                else _("打印了文书“{title}”", title=title))
        return said, [(_("身份信息"), _("完整显示"))] if data.get("full_identity") else []
    if kind == "definition_migrated":
        details = [(_("期限"), f"{word(DEADLINE_WORDS, d.get('kind'))}{sep()}{when(d.get('from'))} → {when(d.get('to'))}")
                   for d in data.get("deadlines") or []]
        return _("流程由第 {before} 版迁移到第 {after} 版", before=data.get("from"), after=data.get("to")), details
    if kind == "case_closed":
        return _("结案：{outcome}", outcome=word(OUTCOME_WORDS, data.get("outcome")) or _("（无）")), []
    return _("其他记录：{kind}", kind=kind), []

