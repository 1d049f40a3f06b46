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
from pathlib import Path
from typing import Any, Callable, Mapping


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
    """What a new case starts with, decided by the case type from its register form."""
    jurisdiction: str | None
    level: str | None = None
    flags: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    repeat_of: int | None = None


@dataclass(frozen=True)
class CaseSnapshot:
    id: int
    type: str
    level: str | None
    jurisdiction: str | None
    data: Mapping[str, Any]


@dataclass
class CommandScope:
    """What a case type's `after_step` sees of a command in progress, inside its transaction.

    `case` holds the case row's columns as they are about to be written: the hook may change
    `level`, `jurisdiction`, `outcome`, `flags` or `owner_leader`, and tasks opened by this
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

    def event(self, kind: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        """Append an event to the case's history with this command."""
        self._event(kind, data, actor)


@dataclass(frozen=True)
class Placement:
    role: str
    org_unit: str | None
    level: str | None


class ProcessApplication:
    """Defaults that treat a BPMN lane name as the role code and the case's unit as the task's."""

    # Who may register a case of this type, and deliver messages to one (auditors never may).
    register_roles = frozenset({"intake", "mediator", "petition_officer", "admin"})
    message_roles = frozenset({"intake", "mediator", "court_liaison", "petition_officer", "admin"})

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

    # --- who may act ------------------------------------------------------------------------
    def may_register(self, actor: Actor) -> bool:
        return bool(actor.roles & self.register_roles)

    def may_send(self, actor: Actor, message: str) -> bool:
        return actor is SYSTEM or bool(actor.roles & self.message_roles)

    # --- where work happens --------------------------------------------------------------
    def initial_case(self, data: Mapping[str, Any], actor: Actor) -> CaseInit:
        return CaseInit(jurisdiction=data.get("jurisdiction") or actor.org_unit, level=data.get("level"))

    def placement(self, case: CaseSnapshot, step: str, lane: str | None, properties: Mapping[str, str]) -> Placement:
        role = properties.get("role") or lane or "admin"
        return Placement(role=role, org_unit=case.jurisdiction, level=properties.get("level") or case.level)

    # --- scripts -------------------------------------------------------------------------
    def script_functions(self) -> dict[str, Callable[..., Any]]:
        return dict(self._functions)

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
