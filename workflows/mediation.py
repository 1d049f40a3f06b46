"""The dispute-mediation case type (矛盾纠纷调解, process key `mediation`, DOMAIN.md §2, §4, §5).

`bpmn/mediation.bpmn` draws the flow; this module adds what a diagram cannot say:

- **routing** by the parties' place of residence (居住地): the case starts in the first applicant's
  village, and at each level belongs to that village's unit of the level (village → its town → the
  county); the triage decision (`bpmn/triage.dmn`) picks the starting level from facts computed here;
- **escalation**: when the process moves up a level (no agreement, or the level's deadline passed) the
  case's level and jurisdiction move with it and the history says from where to where and why;
- **who mediated**: the mediators named on the agreement (default: whoever completed the step), checked
  to be mediators of that level's unit;
- **closing**: the case-file checklist, the outcome, and the subsidy entries (`mediation_subsidy`);
- **extensions**: once per level, up to 15 days, with both parties' consent and a reason.

Every number is a default in `MediationRules`, which a county may replace.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select

from engine.application import SYSTEM, Actor, CaseInit, CaseSnapshot, CommandScope, Placement, ProcessApplication
from engine.calendar import ZONE
from engine.clock import current_time
from engine.errors import Conflict, InvalidInput
from engine.privacy import person_key, phone_key
from engine.store import CaseEvent, OrgUnit, User

from . import mediation_subsidy
from .quarterly_reports import COURT_CONFIRMATION, JUDICIAL_CONFIRMATION, MESSAGE_RECEIVED

LEVELS = ("village", "town", "county")
NEXT_LEVEL = {"village": "town", "town": "county", "county": "county"}
LEVEL_NAMES = {"village": "村级", "town": "镇级", "county": "县级", "court": "法院"}

# DOMAIN.md §5, in days counted by the business calendar.
DEFAULT_PERIODS = {
    "mediate_village": 10,
    "mediate_town": 15,
    "mediate_county": 30,
    "judicial_confirmation": 30,   # the parties may apply within 30 days of the agreement taking effect
    "court_confirmation": 18,      # the court's answer on confirmation (warning only)
    "followup": 30,                # the follow-up visit, from the agreement taking effect
    "court_result": 30,            # court pre-filing mediation (warning only)
}

# Case-file items (卷宗) a complete file needs; the last two only when an agreement was made.
REQUIRED_FILE_ITEMS = ("registration_form", "rights_notice", "identity_proof", "mediation_record")
AGREEMENT_FILE_ITEMS = ("agreement", "followup_record")


@dataclass(frozen=True)
class MediationRules:
    """The county's configurable defaults for mediation cases."""
    periods: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PERIODS))
    max_extension_days: int = 15
    extensions_per_level: int = 1


def load_units(session) -> dict[str, tuple[str, str | None]]:
    """The county's org units, code → (level, parent), read in the command's own transaction."""
    return {code: (level, parent) for code, level, parent in
            session.execute(select(OrgUnit.code, OrgUnit.level, OrgUnit.parent))}


def route_of(units: Mapping[str, tuple[str, str | None]], village: str) -> dict[str, str | None]:
    """The unit of each level a case from `village` belongs to: {"village", "town", "county"}."""
    route: dict[str, str | None] = {level: None for level in LEVELS}
    code: str | None = village
    while code is not None and code in units:
        level, parent = units[code]
        route[level] = code
        code = parent
    return route


class MediationApplication(ProcessApplication):
    extendable_steps = frozenset({"mediate"})
    # Who the parties are: withheld, when the case came from a petition, from the unit it complains about.
    identity_keys = frozenset({"parties"})
    confidential_note = ("当事人身份对被反映单位保密（本案由信访转入，《信访工作条例》第三十条）/ the parties' identity is "
                         "withheld from the unit complained about (a petition's mediation, Art. 30)")

    def __init__(self, forms_dir: Path | None, rules: MediationRules | None = None):
        super().__init__("mediation", forms_dir, title="矛盾纠纷调解")
        self.number_prefix = "MED"
        self.rules = rules or MediationRules()

    # ------------------------------------------------------------------ the packed history
    def keeps_event_row(self, kind: str, data: Any) -> bool:
        """What the quarterly reports (workflows/quarterly_reports.py) read across cases in SQL stays a
        row when a closed case's history is packed: the judicial confirmation step completed with
        `applied` true (the applications counted) and the court's `court_confirmation` messages (its
        answers). The agreements (`agreement_reached`) are rows of the engine's own kinds anyway."""
        if not isinstance(data, dict):
            return False
        if kind == "task_completed":
            return data.get("step") == JUDICIAL_CONFIRMATION and (data.get("data") or {}).get("applied") is True
        return kind == MESSAGE_RECEIVED and data.get("name") == COURT_CONFIRMATION

    # ------------------------------------------------------------------ registration
    def initial_case_in(self, session, data: Mapping[str, Any], actor: Actor, now) -> CaseInit:
        """Route the case to the first applicant's village and compute the triage facts."""
        units = load_units(session)
        parties = list(data.get("parties") or [])
        errors = {}
        for i, party in enumerate(parties):
            code = party.get("residence_org")
            if code not in units or units[code][0] != "village":
                errors[f"parties.{i}.residence_org"] = (f"“{code}”不是本县的村（社区）代码 / {code!r} is not a village "
                                                        f"or community of this county")
        if errors:
            raise InvalidInput("当事人居住地有误 / invalid place of residence", fields=errors)
        applicants = [p for p in parties if p.get("side") == "applicant"]
        home = applicants[0]["residence_org"]
        villages = {p["residence_org"] for p in parties}
        towns = {units[v][1] for v in villages}
        sides = [sum(1 for p in parties if p.get("side") == side) for side in ("applicant", "respondent")]
        facts = {
            "route": route_of(units, home),
            "largest_side": max(sides),
            "towns": len(towns),
            "villages": len(villages),
            "dispute_amount_fen": int(data.get("amount_fen") or 0),
        }
        # Every variable the diagram's scripts and conditions read, so none is ever undefined.
        process = {"escalations": [], "mediation_round": 0, "result": None, "mediators": None, "notes": None,
                   "session_notes": [], "performance": None, "satisfaction": None, "followup_record": None,
                   "parties_request_court": False, "agreement_form": None, "difficulty": None,
                   "agreement_text": None, "agreement": None, "to_court": False, "applied": None,
                   "confirmation_window_missed": False, "outcome": None, "withdrawal": None,
                   "court_confirmation": None, "court_result": None, "referral_kind": None}
        people = [{"person_key": person_key(p["id_number"]) if p.get("id_number") else None,
                   "phone_key": phone_key(p["phone"]) if p.get("phone") else None, "category": data.get("category")}
                  for p in parties if p.get("id_number") or p.get("phone")]
        text = " ".join([*(p.get("name") or "" for p in parties), data.get("summary") or ""]).strip()
        return CaseInit(jurisdiction=home, level=None, data={**facts, **process}, parties=people, search_text=text)

    def party_names(self, data: Mapping[str, Any]) -> list[str]:
        return [p.get("name") or "" for p in data.get("parties") or []]

    # ------------------------------------------------------------------ where work happens
    def placement(self, case: CaseSnapshot, step: str, lane: str | None, properties: Mapping[str, str],
                  session=None) -> Placement:
        role = properties.get("role") or lane or "mediator"
        level = properties.get("level") or case.level
        if role == "court_liaison":  # the court liaison sits with the county (诉调对接)
            county = (case.data.get("route") or {}).get("county")
            return Placement(role=role, org_unit=county or case.jurisdiction, level=level)
        return Placement(role=role, org_unit=case.jurisdiction, level=level)

    def script_functions(self) -> dict[str, Any]:
        periods = self.rules.periods

        def period(key: str) -> int:
            """The configured number of days of a deadline of DOMAIN.md §5."""
            return int(periods[key])

        def next_level(level: str) -> str:
            return NEXT_LEVEL[level]

        def now_iso() -> str:
            return current_time().astimezone(ZONE).isoformat()

        return {**super().script_functions(), "period": period, "next_level": next_level, "now_iso": now_iso}

    def case_updates(self, case: CaseSnapshot, process_data: Mapping[str, Any]) -> dict[str, Any]:
        return {}  # level, jurisdiction and outcome are set in after_step, where the history is written

    # ------------------------------------------------------------------ around every command
    def after_step(self, scope: CommandScope) -> None:
        data, before = scope.process_data, scope.before
        route = data.get("route") or before.data.get("route") or {}
        if before.level is None and data.get("level") in LEVELS:
            self._triaged(scope, route)
        old, new = before.data.get("escalations") or [], data.get("escalations") or []
        for escalation in new[len(old):]:
            self._escalated(scope, route, escalation)
        agreement, earlier = data.get("agreement"), before.data.get("agreement")
        if agreement and (not earlier or earlier.get("round") != agreement.get("round")):
            self._agreement_reached(scope, agreement)
        if scope.closing:
            self._close(scope, route)

    def _triaged(self, scope: CommandScope, route: Mapping[str, str | None]) -> None:
        level = scope.process_data["level"]
        scope.case["level"] = level
        scope.case["jurisdiction"] = route.get(level) or scope.case["jurisdiction"]
        data = scope.process_data
        scope.event("triaged", {"level": level, "jurisdiction": scope.case["jurisdiction"],
                                "reason": data.get("triage_reason"),
                                "facts": {k: data.get(k) for k in ("risk_level", "largest_side", "towns", "villages",
                                                                   "dispute_amount_fen")}}, actor="system")

    def _escalated(self, scope: CommandScope, route: Mapping[str, str | None], escalation: Mapping[str, Any]) -> None:
        """The process moved the case up (history: from, to, reason); its unit moves with it."""
        to = escalation["to"]
        from_unit = scope.case["jurisdiction"]
        if to in LEVELS:
            scope.case["level"] = to
            scope.case["jurisdiction"] = route.get(to) or from_unit
        scope.event("escalated", {"from": escalation["from"], "to": to, "reason": escalation["reason"],
                                  "from_unit": from_unit, "to_unit": scope.case["jurisdiction"] if to in LEVELS else None,
                                  "note": f"{LEVEL_NAMES.get(escalation['from'])} → {LEVEL_NAMES.get(to)}"},
                    actor="system")

    def _agreement_reached(self, scope: CommandScope, agreement: Mapping[str, Any]) -> None:
        """Check who mediated (default: the user completing the step) and record it in the history."""
        mediators = list(agreement.get("mediators") or [])
        if not mediators:
            if scope.actor is SYSTEM:
                raise InvalidInput("调解协议须写明调解员 / the agreement must name its mediators",
                                   fields={"mediators": "必填 / required"})
            mediators = [scope.actor.username]
        unit = scope.case["jurisdiction"]
        found = {u.username: u for u in scope.session.execute(
            select(User.username, User.roles, User.org_unit, User.active).where(User.username.in_(mediators)))}
        bad = [m for m in mediators if m not in found or not found[m].active or "mediator" not in (found[m].roles or [])
               or found[m].org_unit != unit]
        if bad:
            raise InvalidInput(f"调解员须为本级（{unit}）在职调解员：{', '.join(bad)} / the mediators must be active "
                               f"mediators of {unit}: {', '.join(bad)}",
                               fields={"mediators": f"不是本级调解员 / not a mediator of {unit}: {', '.join(bad)}"})
        scope.event("agreement_reached", {"level": agreement.get("level"), "jurisdiction": unit,
                                          "agreement_form": agreement.get("form"),
                                          "difficulty": agreement.get("difficulty"), "mediators": mediators,
                                          "round": agreement.get("round"), "effective_at": agreement.get("effective_at")})

    def _close(self, scope: CommandScope, route: Mapping[str, str | None]) -> None:
        data = scope.process_data
        outcome = data.get("outcome")
        agreement = None
        if outcome and outcome.startswith("resolved_"):
            agreement = scope.session.scalar(select(CaseEvent.data).where(
                CaseEvent.case_id == scope.case["id"], CaseEvent.kind == "agreement_reached")
                .order_by(CaseEvent.seq.desc()).limit(1))
        missing = missing_file_items(data.get("checklist") or {}, agreement is not None)
        if missing and not (data.get("missing_reason") or "").strip():
            raise InvalidInput(f"卷宗缺少必备材料（{'、'.join(missing)}），请填写缺项说明 / required case-file items "
                               f"are missing ({', '.join(missing)}): give the reason",
                               fields={"missing_reason": "缺项时必填 / required when items are missing"})
        scope.case["outcome"] = outcome
        entries = mediation_subsidy.record_subsidy(scope, agreement, missing, route.get("town"))
        scope.event("subsidy_recorded", {"entries": entries,
                                         "total_fen": sum(e["amount_fen"] for e in entries)}, actor="system")

    # ------------------------------------------------------------------ extensions
    def check_extension(self, session, case: CaseSnapshot, task: Mapping[str, Any], days: Any, reason: Any,
                        earlier: list[Mapping[str, Any]], request: Mapping[str, Any]) -> dict[str, Any]:
        """A level's mediation deadline may be extended once, by up to 15 days, with both parties' consent."""
        limit = self.rules.max_extension_days
        if task["name"] != "mediate":
            raise InvalidInput("只有调解步骤的期限可以延长 / only a mediation step's deadline can be extended",
                               fields={"days": "此步骤不能延期 / not extendable"})
        errors = self.extension_errors(days, reason, limit)
        if request.get("parties_consent", True) is not True:
            errors["parties_consent"] = "延期须经双方当事人同意 / both parties must consent"
        if errors:
            raise InvalidInput("延期申请有误 / invalid extension", fields=errors)
        used = sum(1 for e in earlier if e.get("step") == "mediate" and e.get("level") == task["level"])
        if used >= self.rules.extensions_per_level:
            raise Conflict(f"{LEVEL_NAMES.get(task['level'], task['level'])}调解已延期过一次 / the {task['level']} "
                           f"level's deadline has already been extended")
        return {"parties_consent": True}


def missing_file_items(checklist: Mapping[str, Any], agreement: bool) -> list[str]:
    required = REQUIRED_FILE_ITEMS + (AGREEMENT_FILE_ITEMS if agreement else ())
    return [item for item in required if checklist.get(item) is not True]
