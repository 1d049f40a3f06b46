"""The petition case type (信访事项, process key `petition`, DOMAIN.md §3, §5, §6).

`bpmn/petition.bpmn` draws the flow and names each stage in the process variable `stage`; this
module adds what a diagram cannot say, applied when the stage changes (`after_step`):

- **registration**: the petition office of the petitioner's place of residence (居住地: the town of
  their village) holds it, or the county's when that town is the unit complained about (which never
  decides on a complaint against itself, and never sees who petitioned: Art. 30); the unit
  complained about must be one of the county's; earlier petitions of the same petitioner (ID number) are found and
  linked, and the new one is flagged `repeat` when it is on the same matter (same category and
  respondent unit), `final_matter` when that matter was already closed as final (终结, Art. 36),
  `group` when five or more people came (Art. 20);
- **the acceptance decision**: a final matter may only be declined; an officer may link the petition
  to an earlier one by hand; `transfer` moves the case to the responsible unit, which then handles
  it; `mediate` opens a linked mediation case (`petition_mediation`);
- **leader ownership** (领导包案, Art. 18): `assign_leader` sets the owner; `set_owner` changes it at
  any time (telling the workflow with the message `owner_assigned`) and `mark_backlog` marks the case
  backlog (积案), which needs an owner; the owner's progress report, theirs alone, is due every 15
  days from the assignment; a petition open longer than 90 days is backlog anyway;
- **review and re-review** go to the unit above the one that handled the petition;
- **supervision** (督办): a breached deadline opens `supervise` at the unit above the late one.

Every number is a default in `PetitionRules`, which a county may replace.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from sqlalchemy import select

from datetime import timedelta

from engine.application import Actor, CaseChange, CaseInit, CaseSnapshot, CommandScope, Placement, ProcessApplication
from engine.calendar import ZONE
from engine.clock import current_time
from engine.errors import Conflict, InvalidInput
from engine.privacy import person_key, phone_key
from engine.store import Case, CaseParty, User

from . import petition_mediation
from .units import Unit, load_units

# DOMAIN.md §5, in days counted by the business calendar.
DEFAULT_PERIODS = {
    "decide_acceptance": 15,        # from registration
    "handle": 60,                   # from acceptance (or transfer)
    "review_request_window": 30,    # from the opinion being served
    "review": 30,                   # from the review request
    "rereview_request_window": 30,  # from the review opinion being served
    "rereview": 30,                 # from the re-review request
    "progress_report": 15,          # the owner leader's report, every 15 days from the assignment
}
# The English of the steps the diagram names in Chinese only (its boxes have no room for both).
ENGLISH_TITLES = {
    "受理决定": "Decide on acceptance", "指定包案领导": "Assign the owner leader",
    "办理并出具处理意见": "Handle: the written opinion", "复查": "Review", "复核": "Re-review",
    "督办：受理超期": "Supervise: acceptance late", "督办：办理超期": "Supervise: handling late",
    "督办：复查超期": "Supervise: review late", "督办：复核超期": "Supervise: re-review late",
    "报告化解进展": "Report progress", "督办：进展报告超期": "Supervise: progress report late",
}
MEDIATION_RESOLVED = ("resolved_village", "resolved_town", "resolved_county", "court")


@dataclass(frozen=True)
class PetitionRules:
    """The county's configurable defaults for petition cases."""
    periods: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_PERIODS))
    max_extension_days: int = 30     # handling may be extended once, with the head's approval (Art. 34)
    group_size: int = 5              # a petition of this many people or more is a group petition
    extension_approver_role: str = "leader"
    backlog_days: int = 90           # a petition open longer than this is backlog (积案)


class PetitionApplication(ProcessApplication):
    extendable_steps = frozenset({"handle"})
    owner_role = "leader"
    owner_message = "owner_assigned"
    # Who the petitioner is, where they live, what they handed in, and their other petitions.
    identity_keys = frozenset({"petitioners", "materials", "address", "residence_org", "earlier_petitions"})
    supervisor = "role:petition_officer"  # the petition office is told of an overdue step
    confidential_note = ("信访人身份及材料对被反映单位保密（《信访工作条例》第三十条）/ the petitioner's identity and "
                         "materials are withheld from the unit complained about (Art. 30)")

    def __init__(self, forms_dir: Path | None, rules: PetitionRules | None = None):
        super().__init__("petition", forms_dir, title="信访事项")
        self.number_prefix = "XF"
        self.rules = rules or PetitionRules()

    # ------------------------------------------------------------------ registration
    def initial_case_in(self, session, data: Mapping[str, Any], actor: Actor, now) -> CaseInit:
        units = load_units(session)
        residence = data.get("residence_org")
        respondent = data.get("respondent_unit") or None
        petitioners = list(data.get("petitioners") or [])
        errors = {}
        if residence not in units or units[residence].level != "village":
            errors["residence_org"] = f"“{residence}”不是本县的村（社区）代码 / {residence!r} is not a village of this county"
        if respondent is not None and respondent not in units:
            errors["respondent_unit"] = (f"“{respondent}”不是本县的单位代码 / {respondent!r} is not an org unit of this "
                                         f"county")
        if int(data.get("people_count") or 0) < len(petitioners):
            errors["people_count"] = "人数不能少于信访人（代表）数 / cannot be fewer than the petitioners listed"
        if errors:
            raise InvalidInput("信访登记有误 / invalid petition registration", fields=errors)
        office = self._receiving_office(units, residence, respondent)
        earlier = self._earlier_petitions(session, petitioners)
        same = [e for e in earlier if e["category"] == data.get("category")
                and (e["respondent_unit"] or None) == (data.get("respondent_unit") or None)]
        flags = []
        if same:
            flags.append("repeat")
        if any(e["outcome"] == "final" for e in same):
            flags.append("final_matter")
        if int(data.get("people_count") or 0) >= self.rules.group_size:
            flags.append("group")
        repeat_of = max((e["case_id"] for e in same), default=None)
        linked = [{"case_id": e["case_id"], "number": e["number"], "status": e["status"], "outcome": e["outcome"],
                   "same_matter": e in same} for e in earlier]
        # Every variable the diagram's conditions read, so none is ever undefined.
        process = {"earlier_petitions": linked, "repeat_of": repeat_of,
                   "leader_required": "repeat" in flags or "group" in flags, "final_matter": "final_matter" in flags,
                   "decision": None, "mediation_result": None, "stage": None, "outcome": None}
        parties = [{"person_key": person_key(p["id_number"]) if p.get("id_number") else None,
                    "phone_key": phone_key(p["phone"]) if p.get("phone") else None,
                    "category": data.get("category"), "respondent_unit": respondent}
                   for p in petitioners if p.get("id_number") or p.get("phone")]
        names = [p.get("name") or "" for p in petitioners]
        return CaseInit(jurisdiction=office.code, level=office.level, flags=flags, data=process, repeat_of=repeat_of,
                        withheld_from=[respondent] if respondent else [], parties=parties,
                        search_text=" ".join([*names, data.get("summary") or ""]).strip())

    @staticmethod
    def _receiving_office(units: Mapping[str, Unit], residence: str, respondent: str | None) -> Unit:
        """The petition office of the petitioner's place of residence (DOMAIN.md §1): the town of their
        village; the unit above when that office is the unit complained about (Art. 30)."""
        unit = units[residence]
        while unit.level == "village" and unit.parent in units:
            unit = units[unit.parent]
        while unit.code == respondent and unit.parent in units:
            unit = units[unit.parent]
        return unit

    @staticmethod
    def _earlier_petitions(session, petitioners: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        keys = sorted({person_key(p["id_number"]) for p in petitioners if p.get("id_number")})
        if not keys:
            return []
        rows = session.execute(
            select(CaseParty.case_id, CaseParty.category, CaseParty.respondent_unit, Case.number,
                   Case.status, Case.outcome)
            .join(Case, Case.id == CaseParty.case_id).where(CaseParty.person_key.in_(keys), Case.type == "petition")
            .order_by(CaseParty.case_id)).all()
        found: dict[int, dict[str, Any]] = {}
        for r in rows:
            found.setdefault(r.case_id, {"case_id": r.case_id, "category": r.category,
                                         "respondent_unit": r.respondent_unit, "number": r.number,
                                         "status": r.status, "outcome": r.outcome})
        return list(found.values())

    def party_names(self, data: Mapping[str, Any]) -> list[str]:
        return [p.get("name") or "" for p in data.get("petitioners") or []]

    def english_title(self, step: str, title: str) -> str | None:
        return ENGLISH_TITLES.get(title)

    # ------------------------------------------------------------------ where work happens
    def placement(self, case: CaseSnapshot, step: str, lane: str | None, properties: Mapping[str, str],
                  session=None) -> Placement:
        if step == "progress_report":  # the owner leader's own task, wherever the case is
            return Placement(role="leader", org_unit=None, level=case.level, assignee=case.owner)
        if step == "supervise":  # 督办: the petition office of the unit above the late one
            units = load_units(session) if session is not None else {}
            unit = units.get(case.jurisdiction or "")
            above = units.get(unit.parent) if unit is not None and unit.parent else None
            target = above or unit
            return Placement(role="petition_officer", org_unit=target.code if target else case.jurisdiction,
                             level=target.level if target else case.level)
        return Placement(role=lane or "petition_officer", org_unit=case.jurisdiction, level=case.level)

    def script_functions(self) -> dict[str, Any]:
        periods = self.rules.periods

        def period(key: str) -> int:
            """The configured number of days of a deadline of DOMAIN.md §5."""
            return int(periods[key])

        def now_iso() -> str:
            return current_time().astimezone(ZONE).isoformat()

        return {**super().script_functions(), "period": period, "now_iso": now_iso}

    def case_updates(self, case: CaseSnapshot, process_data: Mapping[str, Any]) -> dict[str, Any]:
        return {}  # jurisdiction, level, outcome and the owner are set in after_step, with their history

    # ------------------------------------------------------------------ around every command
    def after_step(self, scope: CommandScope) -> None:
        units = load_units(scope.session)
        old, new = scope.before.data.get("stage"), scope.process_data.get("stage")
        if old == new:
            return
        if old is None:
            self._registered(scope)
        if old == "acceptance":
            self._decided(scope, units)
        if old == "leader_assignment":
            self._leader_assigned(scope)
        if new in ("review", "rereview"):
            self._move_up(scope, units, new)
        if new == "closed":
            scope.case["outcome"] = scope.process_data.get("outcome")

    def _registered(self, scope: CommandScope) -> None:
        data = scope.process_data
        earlier = data.get("earlier_petitions") or []
        if earlier:
            scope.event("earlier_petitions_linked", {
                "earlier_petitions": earlier, "repeat_of": data.get("repeat_of"),
                "flags": [f for f in scope.case["flags"] if f in ("repeat", "final_matter")]}, actor="system")

    def _decided(self, scope: CommandScope, units: Mapping[str, Unit]) -> None:
        data = scope.process_data
        decision = data.get("decision")
        linked = data.get("repeat_of")
        if linked is not None and linked != scope.case.get("repeat_of"):
            self._link_repeat(scope, linked)
        if "final_matter" in (scope.case["flags"] or []) and decision != "not_accept":
            raise InvalidInput("该信访事项已终结，不再受理，请选择“不予受理”并说明理由（《信访工作条例》第三十六条）/ "
                               "this matter is already final and is not accepted again (Art. 36): decline it",
                               fields={"decision": "已终结事项只能不予受理 / a final matter can only be declined"})
        if decision == "transfer":
            self._transfer(scope, units, data.get("transfer_to"), data.get("reason"))
        elif decision == "mediate":
            try:
                case_id, number = scope.start_linked_case(
                    "mediation", petition_mediation.register_data(scope.before.id, data, units), kind="mediation")
            except InvalidInput as exc:  # the mediation case's own register form refused it
                problems = "; ".join(f"{k}: {v}" for k, v in exc.fields.items()) or exc.message
                raise InvalidInput(f"无法开立调解案件 / the mediation case cannot be opened: {exc.message}",
                                   fields={"mediation": problems}) from exc
            scope.event("mediation_opened", {"case_id": case_id, "number": number})

    def _link_repeat(self, scope: CommandScope, linked: Any) -> None:
        """The officer links the petition to an earlier one of the same matter (重复信访)."""
        earlier = scope.session.execute(select(Case.id, Case.number, Case.type, Case.outcome, Case.flags)
                                        .where(Case.id == linked)).first()
        if earlier is None or earlier.type != "petition" or earlier.id >= scope.before.id:
            raise InvalidInput(f"案件 {linked} 不是较早的信访事项 / case {linked} is not an earlier petition",
                               fields={"repeat_of": "须为较早的信访事项 / must be an earlier petition"})
        flags = list(scope.case["flags"] or [])
        flags += [f for f in ("repeat",) if f not in flags]
        if (earlier.outcome == "final" or "final_matter" in (earlier.flags or [])) and "final_matter" not in flags:
            flags.append("final_matter")
        scope.case["flags"], scope.case["repeat_of"] = flags, earlier.id
        scope.event("repeat_linked", {"repeat_of": earlier.id, "number": earlier.number, "flags": flags})

    def _transfer(self, scope: CommandScope, units: Mapping[str, Unit], target: Any, reason: Any) -> None:
        """转送/交办: the case moves to the responsible unit, whose petition office then handles it."""
        current = scope.case["jurisdiction"]
        problem = None
        if target not in units:
            problem = "不是本县单位 / not an org unit of this county"
        elif target == current:
            problem = "已在该单位 / the case is already there"
        elif target == scope.process_data.get("respondent_unit"):
            problem = "不得转送被反映单位办理（第三十条）/ never to the unit complained about (Art. 30)"
        elif not self._has_petition_officer(scope.session, target):
            problem = "该单位没有信访工作人员 / the unit has no petition officer to handle it"
        if problem:
            raise InvalidInput(f"不能转送到“{target}”：{problem}", fields={"transfer_to": problem})
        scope.case["jurisdiction"], scope.case["level"] = target, units[target].level
        scope.event("transferred", {"from": current, "to": target, "reason": reason})

    @staticmethod
    def _has_petition_officer(session, unit: str) -> bool:
        roles = session.execute(select(User.roles).where(User.org_unit == unit, User.active.is_(True))).scalars()
        return any("petition_officer" in (r or []) for r in roles)

    def _leader_assigned(self, scope: CommandScope) -> None:
        leader = scope.process_data.get("leader")
        user = scope.session.execute(select(User.roles, User.active).where(User.username == leader)).first()
        if user is None or not user.active or "leader" not in (user.roles or []):
            raise InvalidInput(f"“{leader}”不是在职的领导用户 / {leader!r} is not an active user with the leader role",
                               fields={"leader": "须为领导用户 / must be a user with the leader role"})
        if leader != scope.case["owner"]:
            scope.event("owner_changed", {"from": scope.case["owner"], "to": leader, "reason": None,
                                          "via": "assign_leader"})
            scope.case["owner"] = leader

    def _move_up(self, scope: CommandScope, units: Mapping[str, Unit], stage: str) -> None:
        """Review (复查) and re-review (复核) are decided by the unit above the one that decided before."""
        current = scope.case["jurisdiction"]
        unit = units.get(current or "")
        if unit is None or not unit.parent or unit.parent not in units:
            return  # the county reviews its own decisions
        above = units[unit.parent]
        scope.case["jurisdiction"], scope.case["level"] = above.code, above.level
        scope.event("jurisdiction_changed", {"from": current, "to": above.code, "reason": stage})

    # ------------------------------------------------------------------ extensions
    def check_extension(self, session, case: CaseSnapshot, task: Mapping[str, Any], days: Any, reason: Any,
                        earlier: list[Mapping[str, Any]], request: Mapping[str, Any]) -> dict[str, Any]:
        """Handling may be extended once, by up to 30 days, with the approval of the head (Art. 34)."""
        limit = self.rules.max_extension_days
        if task["name"] != "handle":
            raise InvalidInput("只有办理期限可以延长 / only the handling deadline can be extended",
                               fields={"days": "此步骤不能延期 / not extendable"})
        errors = self.extension_errors(days, reason, limit)
        approver = request.get("approved_by")
        if not isinstance(approver, str) or not self._is_approver(session, approver):
            errors["approved_by"] = "须经本机关负责人（领导）批准 / needs the approval of the head (a leader)"
        if errors:
            raise InvalidInput("延期申请有误 / invalid extension", fields=errors)
        if any(e.get("step") == "handle" for e in earlier):
            raise Conflict("办理期限只能延长一次 / the handling deadline has already been extended once")
        return {"approved_by": approver}

    def _is_approver(self, session, username: str) -> bool:
        user = session.execute(select(User.roles, User.active).where(User.username == username)).first()
        return user is not None and user.active and self.rules.extension_approver_role in (user.roles or [])

    # ------------------------------------------------------------------ flags by age
    def derived_flags(self, case: Any, now) -> list[str]:
        """A petition open longer than the backlog period is backlog (积案), marked or not."""
        get = case.get if isinstance(case, Mapping) else lambda name: getattr(case, name)
        flags, status, created = get("flags") or [], get("status"), get("created_at")
        if "backlog" not in flags and status == "open" and created < now - timedelta(days=self.rules.backlog_days):
            return ["backlog"]
        return []

    # ------------------------------------------------------------------ ownership (领导包案) and backlog (积案)
    def set_owner(self, change: CaseChange, leader: Any, reason: Any, *, via: str = "owner") -> None:
        """Assign or change the owner leader: an audited `owner_changed` event; the workflow starts the
        new owner's report cycle."""
        if not isinstance(leader, str) or not leader:
            raise InvalidInput("请指明包案领导 / the leader is required", fields={"leader": "必填 / required"})
        if reason is not None and (not isinstance(reason, str) or len(reason) > 2000):
            raise InvalidInput("理由应为不超过 2000 字的文本 / the reason is text of at most 2,000 characters",
                               fields={"reason": "不超过 2000 字 / at most 2,000 characters"})
        user = change.session.execute(select(User.roles, User.active).where(User.username == leader)).first()
        if user is None or not user.active or self.owner_role not in (user.roles or []):
            raise InvalidInput(f"“{leader}”不是在职的领导用户 / {leader!r} is not an active user with the leader role",
                               fields={"leader": "须为领导用户 / must be a user with the leader role"})
        previous = change.case["owner"]
        if previous == leader:
            return
        change.case["owner"] = leader
        change.event("owner_changed", {"from": previous, "to": leader, "reason": reason or None, "via": via})
        change.tell(self.owner_message, {"leader": leader, "previous": previous,
                                         "since": change.now.astimezone(ZONE).isoformat()})

    def mark_backlog(self, change: CaseChange, reason: Any, leader: Any = None) -> None:
        """Mark the petition as backlog (积案); it must have an owner leader, named here if it has none."""
        if not isinstance(reason, str) or not reason.strip():
            raise InvalidInput("请写明理由 / the reason is required", fields={"reason": "必填 / required"})
        if len(reason) > 2000:
            raise InvalidInput("理由不超过 2000 字 / at most 2,000 characters",
                               fields={"reason": "不超过 2000 字 / at most 2,000 characters"})
        if leader is not None and not isinstance(leader, str):
            raise InvalidInput("leader 应为用户名 / leader must be a username", fields={"leader": "应为文本 / must be text"})
        if leader:
            self.set_owner(change, leader, None, via="backlog")
        if not change.case["owner"]:
            raise InvalidInput("积案须有包案领导，请同时指定 / a backlog case needs an owner leader: name one",
                               fields={"leader": "必填 / required"})
        if "backlog" not in (change.case["flags"] or []):
            change.case["flags"] = [*(change.case["flags"] or []), "backlog"]
            change.event("backlog_marked", {"reason": reason.strip()})
