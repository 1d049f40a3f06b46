"""The standard papers printed from a case (issue 14): mediation papers (人民调解法 and the Ministry of
Justice's 2002 rules, DOMAIN.md §2) and petition papers (信访工作条例, DOMAIN.md §3).

Each paper is data, in a folder of its own under this package: `<kind>/template.html` (Jinja2, the
paper's body in Chinese) and `<kind>/document.json` (its titles, case type, when it can be printed and
whether the parties sign it). The papers share `_paper.html` (heading, signature and seal blocks) and
`paper.css` (A4). A county adapts wording by putting its own copy of any of these files in a folder
named by FENGQIAO_DOCUMENTS_DIR, which is searched first; names come from settings (the county's name,
the seal's text) and from the org units (a unit's mediation committee is `<unit>人民调解委员会`, see
`names.json`).

This module knows which paper fits which state of a case (`unavailable_reason`) and what a paper says
(`paper_context`); who may print it, and whether it shows the parties in full, is the application
layer's decision.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)

from engine.calendar import ZONE
from engine.errors import Conflict, EngineError

BUNDLED = Path(__file__).resolve().parent


class DocumentUnavailable(Conflict):
    """The paper exists for this case type but not in the case's present state (no written agreement,
    no follow-up yet …): the message says why."""
    code = "document_unavailable"


class PdfUnavailable(EngineError):
    """The PDF engine (WeasyPrint over Pango) cannot run on this machine: the HTML page still prints."""
    code = "pdf_unavailable"


@dataclass(frozen=True)
class DocumentKind:
    kind: str
    title: str          # the paper's Chinese title, printed on it
    title_en: str       # for the page around it in English
    case_type: str
    available: str      # the name of its condition in AVAILABILITY
    signed_by_parties: bool
    order: int


@cache
def catalogue() -> dict[str, DocumentKind]:
    """Every bundled paper, by kind, in the order the case page lists them."""
    found = []
    for meta in sorted(BUNDLED.glob("*/document.json")):
        data = json.loads(meta.read_text(encoding="utf-8"))
        kind = meta.parent.name
        if data["available"] not in AVAILABILITY:
            raise ValueError(f"{meta}: unknown availability {data['available']!r}")
        found.append(DocumentKind(kind, data["title"], data["title_en"], data["case_type"], data["available"],
                                  bool(data["signed_by_parties"]), int(data["order"])))
    return {d.kind: d for d in sorted(found, key=lambda d: (d.case_type, d.order))}


def kinds_of(case_type: str) -> list[DocumentKind]:
    return [d for d in catalogue().values() if d.case_type == case_type]


@cache
def names() -> dict[str, Any]:
    return json.loads((BUNDLED / "names.json").read_text(encoding="utf-8"))


# ------------------------------------------------------------------------------ when a paper fits
@dataclass(frozen=True)
class CaseFacts:
    """What availability is decided on: the case row's status and its process data."""
    status: str
    outcome: str | None
    data: Mapping[str, Any]


def _agreement(facts: CaseFacts) -> Mapping[str, Any] | None:
    agreement = facts.data.get("agreement")
    return agreement if isinstance(agreement, Mapping) else None


def _no_agreement_reason(facts: CaseFacts) -> str:
    return "本案没有达成调解协议 / no agreement was reached in this case"


def _written_agreement(facts: CaseFacts) -> str | None:
    agreement = _agreement(facts)
    if agreement is None:
        return _no_agreement_reason(facts)
    if agreement.get("form") != "written":
        return ("本案为口头协议，没有书面调解协议书，请打印“人民调解口头协议登记表” / the agreement is oral: there is no "
                "written agreement (print the oral agreement register)")
    return None


def _oral_agreement(facts: CaseFacts) -> str | None:
    agreement = _agreement(facts)
    if agreement is None:
        return _no_agreement_reason(facts)
    if agreement.get("form") != "oral":
        return ("本案为书面协议，请打印“人民调解协议书” / the agreement is written: print the written agreement")
    return None


def _any_agreement(facts: CaseFacts) -> str | None:
    return None if _agreement(facts) is not None else _no_agreement_reason(facts)


def _session_recorded(facts: CaseFacts) -> str | None:
    if facts.data.get("session_notes"):
        return None
    return "尚未记录调解情况（调解步骤完成后才有调解记录）/ no mediation session has been recorded yet"


def _followup_done(facts: CaseFacts) -> str | None:
    if isinstance(facts.data.get("followup_record"), Mapping):
        return None
    if _agreement(facts) is None:
        return "本案没有达成调解协议，不作回访 / no agreement was reached, so there is no follow-up visit"
    return "尚未回访（回访完成后才能打印回访记录）/ the follow-up visit has not been recorded yet"


def _archived(facts: CaseFacts) -> str | None:
    if facts.status == "closed":
        return None
    return "案件尚未归档，卷宗封面在归档结案后打印 / the case is not archived yet: the file cover is printed after archiving"


def _decided(*decisions: str) -> Callable[[CaseFacts], str | None]:
    def check(facts: CaseFacts) -> str | None:
        decision = facts.data.get("decision")
        if decision in decisions:
            return None
        if decision is None:
            return "尚未作出受理决定 / the acceptance decision has not been made yet"
        return "本事项的受理决定不是这一种，不能打印此告知书 / the acceptance decision was a different one"
    return check


def _served(key: str, step_title: str) -> Callable[[CaseFacts], str | None]:
    def check(facts: CaseFacts) -> str | None:
        if isinstance(facts.data.get(key), Mapping):
            return None
        return f"尚未出具{step_title} / no {key.replace('_', ' ')} has been given yet"
    return check


def _registered(facts: CaseFacts) -> str | None:
    return None


AVAILABILITY: dict[str, Callable[[CaseFacts], str | None]] = {
    "registered": _registered,
    "session_recorded": _session_recorded,
    "written_agreement": _written_agreement,
    "oral_agreement": _oral_agreement,
    "agreement": _any_agreement,
    "followup_done": _followup_done,
    "archived": _archived,
    "accepted": _decided("accept", "mediate"),
    "not_accepted": _decided("not_accept"),
    "transferred": _decided("transfer"),
    "opinion_served": _served("handling_opinion", "信访事项处理意见书"),
    "review_opinion_served": _served("review_opinion", "复查意见书"),
    "rereview_opinion_served": _served("rereview_opinion", "复核意见书"),
}


def unavailable_reason(kind: DocumentKind, facts: CaseFacts) -> str | None:
    """None when the paper can be printed in the case's present state, else why not (中文 / English)."""
    return AVAILABILITY[kind.available](facts)


# ------------------------------------------------------------------------------ what a paper says
def chinese_date(value: Any) -> str:
    """An ISO time or datetime as a Chinese official date in Shanghai: 2026年9月1日 (blank when none)."""
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZONE)
    return f"{moment.year}年{moment.month}月{moment.day}日"


def yuan_text(fen: Any) -> str:
    if fen in (None, ""):
        return ""
    fen = int(fen)
    return f"{fen // 100:,}.{fen % 100:02d} 元"


def enum_title(schema: Mapping[str, Any] | None, field: str, code: Any) -> str:
    """The form's Chinese word for a code (x-enum-titles), else the code."""
    if code in (None, ""):
        return ""
    sub = ((schema or {}).get("properties") or {}).get(field) or {}
    title = (sub.get("x-enum-titles") or {}).get(code)
    return (title or str(code)).split(" / ")[0]


@dataclass(frozen=True)
class Issuer:
    """The county's names, from settings and org units."""
    county_name: str
    seal_text: str
    unit_names: Mapping[str, str]
    unit_levels: Mapping[str, str]

    def unit(self, code: str | None) -> str:
        return self.unit_names.get(code or "", code or "")

    def committee(self, code: str | None) -> str:
        """A unit's people's mediation committee: 柳村人民调解委员会, 清河县人民调解委员会."""
        return names()["mediation_committee"].format(unit=self.unit(code))

    def petition_office(self, code: str | None) -> str:
        level = self.unit_levels.get(code or "", "county")
        return names()["petition_office"].get(level, "{unit}").format(unit=self.unit(code))


def paper_context(kind: DocumentKind, *, case: Mapping[str, Any], data: Mapping[str, Any],
                  forms: Callable[[str], Mapping[str, Any] | None], issuer: Issuer, people: Mapping[str, str],
                  steps_done: Mapping[str, Mapping[str, Any]], printed_at: datetime, full_identity: bool) -> dict[str, Any]:
    """Everything a paper's template may print. `data`: the case data as this reader may see it (masked
    unless `full_identity`); `steps_done`: step → {"at": ISO time, "unit": org
    code} of its last completed task; `people`: username →
    name."""
    register = forms("register")
    common = {
        "kind": kind.kind, "title": kind.title, "number": case.get("number"),
        "county_name": issuer.county_name, "seal_text": issuer.seal_text,
        "printed_on": chinese_date(printed_at), "registered_on": chinese_date(case.get("created_at")),
        "closed_on": chinese_date(case.get("closed_at")), "unit_name": issuer.unit(case.get("jurisdiction")),
        "full_identity": full_identity, "signed_by_parties": kind.signed_by_parties,
        "category": enum_title(register, "category", data.get("category")),
        "summary": data.get("summary") or "",
    }
    if kind.case_type == "mediation":
        common.update(_mediation_context(data, register, forms, issuer, people, steps_done, case))
    else:
        common.update(_petition_context(data, register, forms, issuer, steps_done, case))
    return common


def _people_rows(rows: Iterable[Mapping[str, Any]], schema: Mapping[str, Any] | None, issuer: Issuer,
                 side_field: str | None = None) -> list[dict[str, str]]:
    items = (((schema or {}).get("items") or {}) if schema else {})
    found = []
    for row in rows:
        if not isinstance(row, Mapping):
            continue
        found.append({
            "side": enum_title(items, side_field, row.get(side_field)) if side_field else "",
            "name": row.get("name") or "", "id_number": row.get("id_number") or "",
            "phone": row.get("phone") or "",
            "address": row.get("household_address") or row.get("address") or "",
            "residence": issuer.unit(row.get("residence_org")) if row.get("residence_org") else "",
        })
    return found


def _mediation_context(data, register, forms, issuer: Issuer, people, steps_done, case) -> dict[str, Any]:
    props = (register or {}).get("properties") or {}
    route = data.get("route") or {}
    first_unit = route.get("village") or case.get("jurisdiction")
    parties = _people_rows(data.get("parties") or [], props.get("parties"), issuer, "side")
    mediate = forms("mediate")
    followup = forms("followup")
    agreement = data.get("agreement") if isinstance(data.get("agreement"), Mapping) else None
    sessions = [{"round": s.get("round"), "level": names()["levels"].get(s.get("level"), s.get("level") or ""),
                 "committee": issuer.committee(route.get(s.get("level")) or first_unit),
                 "result": enum_title(mediate, "result", s.get("result")), "notes": s.get("notes") or ""}
                for s in data.get("session_notes") or [] if isinstance(s, Mapping)]
    agreement_unit = route.get(agreement.get("level")) if agreement else None
    committee_unit = agreement_unit or case.get("jurisdiction")
    record = data.get("followup_record") if isinstance(data.get("followup_record"), Mapping) else {}
    confirmation = data.get("court_confirmation") if isinstance(data.get("court_confirmation"), Mapping) else {}
    checklist = data.get("checklist") if isinstance(data.get("checklist"), Mapping) else {}
    archive = (forms("archive") or {}).get("properties", {}).get("checklist") or {}
    required = set(archive.get("required") or ())
    contents = []
    for key, sub in (archive.get("properties") or {}).items():
        if key in ("agreement", "followup_record") and agreement is None:
            state = "absent"  # only a case with an agreement has these (DOMAIN.md §2)
        else:
            state = "present" if checklist.get(key) is True else ("missing" if key in required else "absent")
        contents.append({"key": key, "title": (sub.get("title") or key).split(" / ")[0], "state": state,
                         "required": key in required})
    return {
        "committee": issuer.committee(committee_unit),
        "first_committee": issuer.committee(first_unit),
        "parties": parties,
        "applicants": [p for p, raw in zip(parties, data.get("parties") or []) if raw.get("side") == "applicant"],
        "respondents": [p for p, raw in zip(parties, data.get("parties") or []) if raw.get("side") == "respondent"],
        "source": enum_title(register, "source", data.get("source")),
        "risk_level": enum_title(register, "risk_level", data.get("risk_level")),
        "amount": yuan_text(data.get("amount_fen")),
        "level": names()["levels"].get(case.get("level") or "", ""),
        "triage_reason": str(data.get("triage_reason") or "").split(" / ")[0],
        "sessions": sessions,
        "agreement": None if agreement is None else {
            "text": agreement.get("text") or "", "form": enum_title(mediate, "agreement_form", agreement.get("form")),
            "effective_on": chinese_date(agreement.get("effective_at")),
            "difficulty": enum_title(mediate, "difficulty", agreement.get("difficulty")),
            "mediators": [people.get(m) or m for m in agreement.get("mediators") or []],
            "performance_terms": data.get("performance_terms") or "",
            "level": names()["levels"].get(agreement.get("level"), ""),
        },
        "court": data.get("court") or "",
        "applied": data.get("applied"),
        "court_confirmation": enum_title(forms("message_court_confirmation"), "result", confirmation.get("result")),
        "followup": None if not record else {
            "performance": enum_title(followup, "performance", record.get("performance")),
            "satisfaction": record.get("satisfaction"), "notes": record.get("notes") or "",
            "on": chinese_date((steps_done.get("followup") or {}).get("at")),
        },
        "outcome": names()["outcomes"].get(case.get("outcome") or "", ""),
        "contents": contents,
        "missing_reason": data.get("missing_reason") or "",
    }


def _opinion(data, key: str, schema) -> dict[str, str] | None:
    found = data.get(key)
    if not isinstance(found, Mapping):
        return None
    return {"opinion": enum_title(schema, "opinion", found.get("opinion")), "text": found.get("opinion_text") or "",
            "served_on": chinese_date(found.get("served_at"))}


def _petition_context(data, register, forms, issuer: Issuer, steps_done, case) -> dict[str, Any]:
    props = (register or {}).get("properties") or {}
    def office_of(step: str) -> str:
        """The petition office that worked `step` (the case may have moved on since)."""
        return issuer.petition_office((steps_done.get(step) or {}).get("unit") or case.get("jurisdiction"))

    return {
        "petitioners": _people_rows(data.get("petitioners") or [], props.get("petitioners"), issuer),
        "channel": enum_title(register, "channel", data.get("channel")),
        "petition_kind": enum_title(register, "kind", data.get("kind")),
        "people_count": data.get("people_count") or "",
        "respondent": issuer.unit(data.get("respondent_unit")) if data.get("respondent_unit") else "",
        "deciding_office": office_of("decide_acceptance"),
        "handling_office": office_of("handle"),
        "review_office": office_of("review"),
        "rereview_office": office_of("rereview"),
        "decision_reason": data.get("reason") or "",
        "decided_on": chinese_date((steps_done.get("decide_acceptance") or {}).get("at")),
        "transfer_to": issuer.unit(data.get("transfer_to")) if data.get("transfer_to") else "",
        "transfer_office": issuer.petition_office(data.get("transfer_to")) if data.get("transfer_to") else "",
        "handling": _opinion(data, "handling_opinion", forms("handle")),
        "review": _opinion(data, "review_opinion", forms("review")),
        "rereview": _opinion(data, "rereview_opinion", forms("rereview")),
        "review_days": names()["review_days"],
    }


# ------------------------------------------------------------------------------ rendering
@lru_cache(maxsize=8)
def _environment(override: str | None) -> Environment:
    loaders = [FileSystemLoader(override)] if override else []
    return Environment(loader=ChoiceLoader([*loaders, FileSystemLoader(str(BUNDLED))]),
                       autoescape=select_autoescape(default=True, default_for_string=True),
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render_body(kind: DocumentKind, context: Mapping[str, Any], override_dir: Path | None = None) -> str:
    """The paper's body (HTML, Chinese), from `<kind>/template.html`, the county's copy first."""
    env = _environment(str(override_dir) if override_dir else None)
    return env.get_template(f"{kind.kind}/template.html").render(**context)


def stylesheet(override_dir: Path | None = None) -> str:
    """paper.css: the county's copy, else the bundled one."""
    if override_dir and (override_dir / "paper.css").is_file():
        return (override_dir / "paper.css").read_text(encoding="utf-8")
    return (BUNDLED / "paper.css").read_text(encoding="utf-8")


def standalone_html(title: str, body: str) -> str:
    """The paper alone, as the PDF engine reads it."""
    from markupsafe import escape
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>{escape(title)}</title></head>'
            f'<body><article class="paper">{body}</article></body></html>')


def render_pdf(title: str, body: str, css: str) -> bytes:
    """The paper as PDF (WeasyPrint: CSS paged media over Pango). PdfUnavailable when it cannot load."""
    try:
        import weasyprint
    except (ImportError, OSError) as problem:  # OSError: Pango or its libraries are missing
        raise PdfUnavailable("本服务器暂时不能生成 PDF（缺少 WeasyPrint 或 Pango 库），请使用网页打印 / this server cannot "
                             f"make PDFs (WeasyPrint or the Pango libraries are missing: {problem}); print the web "
                             "page instead") from problem
    return weasyprint.HTML(string=standalone_html(title, body)).write_pdf(
        stylesheets=[weasyprint.CSS(string=css)])
