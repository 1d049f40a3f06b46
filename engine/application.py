"""What a case type adds to the generic engine.

The engine knows processes, tasks, timers and events; it does not know what a mediation is.
Each case type (the `workflows` package) supplies a `ProcessApplication`: how lanes map to
roles, where a task is worked (org unit, level), its forms, the functions its BPMN scripts
may call, and what happens around each command. The defaults here run any BPMN file whose
lanes are named after roles.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from .errors import InvalidInput


@dataclass(frozen=True)
class Actor:
    """Who runs a command: a user, or the system itself (the scheduler)."""
    username: str
    roles: frozenset[str] = frozenset()
    org_unit: str | None = None
    civil_servant: bool = False

    def has_role(self, role: str) -> bool:
        return role in self.roles


SYSTEM = Actor("system", frozenset({"system"}))


@dataclass
class CaseInit:
    """What a new case starts with, decided by the case type from its register form.

    `withheld_from`: org units whose members never see who the parties are. `parties`: one row per
    person of the case (`person_key`, `phone_key` digests and the matter's `category` and
    `respondent_unit`), to find the same person's other cases and to find a case by a phone number.
    `search_text`: what a search for a name or a word matches."""
    jurisdiction: str | None
    level: str | None = None
    flags: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    repeat_of: int | None = None
    withheld_from: list[str] = field(default_factory=list)
    parties: list[dict[str, Any]] = field(default_factory=list)
    search_text: str = ""


@dataclass(frozen=True)
class CaseSnapshot:
    id: int
    type: str
    level: str | None
    jurisdiction: str | None
    data: Mapping[str, Any]
    owner: str | None = None
    # Whether it was closed, how and when, and its flags (what a case listener compares with the
    # written row).
    status: str = "open"
    outcome: str | None = None
    closed_at: datetime | None = None
    flags: tuple[str, ...] = ()


@dataclass
class CommandScope:
    """What a case type's `after_step` sees of a command in progress, inside its transaction.

    `case` holds the case row's columns as they are about to be written: the hook may change
    `level`, `jurisdiction`, `outcome`, `flags`, `owner` or `repeat_of`, and tasks opened by this
    command are placed with the result. `session` writes in the same transaction (ledger
    entries, outbox messages …): all of it commits with the command or not at all."""
    session: Any
    now: Any
    actor: Actor
    before: CaseSnapshot
    case: dict[str, Any]
    process_data: Mapping[str, Any]
    closing: bool
    calendar: Any
    _event: Callable[..., None]
    _start_linked: Callable[..., tuple[int, str]] | None = None

    def event(self, kind: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        """Append an event to the case's history with this command."""
        self._event(kind, data, actor)

    def start_linked_case(self, case_type: str, data: Mapping[str, Any], kind: str) -> tuple[int, str]:
        """Register a case of another type linked to this one (`kind` names the link), in this same
        transaction; returns its id and number. When it closes, this case receives the message
        `<case_type>_closed` with its id, number and outcome (if it waits for it)."""
        if self._start_linked is None:
            raise RuntimeError("this command cannot start linked cases")
        return self._start_linked(case_type, data, kind)


@dataclass(frozen=True)
class Placement:
    role: str
    org_unit: str | None
    level: str | None
    assignee: str | None = None  # a task that is one person's from the start (e.g. the case owner's)


class ProcessApplication:
    """Defaults that treat a BPMN lane name as the role code and the case's unit as the task's.

    Who may do what is not decided here: the application layer's authorization table decides it
    before any command runs. What a case type adds are its rules: forms, placement, scripts,
    ownership, confidentiality, extensions, and what happens around each command."""

    # Ownership: the role whose users may own a case of this type until it is resolved (None: its
    # cases have no owner), and the message the workflow receives (if it waits for it) when the
    # owner changes, with {"owner", "previous", "since"} (None: the workflow is not told).
    owner_role: str | None = None
    owner_message: str | None = None
    # Keys of a case's data (and its events' data) that say who a party is, where they live or what
    # they handed in: taken out, not masked, for the units the identity is withheld from.
    identity_keys: frozenset[str] = frozenset()
    confidential_note: str = "当事人身份对本单位保密 / the parties' identity is withheld from this unit"
    # Who is told of an overdue step of this case type, unless FENGQIAO_SUPERVISORS says otherwise:
    # "head" (the heads of the late unit or the nearest unit above) or "role:CODE".
    supervisor: str = "head"

    def __init__(self, key: str, forms_dir: Path | None = None,
                 functions: Mapping[str, Callable[..., Any]] | None = None, title: str = ""):
        self.key = key
        self.number_prefix = key.upper()
        self.title = title or key
        self.forms_dir = forms_dir
        self._functions = dict(functions or {})
        self._forms: dict[str, dict | None] = {}

    # --- forms -------------------------------------------------------------------------
    def form_schema(self, step: str) -> dict | None:
        """The JSON Schema of a step's form (`register` for the start form), or None."""
        if step not in self._forms:
            self._forms[step] = self._load_form(step)
        return self._forms[step]

    def _load_form(self, step: str) -> dict | None:
        if self.forms_dir is None:
            return None
        for candidate in (self.forms_dir / self.key / f"{step}.json", self.forms_dir / f"{step}.json"):
            if candidate.is_file():
                return json.loads(candidate.read_text(encoding="utf-8"))
        return None

    # --- where work happens --------------------------------------------------------------
    def initial_case_in(self, session: Any, data: Mapping[str, Any], actor: Actor, now: Any) -> CaseInit:
        """The new case's unit, level, flags and process variables, read with the registering
        command's session (to look up org units, earlier cases …)."""
        return CaseInit(jurisdiction=data.get("jurisdiction") or actor.org_unit, level=data.get("level"))

    def placement(self, case: CaseSnapshot, step: str, lane: str | None, properties: Mapping[str, str],
                  session: Any = None) -> Placement:
        """Where a newly opened task is worked; `session` reads in the command's own transaction."""
        role = properties.get("role") or lane or "admin"
        return Placement(role=role, org_unit=case.jurisdiction, level=properties.get("level") or case.level)

    def english_title(self, step: str, title: str) -> str | None:
        """The English of a step named in Chinese only in the BPMN file. Default: none (its form's
        `x-title-en` is used)."""
        return None

    def party_names(self, data: Mapping[str, Any]) -> list[str]:
        """The names of a case's parties, as a task list shows them. Default: none known."""
        return []

    def derived_flags(self, case: Any, now: Any) -> list[str]:
        """Flags a case has by its age or state rather than by a stored mark (shown with the stored ones)."""
        return []

    # --- scripts -------------------------------------------------------------------------
    def script_functions(self) -> dict[str, Callable[..., Any]]:
        return dict(self._functions)

    # --- deadline extensions ----------------------------------------------------------------
    extendable_steps: frozenset[str] = frozenset()  # the steps whose deadline `check_extension` may allow

    def check_extension(self, session: Any, case: CaseSnapshot, task: Mapping[str, Any], days: Any, reason: Any,
                        earlier: list[Mapping[str, Any]], request: Mapping[str, Any]) -> dict[str, Any]:
        """Decide whether a ready task's deadline may be extended by `days`; raise an EngineError if not.

        `earlier` holds the data of the case's earlier `deadline_extended` events and `request` the whole
        request body; the returned dict is added to the new event's data. Default: no extensions."""
        raise InvalidInput("此步骤的期限不能延长 / this step's deadline cannot be extended",
                           fields={"days": "不能延期 / not extendable"})

    @staticmethod
    def extension_errors(days: Any, reason: Any, limit: int) -> dict[str, str]:
        """The field errors every extension request can have: days out of 1..limit, no reason."""
        errors = {}
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= limit:
            errors["days"] = f"应为 1–{limit} 的整数 / must be a whole number from 1 to {limit}"
        if not isinstance(reason, str) or not reason.strip():
            errors["reason"] = "必填 / required"
        elif len(reason) > 2000:
            errors["reason"] = "不超过 2000 字 / at most 2,000 characters"
        return errors

    # --- the packed history of a closed case ----------------------------------------------
    def keeps_event_row(self, kind: str, data: Any) -> bool:
        """Whether an event of a closed case stays a `case_event` row when its history is packed
        (engine/history.py): True for what a query of this case type reads across cases in SQL (a
        report's events). The engine keeps its own (history.ROW_KINDS) anyway. Default: none."""
        return False

    # --- around commands -----------------------------------------------------------------
    def after_step(self, scope: CommandScope) -> None:
        """Called once per command that moved the workflow, before tasks are placed. Default: nothing."""

    def case_updates(self, case: CaseSnapshot, process_data: Mapping[str, Any]) -> dict[str, Any]:
        """Case columns to change after a command, read from process variables by convention."""
        updates = {}
        for column in ("level", "jurisdiction", "outcome"):
            value = process_data.get(column)
            if isinstance(value, str) and value and value != getattr(case, column, None):
                updates[column] = value
        return updates


@dataclass
class CaseChange:
    """What a command that changes a case's own columns sees (`CaseEngine.change_case`): a case
    type's rule sets `case["owner"]` or `case["flags"]`, appends events, and may tell the workflow
    with a message; all of it commits together, on the case version the command read."""
    session: Any
    now: Any
    actor: Actor
    app: "ProcessApplication"
    case: dict[str, Any]
    _event: Callable[..., None]
    _tell: Callable[[str, Mapping[str, Any]], bool]

    def event(self, kind: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        """Append an event to the case's history with this command."""
        self._event(kind, data, actor)

    def tell(self, message: str, payload: Mapping[str, Any]) -> bool:
        """Deliver `message` to the case's workflow; True when it waited for it (the workflow moved)."""
        return self._tell(message, payload)
