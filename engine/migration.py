"""Moving running cases to another deployed version of their process, on purpose and on the record.

A case keeps the definition version it started on (README, "Definitions are stored once"). An
administrator may move open cases to another version of the same process; this module says what
differs between two versions, whether a case can move as it stands, and moves it.

- **Comparing** uses SpiffWorkflow's `SpecDiff` (SpiffWorkflow/bpmn/util/diff.py): it aligns the
  task specs of the two versions by BPMN id, then by structure for ids it cannot find, and lists the
  serialized attributes that changed. Here those become steps added, removed and changed (name,
  timer, form, role, script, flow), for people to read.
- **Checking a case** walks its workflow's flat task map (not SpiffWorkflow's `WorkflowDiff`, whose
  tree walk stops at depth 1000, so a case that has looped long would be half moved). A case can
  move when every task it has, passed or open, has its step in the new version, and its open steps
  keep their form, their role, their kind and their attached events, and every waiting timer whose
  expression changed can be computed for the case.
- **Moving** re-points every task at the new version's specs and resets the open ones (as
  `migrate_workflow` does, over the flat map) so what follows them is predicted from the new
  version. A waiting timer whose definition is unchanged keeps its due time exactly (an extension
  granted stays granted); a changed one is computed again *from the moment it started waiting*, so
  a deadline shortened from 10 days to 7 is due 7 days after the step opened, and if that is already
  past it fires at the next sweep like any overdue deadline (nothing fires during the move).

The engine knows no case type: what a case type does around a command (`after_step`) runs as after
any command, and the history gets one `definition_migrated` event.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.util.diff import SpecDiff
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import bindparam, update

from . import rows
from . import runtime as rt
from .audit import PendingEvent, chain_rows
from .calendar import ZONE, warning_at
from .clock import command_time
from .command import Known, command_actor
from .store import Case, Deadline, HumanTask

OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED
PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE


# ------------------------------------------------------------------------------ comparing two versions
@dataclass(frozen=True)
class Step:
    id: str
    name: str
    kind: str  # the BPMN element type as SpiffWorkflow names it (UserTask, BoundaryEvent …)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "kind": self.kind}


@dataclass(frozen=True)
class StepChange:
    step: Step  # as in the newer version
    changes: tuple[str, ...]  # name, id, kind, timer, form, role, script, flow, event, properties, other
    before: Mapping[str, Any]
    after: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.step.as_dict(), "changes": list(self.changes), "before": dict(self.before),
                "after": dict(self.after)}


@dataclass
class SpecAlignment:
    """Two versions of one process compared: the alignment of their task specs and what changed."""
    old_spec: Any
    new_spec: Any
    new_subprocess_specs: dict
    counterpart: dict[str, Any]  # old task spec name → new task spec (None: removed)
    rerouted: set[str] = field(default_factory=set)  # old spec names whose outgoing steps differ in the new
    added: list[Step] = field(default_factory=list)
    removed: list[Step] = field(default_factory=list)
    changed: list[StepChange] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"added": [s.as_dict() for s in self.added], "removed": [s.as_dict() for s in self.removed],
                "changed": [c.as_dict() for c in self.changed]}

    def new_of(self, spec) -> Any:
        if spec.name in self.counterpart:
            return self.counterpart[spec.name]
        return self.new_spec.task_specs.get(spec.name)


def _step(spec) -> Step:
    return Step(spec.bpmn_id or spec.name, spec.bpmn_name or "", type(spec).__name__)


def _is_step(spec) -> bool:
    """A BPMN element people drew (not SpiffWorkflow's own Start, End, boundary split and join)."""
    return bool(getattr(spec, "bpmn_id", None))


def form_key(spec) -> str | None:
    """Which form a human step shows: its `step` property (the form file's name), else its id."""
    if not getattr(spec, "manual", False):
        return None
    return rt.task_properties(spec).get("step") or spec.name


def timer_of(spec) -> TimerEventDefinition | None:
    definition = getattr(spec, "event_definition", None)
    return definition if isinstance(definition, TimerEventDefinition) else None


def _timer_text(definition) -> dict[str, Any] | None:
    if not isinstance(definition, TimerEventDefinition):
        return None
    return {"type": type(definition).__name__, "expression": definition.expression}


def _scripts(spec) -> dict[str, Any]:
    ext = getattr(spec, "extensions", None) or {}
    return {"script": getattr(spec, "script", None), "pre": ext.get("preScript"), "post": ext.get("postScript")}


def _describe(old, new, keys: Iterable[str]) -> StepChange:
    changes, before, after = [], {}, {}

    def note(what: str, was: Any, now: Any) -> None:
        if what not in changes:
            changes.append(what)
        before[what], after[what] = was, now

    for key in keys:
        if key == "typename":
            note("kind", type(old).__name__, type(new).__name__)
        elif key == "bpmn_name":
            note("name", old.bpmn_name, new.bpmn_name)
        elif key in ("name", "bpmn_id"):
            note("id", old.bpmn_id or old.name, new.bpmn_id or new.name)
        elif key == "lane":
            note("role", old.lane, new.lane)
        elif key == "event_definition":
            if timer_of(old) or timer_of(new):
                note("timer", _timer_text(old.event_definition), _timer_text(new.event_definition))
            else:
                note("event", type(old.event_definition).__name__, type(new.event_definition).__name__)
        elif key in ("inputs", "outputs", "cond_task_specs", "default_task_spec", "choice", "split_task"):
            note("flow", sorted(getattr(old, "outputs", []) and [s.name for s in old.outputs]),
                 sorted(getattr(new, "outputs", []) and [s.name for s in new.outputs]))
        elif key == "script":
            note("script", _scripts(old), _scripts(new))
        elif key == "extensions":
            old_p, new_p = rt.task_properties(old), rt.task_properties(new)
            if form_key(old) != form_key(new):
                note("form", form_key(old), form_key(new))
            if old_p.get("deadline") != new_p.get("deadline"):
                note("timer", {"deadline": old_p.get("deadline")}, {"deadline": new_p.get("deadline")})
            if _scripts(old) != _scripts(new):
                note("script", _scripts(old), _scripts(new))
            rest_old = {k: v for k, v in old_p.items() if k not in ("step", "deadline")}
            rest_new = {k: v for k, v in new_p.items() if k not in ("step", "deadline")}
            if rest_old != rest_new:
                note("properties", rest_old, rest_new)
        elif key in ("description", "documentation", "lookahead", "manual", "position"):
            continue  # not a difference of behaviour a person needs to weigh
        else:
            note("other", key, key)
    return StepChange(_step(new), tuple(changes), before, after)


def compare(old: tuple[Any, dict], new: tuple[Any, dict]) -> SpecAlignment:
    """Compare two versions' (spec, subprocess specs); the old version's specs must be the live ones
    its cases' workflows use (engine SpecCache), since tasks are re-pointed by spec name."""
    old_spec, _old_subs = old
    new_spec, new_subs = new
    diff = SpecDiff(rt._registry, old_spec, new_spec)
    counterpart = {spec.name: target for spec, target in diff.alignment.items() if spec is not None}
    for name in old_spec.task_specs:  # what the traversal from the start did not reach
        counterpart.setdefault(name, new_spec.task_specs.get(name))
    found = SpecAlignment(old_spec, new_spec, dict(new_subs), counterpart)
    for name, spec in old_spec.task_specs.items():
        target = counterpart.get(name)
        if target is None or [s.name for s in spec.outputs] != [s.name for s in target.outputs] \
                or type(spec) is not type(target):
            found.rerouted.add(name)
    found.added = sorted((_step(s) for s in diff.added if _is_step(s)), key=lambda s: s.id)
    found.removed = sorted((_step(s) for s in old_spec.task_specs.values()
                            if _is_step(s) and counterpart.get(s.name) is None), key=lambda s: s.id)
    for old_ts, keys in diff.changed.items():
        new_ts = counterpart.get(old_ts.name)
        if new_ts is None or not _is_step(old_ts):
            continue
        change = _describe(old_ts, new_ts, keys)
        if change.changes:
            found.changed.append(change)
    found.changed.sort(key=lambda c: c.step.id)
    return found


# ------------------------------------------------------------------------------ checking and moving a case
@dataclass(frozen=True)
class Blocker:
    step: str
    name: str
    reason: str  # a code: open_step_removed, passed_step_removed, form_changed, role_changed …
    message: str  # 中文 / English

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "name": self.name, "reason": self.reason, "message": self.message}


_REASONS = {
    "open_step_removed": ("新版本中没有本案当前所处的步骤", "the new version no longer has a step the case is at"),
    "passed_step_removed": ("新版本中没有本案已经走过的步骤", "the new version no longer has a step the case has passed"),
    "form_changed": ("当前步骤在新版本中使用另一张表单", "the open step uses another form in the new version"),
    "role_changed": ("当前步骤在新版本中由另一角色办理", "another role works the open step in the new version"),
    "kind_changed": ("当前步骤在新版本中是另一类元素", "the open step is another kind of element in the new version"),
    "attached_events_changed": ("新版本改变了当前步骤上附加的期限或消息",
                                "the new version changes the timers or messages attached to the open step"),
    "timer_kind_changed": ("等待中的计时器在新版本中类型不同", "a waiting timer is of another kind in the new version"),
    "cycle_timer_changed": ("等待中的循环计时器在新版本中有变化", "a waiting cycle timer changed in the new version"),
    "message_changed": ("等待中的消息在新版本中不同", "the case waits for a message the new version does not"),
    "timer_unavailable": ("新版本的计时器无法按本案数据计算", "the new version's timer cannot be computed for this case"),
    "not_placed": ("本案的部分任务无法对应到新版本", "some of the case's tasks have no place in the new version"),
}


def blocker(spec_or_name, reason: str, detail: str = "") -> Blocker:
    if isinstance(spec_or_name, str):
        step, name = spec_or_name, ""
    else:
        step, name = spec_or_name.bpmn_id or spec_or_name.name, spec_or_name.bpmn_name or ""
    zh, en = _REASONS[reason]
    message = f"{zh}：{step}{'（' + name + '）' if name else ''} / {en}: {step}"
    if detail:
        message += f" ({detail})"
    return Blocker(step, name, reason, message)


class CannotMove(Exception):
    def __init__(self, blockers: list[Blocker]):
        super().__init__("; ".join(b.message for b in blockers))
        self.blockers = blockers


@dataclass
class Moved:
    """What moving one workflow did: the open steps' mapping and the timers whose due time changed."""
    mapping: dict[str, str]  # open step id in the old version → its id in the new one
    timers: list[dict[str, Any]]  # {"spiff_id", "step", "kind", "from", "to", "started_at"}


def _owner_step(name: str) -> str:
    """`mediate_village.BoundaryEventSplit` belongs to step `mediate_village`."""
    return name.split(".", 1)[0]


def _due_of(definition: TimerEventDefinition, task, start: datetime) -> datetime:
    """When a date or duration timer would fire, had it started waiting at `start`."""
    with command_time(start):
        value = task.workflow.script_engine.evaluate(task, definition.expression)
    if isinstance(definition, DurationTimerEventDefinition):
        parsed = TimerEventDefinition.parse_iso_duration(value)
        return start + TimerEventDefinition.get_timedelta_from_start(parsed, start)
    due = TimerEventDefinition.parse_time_or_duration(value)
    if not isinstance(due, datetime):
        raise TypeError(f"not a date: {value!r}")
    return due


def _value_at(value: Any) -> datetime | None:
    """A waiting date or duration timer's stored fire time (`event_value`), as a datetime."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return TimerEventDefinition.get_datetime(value)
    except (TypeError, ValueError):
        return None


def check(workflow, alignment: SpecAlignment) -> list[Blocker]:
    """Why this workflow cannot move to the aligned version as it stands ([] when it can)."""
    found: dict[tuple[str, str], Blocker] = {}

    def add(b: Blocker) -> None:
        found.setdefault((b.step, b.reason), b)

    if workflow.subprocesses:
        # The bundled processes have none; moving call activities' instances is not supported yet.
        add(blocker("subprocess", "not_placed", "subprocesses"))
    for task in list(workflow.tasks.values()):
        old = task.task_spec
        new = alignment.new_of(old)
        if new is None:
            if task.state & OPEN:
                add(blocker(old if _is_step(old) else _owner_step(old.name), "open_step_removed"))
            elif task.state & TaskState.FINISHED_MASK:
                add(blocker(old if _is_step(old) else _owner_step(old.name), "passed_step_removed"))
            continue  # predicted: re-predicted when the open task above it is reset (checked after the move)
        if not task.state & OPEN:
            continue
        if type(old) is not type(new):
            add(blocker(old, "kind_changed", f"{type(old).__name__} → {type(new).__name__}"))
            continue
        if getattr(old, "manual", False):
            if form_key(old) != form_key(new):
                add(blocker(old, "form_changed", f"{form_key(old)} → {form_key(new)}"))
            if old.lane != new.lane:
                add(blocker(old, "role_changed", f"{old.lane} → {new.lane}"))
            parent = task.parent
            if parent is not None and isinstance(parent.task_spec, BoundaryEventSplit):
                new_parent = alignment.new_of(parent.task_spec)
                was = sorted(s.name for s in parent.task_spec.outputs)
                now = sorted(s.name for s in new_parent.outputs) if new_parent is not None else None
                if was != now:
                    add(blocker(old, "attached_events_changed"))
        if task.state == TaskState.WAITING and hasattr(old, "event_definition"):
            was, now = old.event_definition, new.event_definition
            if type(was) is not type(now):
                add(blocker(old, "timer_kind_changed" if timer_of(old) or timer_of(new) else "message_changed"))
            elif isinstance(was, CycleTimerEventDefinition) and was.expression != now.expression:
                add(blocker(old, "cycle_timer_changed"))
            elif isinstance(was, MessageEventDefinition) and was.name != now.name:
                add(blocker(old, "message_changed", f"{was.name} → {now.name}"))
    # A removed step the case is at also has its boundary split behind it: say it once, as open.
    return [b for (step, reason), b in found.items()
            if not (reason == "passed_step_removed" and (step, "open_step_removed") in found)]


def _timer_changed(old, new) -> bool:
    a, b = timer_of(old), timer_of(new)
    if a is None or b is None:
        return False
    return type(a) is not type(b) or a.expression != b.expression


def _subtree_rerouted(task, old_specs: Mapping, alignment: SpecAlignment) -> bool:
    """Whether the steps predicted after an open task lead elsewhere in the new version (then it is
    reset, so that they are predicted again); an unchanged path is left as it is, which is cheaper."""
    stack = [task]
    while stack:
        node = stack.pop()
        spec = old_specs.get(node.id)
        if spec is None or spec.name in alignment.rerouted:
            return True
        stack.extend(node.children)
    return False


def move(workflow, alignment: SpecAlignment, started: Mapping[str, datetime], now: datetime) -> Moved:
    """Move a restored workflow onto the aligned version in place; CannotMove (the workflow is then
    spoilt: restore it again) when it cannot move as it stands.

    `started`: when each waiting timer (by task id) started waiting, from its deadline row."""
    blockers = check(workflow, alignment)
    if blockers:
        raise CannotMove(blockers)
    before_data = rt.workflow_data(workflow)
    old_specs = {task.id: task.task_spec for task in workflow.tasks.values()}
    open_before = [t for t in workflow.tasks.values() if t.state in (TaskState.READY, TaskState.WAITING)]
    # Re-point every task at the new version (what migrate_workflow does, over the flat task map).
    workflow.spec = alignment.new_spec
    workflow.subprocess_specs = alignment.new_subprocess_specs
    for task in workflow.tasks.values():
        target = alignment.new_of(task.task_spec)
        if target is not None:
            task.task_spec = target
    mapping, timers, problems = {}, [], []
    for task in open_before:
        if task.id not in workflow.tasks:  # dropped by the reset of a task above it
            continue
        old = old_specs[task.id]
        kept = dict(task.internal_data)
        data = task.data  # kept as it is: a step not yet worked has nothing of its own
        # A timer's reset evaluates it at once: on the clock of when it started waiting, so that it
        # never fires here (an overdue one fires at the next sweep, with its reminders, once).
        start = started.get(str(task.id)) or now
        if _subtree_rerouted(task, old_specs, alignment):
            with command_time(start):
                task.reset_branch(data)
        if _is_step(old):
            mapping[old.bpmn_id] = task.task_spec.bpmn_id or task.task_spec.name
        if task.state != TaskState.WAITING or timer_of(task.task_spec) is None:
            task.internal_data.update({k: v for k, v in kept.items() if k not in task.internal_data})
            continue
        if not _timer_changed(old, task.task_spec):
            task.internal_data.clear()
            task.internal_data.update(kept)  # the same due time, an extension included
            continue
        previous = _value_at(kept.get("event_value"))
        try:
            due = _due_of(timer_of(task.task_spec), task, start)
            # An extension granted on the old timer moves the new one as far.
            original = _due_of(timer_of(old), task, start) if timer_of(old) is not None else None
        except Exception as exc:  # noqa: BLE001 — a BPMN expression of the new version, evaluated on this case's data
            problems.append(blocker(task.task_spec, "timer_unavailable", f"{type(exc).__name__}: {exc}"))
            continue
        if previous is not None and original is not None and previous != original:
            due = due + (previous - original)
        task.internal_data.clear()
        task.internal_data["event_value"] = due.astimezone(ZONE).isoformat()
        timers.append({"spiff_id": str(task.id), "step": task.task_spec.bpmn_id, "started_at": start,
                       "kind": rt.task_properties(task.task_spec).get("deadline") or task.task_spec.bpmn_name
                       or task.task_spec.name,
                       "from": previous, "to": due})
    stray = {_owner_step(t.task_spec.name) for t in workflow.tasks.values()
             if workflow.spec.task_specs.get(t.task_spec.name) is not t.task_spec}
    problems += [blocker(name, "not_placed") for name in sorted(stray)]
    if problems:
        raise CannotMove(problems)
    if workflow.last_task is not None and workflow.last_task.id not in workflow.tasks:
        workflow.last_task = None
    if rt.workflow_data(workflow) != before_data:
        raise CannotMove([blocker("data", "not_placed", "the case's data would change")])
    return Moved(mapping, timers)


# ------------------------------------------------------------------------------ moving a case in the store
@dataclass
class CaseOutcome:
    """What happened (or, in a dry run, would happen) to one case."""
    case_id: int
    number: str | None
    status: str  # moved | would_move | blocked | skipped
    blockers: list[Blocker] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    timers: list[dict[str, Any]] = field(default_factory=list)
    open_steps: list[str] = field(default_factory=list)
    note: str = ""  # why a case was skipped (closed, on another version, changed meanwhile)

    @property
    def can_move(self) -> bool:
        return self.status in ("moved", "would_move")

    def as_dict(self) -> dict[str, Any]:
        return {"case_id": self.case_id, "number": self.number, "status": self.status, "can_move": self.can_move,
                "open_steps": list(self.open_steps), "blockers": [b.as_dict() for b in self.blockers],
                "mapping": dict(self.mapping), "note": self.note,
                "timers": [{"step": t["step"], "kind": t["kind"], "from": _iso(t["from"]), "to": _iso(t["to"]),
                            "overdue": t.get("overdue", False)} for t in self.timers]}


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(ZONE).isoformat() if at is not None else None


BATCH = 25  # cases a write transaction: a few milliseconds of the store's write lock


class CaseMigrations:
    """The engine's side of moving cases: the versions compared once per pair, and each case moved
    as a whole or not at all (its version checked, its history appended), a batch a transaction."""

    def __init__(self, engine):
        self.engine = engine
        self._alignments: dict[tuple[int, int], SpecAlignment] = {}

    def alignment(self, session, from_id: int, to_id: int) -> SpecAlignment:
        found = self._alignments.get((from_id, to_id))
        if found is None:
            old, new = self.engine.specs.get(session, from_id), self.engine.specs.get(session, to_id)
            found = self._alignments[(from_id, to_id)] = compare(old, new)
        return found

    # ---- looking, without changing anything
    def check_case(self, session, case: Mapping[str, Any], alignment: SpecAlignment, now: datetime) -> CaseOutcome:
        """Whether one open case can move, and how, from a throwaway copy of its workflow."""
        app = self.engine.application(case["type"])
        conn = session.connection()
        workflow = self.engine.restore(session, dict(case), app, rows.load_state(conn, case["id"]))
        outcome = CaseOutcome(case["id"], case.get("number"), "would_move", open_steps=_open_steps(workflow))
        started = {d["spiff_id"]: d["started_at"] for d in rows.pending_timers(conn, case["id"])}
        try:
            moved = move(workflow, alignment, started, now)
        except CannotMove as exc:
            outcome.status, outcome.blockers = "blocked", exc.blockers
            return outcome
        outcome.mapping, outcome.timers = moved.mapping, _with_overdue(moved.timers, now)
        return outcome

    # ---- moving cases
    def migrate_case(self, case_id: int, from_id: int, to_id: int, actor, *, versions: tuple[int, int],
                     dry_run: bool = False) -> CaseOutcome:
        """Move one case (see `migrate_cases`)."""
        return self.migrate_cases([case_id], from_id, to_id, actor, versions=versions, dry_run=dry_run)[0]

    def migrate_cases(self, case_ids: list[int], from_id: int, to_id: int, actor, *, versions: tuple[int, int],
                      dry_run: bool = False, batch: int | None = None) -> list[CaseOutcome]:
        """Move cases, each atomically; a case that cannot move is left as it was and its outcome says
        why. A dry run does all but the writing.

        The cases go `batch` at a time: their rows are read in one read transaction, each workflow is
        restored, moved and serialized outside any transaction, and the batch's rows are then written
        in one short write transaction, each case guarded by its version (a case changed meanwhile
        writes nothing; it is computed again once, then reported as skipped). The store's write lock
        is held for a few statements a batch and is free while the next batch is computed, so people's
        commands meanwhile wait for no longer than one batch's writing."""
        outcomes: dict[int, CaseOutcome] = {}
        batch = batch or BATCH
        for first in range(0, len(case_ids), batch):
            chunk = list(case_ids[first:first + batch])
            conflicted = self._migrate_batch(chunk, from_id, to_id, actor, versions, dry_run, outcomes)
            if conflicted:
                for case_id in self._migrate_batch(conflicted, from_id, to_id, actor, versions, dry_run, outcomes):
                    outcomes[case_id] = CaseOutcome(case_id, None, "skipped",
                                                    note="conflict: 案件已被他人更新 / the case was changed meanwhile")
            time.sleep(0)  # let a waiting command's thread run before the next batch is read
        return [outcomes[case_id] for case_id in case_ids]

    def _migrate_batch(self, case_ids: list[int], from_id: int, to_id: int, actor, versions: tuple[int, int],
                       dry_run: bool, outcomes: dict[int, CaseOutcome]) -> list[int]:
        """Move these cases, recording each one's outcome; the ids of those changed meanwhile."""
        engine = self.engine
        now = engine.clock.now()
        with command_time(now), engine.db.read() as session:
            conn = session.connection()
            cases = rows.load_cases(conn, case_ids, with_state=True)
            pending = rows.pending_deadlines_of(conn, case_ids)
            tasks = rows.ready_tasks_of(conn, case_ids)
            alignment, old_specs = None, (None, {})
            if any(c["status"] == "open" and c["definition_id"] == from_id for c in cases.values()):
                alignment = self.alignment(session, from_id, to_id)
                old_specs = engine.specs.get(session, from_id)  # the live specs the alignment was made of
        plans = []
        with command_time(now):
            for case_id in case_ids:
                case = cases.get(case_id)
                if case is None:
                    outcomes[case_id] = CaseOutcome(case_id, None, "skipped", note="not_found")
                    continue
                timers = [d for d in pending.get(case_id, []) if d["spiff_id"] is not None]
                outcome, plan = self._prepare(case, alignment, old_specs, from_id, actor, versions, dry_run, now,
                                              timers, tasks.get(case_id, []))
                outcomes[case_id] = outcome
                if plan is not None:
                    plans.append(plan)
        if not plans:
            return []
        written, conflicted = [], []
        with command_time(now), command_actor(actor.username), engine.db.write() as session:
            conn = session.connection()
            for plan in plans:  # the guard first: a case changed meanwhile writes nothing at all
                (written if rows.save_case(conn, plan.case, plan.expected) else conflicted).append(plan)
            if written:
                conn.execute(_SET_DEFINITIONS, {"b_ids": [p.case["id"] for p in written], "v_definition_id": to_id})
                deadline_updates = [u for p in written for u in p.deadline_updates]
                if deadline_updates:
                    conn.execute(_SET_DEADLINE, deadline_updates)
                task_updates = [u for p in written for u in p.task_updates]
                if task_updates:
                    conn.execute(_SET_TASK, task_updates)
                rows.insert_events(conn, [r for p in written for r in p.event_rows])
        for plan in written:
            case = plan.case
            case.pop("state")
            case["definition_id"] = to_id
            engine.cache.put(case["id"], case["version"], plan.workflow, plan.known)
        return [p.case["id"] for p in conflicted]

    def _prepare(self, case: dict[str, Any], alignment: SpecAlignment | None, old_specs: tuple[Any, dict],
                 from_id: int, actor, versions: tuple[int, int], dry_run: bool, now: datetime,
                 pending: list[dict[str, Any]], tasks: list[dict[str, Any]]) -> tuple[CaseOutcome, _Plan | None]:
        """One case's outcome, and (unless a dry run or it cannot move) the rows to write for it."""
        engine = self.engine
        case_id = case["id"]
        outcome = CaseOutcome(case_id, case["number"], "would_move" if dry_run else "moved")
        if case["status"] != "open":
            outcome.status, outcome.note = "skipped", "closed"
            return outcome, None
        if case["definition_id"] != from_id:
            outcome.status, outcome.note = "skipped", "other_version"
            return outcome, None
        app = engine.application(case["type"])
        spec, subprocess_specs = old_specs
        workflow = rt.load_state(case["state"], spec, subprocess_specs, engine._script_engine(app))
        outcome.open_steps = _open_steps(workflow)
        try:
            moved = move(workflow, alignment, {d["spiff_id"]: d["started_at"] for d in pending}, now)
        except CannotMove as exc:
            outcome.status, outcome.blockers = "blocked", exc.blockers
            return outcome, None
        # The move keeps every open task (a reset keeps its id): the same ready steps, the same timers.
        ready = {t.spiff_id: t for t in rt.ready_human_tasks(workflow)}
        waiting = {t.spiff_id for t in rt.waiting_timers(workflow)}
        if set(ready) != {t["spiff_id"] for t in tasks} or waiting != {d["spiff_id"] for d in pending}:
            outcome.status = "blocked"
            outcome.blockers = [blocker("tasks", "not_placed", "the open tasks or timers would change")]
            return outcome, None
        outcome.mapping, outcome.timers = moved.mapping, _with_overdue(moved.timers, now)
        if dry_run:
            return outcome, None
        timers = {d["spiff_id"]: dict(d) for d in pending}
        deadline_updates = []
        for timer in moved.timers:  # the deadline row follows its timer: due, warning, kind
            row = timers[timer["spiff_id"]]
            due = timer["to"]
            warn = warning_at(row["started_at"], due)
            row.update(due_at=due, warning_at=warn, kind=timer["kind"],
                       warning_level="warning" if row["warning_level"] == "warning" and warn <= now else "normal",
                       estimated=engine.calendar.is_estimated(due.astimezone(ZONE).date()))
            deadline_updates.append({"b_id": row["id"], **{f"v_{k}": row[k] for k in _DEADLINE_COLUMNS}})
        by_kind = {d["kind"]: d for d in timers.values()}
        task_updates, known_tasks = [], {}
        for t in tasks:
            deadline = by_kind.get(t["name"])
            due = deadline["due_at"] if deadline else t["due_at"]
            title = ready[t["spiff_id"]].title
            if due != t["due_at"] or title != t["title"]:
                task_updates.append({"b_id": t["id"], "v_due_at": due, "v_title": title})
            known_tasks[t["spiff_id"]] = rows.TaskRow(t["id"], t["spiff_id"], t["name"], due)
        data = {"from": versions[0], "to": versions[1], "by": actor.username, "mapping": moved.mapping,
                "deadlines": [{"kind": t["kind"], "step": t["step"], "from": _iso(t["from"]), "to": _iso(t["to"])}
                              for t in moved.timers]}
        event_rows, head_seq, head_hash = chain_rows(case_id, case["last_event_seq"], case["last_event_hash"], now,
                                                     [PendingEvent("definition_migrated", data, actor.username)])
        expected = case["version"]
        case.update(state=rt.dump_state(workflow), version=expected + 1, updated_at=now, last_event_seq=head_seq,
                    last_event_hash=head_hash, **rows.due_columns(known_tasks.values(), timers.values()))
        return outcome, _Plan(case, expected, deadline_updates, task_updates, event_rows, workflow,
                              Known(timers, known_tasks))


@dataclass
class _Plan:
    """The rows one moved case writes, and its live workflow for the cache once they are committed."""
    case: dict[str, Any]  # its row as it will be written (state, version, chain head)
    expected: int  # the case version it was read at
    deadline_updates: list[dict[str, Any]]
    task_updates: list[dict[str, Any]]
    event_rows: list[dict[str, Any]]
    workflow: Any
    known: Known


_DEADLINE_COLUMNS = ("due_at", "warning_at", "warning_level", "kind", "estimated")
_case_t, _deadline_t, _task_t = Case.__table__, Deadline.__table__, HumanTask.__table__
_SET_DEFINITIONS = update(_case_t).where(_case_t.c.id.in_(bindparam("b_ids", expanding=True))).values(
    definition_id=bindparam("v_definition_id"))
_SET_DEADLINE = update(_deadline_t).where(_deadline_t.c.id == bindparam("b_id")).values(
    {name: bindparam(f"v_{name}") for name in _DEADLINE_COLUMNS})
_SET_TASK = update(_task_t).where(_task_t.c.id == bindparam("b_id")).values(
    due_at=bindparam("v_due_at"), title=bindparam("v_title"))


def _open_steps(workflow) -> list[str]:
    return sorted({t.task_spec.bpmn_id for t in workflow.tasks.values()
                   if t.state & OPEN and _is_step(t.task_spec)})


def _with_overdue(timers: list[dict[str, Any]], now: datetime) -> list[dict[str, Any]]:
    return [{**t, "overdue": t["to"] < now} for t in timers]
