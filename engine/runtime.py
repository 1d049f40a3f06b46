"""SpiffWorkflow at run time: one live workflow per case, its state stored without the spec.

Everything fengqiao needs from a running BpmnWorkflow goes through here: engine steps that
do not stall on deep (looping) task trees, the human tasks that are ready, the timers that
wait and when they fire, messages, a serializer that leaves the spec out, and `compact`, which
takes the finished iterations of a loop out of the task tree so that a case's state does not
grow with its age.
"""
from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Mapping
from uuid import UUID

import SpiffWorkflow.bpmn.specs.event_definitions.timer as _spiff_timer
from SpiffWorkflow.bpmn import BpmnEvent, BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter, WorkflowConverter
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.exceptions import SpiffWorkflowException, WorkflowException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.specs.event_definitions import MessageEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from . import state_codec
from .clock import current_time


class _ClockDatetime(datetime):
    """SpiffWorkflow's timer module calls datetime.now(); make that the engine's clock."""

    @classmethod
    def now(cls, tz=None):
        now = current_time()
        return now.astimezone(tz) if tz is not None else now.astimezone().replace(tzinfo=None)


def install_clock() -> None:
    """Route SpiffWorkflow's timers through `engine.clock` (idempotent, process-wide)."""
    _spiff_timer.datetime = _ClockDatetime


install_clock()

# Scripts and expressions in BPMN files are trusted, but they get only what they need.
_SAFE_BUILTINS = {name: getattr(builtins, name) for name in (
    "abs", "all", "any", "bool", "dict", "enumerate", "filter", "float", "int", "isinstance", "len",
    "list", "map", "max", "min", "range", "reversed", "round", "set", "sorted", "str", "sum", "tuple",
    "zip", "True", "False", "None", "ValueError", "KeyError")}


class ScriptFailed(Exception):
    """A BPMN script or expression raised: a defect of the deployed definition."""


def make_script_engine(functions: Mapping[str, Callable[..., Any]]) -> PythonScriptEngine:
    env_globals = {"__builtins__": _SAFE_BUILTINS, **functions}
    return PythonScriptEngine(environment=TaskDataEnvironment(env_globals))


PASSED_KEY = "fengqiao_passed"  # in the stored state: the BPMN ids of steps passed in compacted iterations
_PASSED_ATTR = "_fq_passed"  # the same, on the live workflow


class _StateOnlyConverter(BpmnWorkflowConverter):
    """Serialize a workflow without its spec; restore it onto a spec the caller already has.

    Besides SpiffWorkflow's own keys the state holds `fengqiao_passed`: the BPMN ids of the steps
    completed in loop iterations that `compact` took out of the tree (for the diagram's marks)."""

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        passed = workflow.__dict__.get(_PASSED_ATTR)
        if passed:
            dct[PASSED_KEY] = sorted(passed)
        return dct

    def mapping_to_dict(self, mapping, **kwargs):
        """A workflow's tasks straight through the task converter (what the registry would call for each,
        without its dispatch per task); any other mapping as SpiffWorkflow converts it."""
        task_dict = getattr(self.registry, "fq_task_dict", None)
        if task_dict is not None and not kwargs and mapping and type(next(iter(mapping.values()))) is Task:
            return {(_id_text(v) if v.id == k else str(k)): task_dict(v) for k, v in mapping.items()}
        return super().mapping_to_dict(mapping, **kwargs)

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs or {}, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        workflow.__dict__[_PASSED_ATTR] = set(dct.pop(PASSED_KEY, ()))
        return workflow


def _id_text(task: Task) -> str:
    """str(task.id), kept on the task: the text of a UUID costs several times a lookup, and a state
    names each task three times (its key, its parent's children, its children's parent)."""
    found = task.__dict__.get("_fq_id")
    if found is None or found[0] is not task.id:
        found = task.__dict__["_fq_id"] = (task.id, str(task.id))
    return found[1]


_AHEAD = TaskState.FUTURE | TaskState.PREDICTED_MASK  # the states of a task not reached yet


class _FinishedTaskMemo(TaskConverter):
    """Serialize a finished task once: it no longer changes, and a long case has thousands.

    The memo is checked against everything the conversion reads (state, children, the data
    objects), so a task SpiffWorkflow does touch again is converted afresh.

    A task not reached yet (FUTURE, LIKELY, MAYBE: the steps ahead, most of a young case's tree) with
    no data and no internal data of its own is memoized too: its form is then fixed by its state, its
    links and the *keys* of its parent's data (its delta lists them as deleted), all in the key."""

    def __init__(self, target_class, registry, typename=None):
        super().__init__(target_class, registry, typename)
        registry.fq_task_dict = self.typed_dict  # _StateOnlyConverter.mapping_to_dict calls it

    def typed_dict(self, task):
        """What the registry's conversion of a task gives: `to_dict` with the task's typename."""
        dct = self.to_dict(task)
        dct["typename"] = self.registry.typenames[Task]
        return dct

    def to_dict(self, task):
        state = task.state
        parent = task.parent  # `compact` may hang a task under another parent: its delta changes then
        if state & TaskState.FINISHED_MASK:
            key = (state, task.last_state_change, tuple(task._children), id(task.data), task._parent,
                   id(parent.data) if parent is not None else None)
        elif state & _AHEAD and not task.data and not task.internal_data:
            key = (state, task.last_state_change, tuple(task._children), task._parent, task.triggered,
                   tuple(parent.data) if parent is not None else None)
        else:
            return self._task_dict(task, parent)
        memo = task.__dict__.get("_fq_memo")
        if memo is None or memo[0] != key:
            memo = task.__dict__["_fq_memo"] = (key, self._task_dict(task, parent))
        return dict(memo[1])

    def _task_dict(self, task, parent):
        """What SpiffWorkflow's TaskConverter.to_dict gives (3.2), with the ids' texts kept on the tasks."""
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {"updates": DeepMerge.get_updated_keys(parent.data, task.data),
                     "deletions": DeepMerge.get_deleted_keys(parent.data, task.data)}
        tasks = task.workflow.tasks
        children = []
        for child_id in task._children:
            child = tasks.get(child_id)
            children.append(_id_text(child) if child is not None and child.id == child_id else str(child_id))
        return {"id": _id_text(task), "parent": _id_text(parent) if parent is not None else None,
                "children": children, "last_state_change": task.last_state_change, "state": task.state,
                "task_spec": task.task_spec.name, "triggered": task.triggered,
                "internal_data": self.registry.convert(task.internal_data), "data": data, "delta": delta}


_registry = BpmnWorkflowSerializer.configure({**SPIFF_CONFIG, BpmnWorkflow: _StateOnlyConverter,
                                              Task: _FinishedTaskMemo})
_serializer = BpmnWorkflowSerializer(_registry)


def state_dict(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The workflow's state as the serializer gives it (without the spec), with its version."""
    dct = _serializer.to_dict(workflow)
    dct[_serializer.VERSION_KEY] = _serializer.VERSION
    return dct


def dump_state(workflow: BpmnWorkflow) -> bytes:
    """The stored form of the workflow's state (engine/state_codec.py): serialized once, to bytes."""
    return state_codec.encode(state_dict(workflow))


CLOSED_KEY = "fengqiao_closed"  # a closed case's state: only what its diagram shows (`closed_state`)


def closed_state(workflow: BpmnWorkflow) -> bytes:
    """The stored state of a case that has closed: the BPMN ids of every step it passed, nothing more.

    A closed case's workflow has finished (no task waits, no timer, no message), and nothing runs it
    again: messages, task commands and version migrations refuse or skip closed cases, and a review
    request (复查) can only come while the petition is still open, in its window. What is read of a
    closed case's state is its diagram's marks (`progress`): those stay."""
    done = {t.task_spec.name for t in _all_tasks(workflow) if t.state == TaskState.COMPLETED}
    done.update(workflow.__dict__.get(_PASSED_ATTR) or ())  # what `progress` reads from a full state
    return state_codec.encode({CLOSED_KEY: 1, PASSED_KEY: sorted(done)})


def is_closed_state(dct: Mapping[str, Any]) -> bool:
    return bool(dct.get(CLOSED_KEY))


class ClosedState(ValueError):
    """A closed case's workflow is not kept: its state holds only the steps it passed."""


def load_state(state: bytes | str, spec, subprocess_specs, script_engine: PythonScriptEngine) -> BpmnWorkflow:
    dct = state_codec.decode(state)
    if is_closed_state(dct):
        raise ClosedState("已结案案件只保留经过的步骤，不保留工作流 / a closed case keeps the steps it passed, "
                          "not its workflow")
    _serializer.migrate(dct)
    workflow = _serializer.from_dict(dct, spec=spec, subprocess_specs=subprocess_specs)
    workflow.script_engine = script_engine
    return _flat(workflow)


def new_workflow(spec, subprocess_specs, script_engine: PythonScriptEngine, data: Mapping[str, Any]) -> BpmnWorkflow:
    workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=script_engine)
    workflow.task_tree.data.update(data)
    for task in workflow.task_tree.children:
        task.data.update(data)
    return _flat(workflow)


def _flat(workflow: BpmnWorkflow) -> BpmnWorkflow:
    """After each task, SpiffWorkflow re-checks waiting tasks by walking the tree to depth 1000;
    use the flat walk instead, which sees every task however long the case has looped."""
    workflow.update_waiting_tasks = lambda: _update_waiting(workflow)
    return workflow


def _all_tasks(workflow: BpmnWorkflow) -> Iterable:
    yield from workflow.tasks.values()
    for sub in workflow.subprocesses.values():
        yield from sub.tasks.values()


def run_engine_steps(workflow: BpmnWorkflow) -> None:
    """Run every ready automatic task until only human tasks and waiting events remain.

    SpiffWorkflow's own do_engine_steps walks the task tree from the root with a depth limit
    of 1000 and silently stops beyond it, so a case that loops (re-mediation, reminders) would
    stall. The flat task mapping has no depth, so scan that instead.
    """
    try:
        while True:
            ran = 0
            for sub in sorted(workflow.get_active_subprocesses(), key=lambda s: s.depth, reverse=True):
                while _run_ready(sub.tasks.values()):
                    ran += 1
                if sub.parent_task_id is not None:
                    parent = workflow.get_task_from_id(sub.parent_task_id)
                    parent.task_spec._update(parent)
            ran += _run_ready(workflow.tasks.values())
            ran += _update_waiting(workflow)
            if not ran:
                break
        workflow.refresh_timers()
        # A timer that has fired makes its branch ready: run what follows it too.
        if _run_ready(_all_tasks(workflow)):
            run_engine_steps(workflow)
    except SpiffWorkflowException as exc:
        raise ScriptFailed(str(exc)) from exc


def _update_waiting(workflow: BpmnWorkflow) -> int:
    """What SpiffWorkflow's update_waiting_tasks does, over the flat map (it walks the depth-limited
    tree): let waiting joins and gateways re-check whether they may proceed. Returns how many became ready."""
    became_ready = 0
    for task in [t for t in _all_tasks(workflow) if t.state == TaskState.WAITING]:
        if task.task_spec.manual:
            continue
        task.task_spec._update(task)
        became_ready += task.state == TaskState.READY
    return became_ready


def _run_ready(tasks: Iterable) -> int:
    ready = [t for t in tasks if t.state == TaskState.READY and not t.task_spec.manual]
    for task in ready:
        if task.state == TaskState.READY:
            task.run()
    return len(ready)


@dataclass(frozen=True)
class ReadyTask:
    spiff_id: str
    spec_name: str
    title: str
    lane: str | None
    properties: Mapping[str, str]


def task_properties(task_spec) -> dict[str, str]:
    return dict((getattr(task_spec, "extensions", None) or {}).get("properties", {}) or {})


def ready_human_tasks(workflow: BpmnWorkflow) -> list[ReadyTask]:
    return [
        ReadyTask(str(t.id), t.task_spec.name, t.task_spec.bpmn_name or t.task_spec.name,
                  t.task_spec.lane, task_properties(t.task_spec))
        for t in _all_tasks(workflow)
        if t.state == TaskState.READY and t.task_spec.manual
    ]


@dataclass(frozen=True)
class WaitingTimer:
    spiff_id: str
    name: str  # the deadline kind: the timer's `deadline` property, else its name
    due_at: datetime


def waiting_timers(workflow: BpmnWorkflow) -> list[WaitingTimer]:
    timers = []
    for task in workflow.event_manager.tasks.values():
        definition = task.task_spec.event_definition
        spec = task.task_spec
        if isinstance(definition, MultipleEventDefinition) and task.state == TaskState.WAITING:
            # An event-based gateway waits for all its events at once (a message, or a window's end).
            # Its deadline is its timer's, named by the `deadline` property of the timer's catch event
            # (SpiffWorkflow moves the catch events' definitions onto the gateway).
            timer = next((d for d in definition.event_definitions if isinstance(d, TimerEventDefinition)), None)
            if timer is None:
                continue
            spec = next((out for out in task.task_spec.outputs if task_properties(out).get("deadline")), task.task_spec)
        elif not isinstance(definition, TimerEventDefinition) or task.state != TaskState.WAITING:
            continue
        value = task.internal_data.get("event_value")
        if isinstance(value, dict):  # cycle timers keep {'next': ...}
            value = value.get("next")
        if not value:
            continue
        kind = task_properties(spec).get("deadline") or spec.bpmn_name or spec.name
        due = datetime.fromisoformat(value)
        timers.append(WaitingTimer(str(task.id), kind, due if due.tzinfo else due.replace(tzinfo=timezone.utc)))
    return timers


def move_timer(workflow: BpmnWorkflow, spiff_id: str, due: datetime) -> bool:
    """Set a waiting date timer's fire time (a deadline extension); False if it no longer waits."""
    task = find_task(workflow, spiff_id)
    if task is None or task.state != TaskState.WAITING or not isinstance(
            getattr(task.task_spec, "event_definition", None), TimerEventDefinition):
        return False
    task.internal_data["event_value"] = due.isoformat()
    return True


def find_task(workflow: BpmnWorkflow, spiff_id: str):
    try:
        return workflow.get_task_from_id(UUID(spiff_id))
    except (ValueError, KeyError):
        return None


def complete_task(workflow: BpmnWorkflow, spiff_id: str, data: Mapping[str, Any]) -> bool:
    """Complete a ready human task with form data; False if it is no longer ready."""
    task = find_task(workflow, spiff_id)
    if task is None or task.state != TaskState.READY or not task.task_spec.manual:
        return False
    task.set_data(**data)
    try:
        task.run()
    except SpiffWorkflowException as exc:
        raise ScriptFailed(str(exc)) from exc
    run_engine_steps(workflow)
    return True


def deliver_message(workflow: BpmnWorkflow, name: str, payload: Mapping[str, Any]) -> bool:
    """Deliver a named message; False if nothing in the case waits for it."""
    try:
        workflow.send_event(BpmnEvent(MessageEventDefinition(name), dict(payload)))
    except WorkflowException:
        return False
    run_engine_steps(workflow)
    return True


def fire_timers(workflow: BpmnWorkflow) -> None:
    run_engine_steps(workflow)


def is_completed(workflow: BpmnWorkflow) -> bool:
    """True when no task is left unfinished.

    Not BpmnWorkflow.is_completed(): it searches the task tree only to depth 1000, so a case
    that has looped long enough looks finished to it (and it then marks itself completed)."""
    return not any(t.state & TaskState.NOT_FINISHED_MASK for t in _all_tasks(workflow))


def workflow_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    """The data of the case as the process sees it now: the last completed task's data.

    Data set on a side branch never merges back into the main path (SpiffWorkflow copies data
    into each branch), so when the last completed task is on one, the case's data is that of the
    main path's last completed task instead; otherwise finishing a 督办 task opened by a breached
    deadline would put back the data as it was when the deadline fired."""
    if is_completed(workflow):
        return dict(workflow.data)
    last = workflow.last_task
    if last is not None and on_side_branch(last):
        last = _last_main_task(workflow)
    return dict(last.data) if last is not None else dict(workflow.task_tree.data)


SIDE_BRANCH = ("branch", "side")  # the property that marks the first node of a side branch


def _starts_side_branch(spec) -> bool:
    return (isinstance(spec, BoundaryEvent) and not spec.cancel_activity) or \
        task_properties(spec).get(SIDE_BRANCH[0]) == SIDE_BRANCH[1]


def on_side_branch(task) -> bool:
    """True for a task after a non-interrupting boundary event, or after a node whose property
    `branch` is `side` (a parallel track that lives beside the main path, e.g. reminders)."""
    node = task
    while node is not None:
        if _starts_side_branch(node.task_spec):
            return True
        node = node.parent
    return False


def _last_main_task(workflow: BpmnWorkflow):
    done = [t for t in workflow.tasks.values() if t.state == TaskState.COMPLETED]
    for task in sorted(done, key=lambda t: t.last_state_change, reverse=True):
        if not on_side_branch(task):
            return task
    return None


# ------------------------------------------------------------------ state that does not grow with age
def compact(workflow: BpmnWorkflow) -> int:
    """Take the finished iterations of loops out of the task tree; returns how many tasks went.

    SpiffWorkflow 3.2 keeps every task it ever created: a loop in the diagram (a progress report
    every 15 days, a dispute sent back to mediation) makes new tasks below the previous iteration's,
    so the tree, the stored state and every walk over them grow with the case's age, and past a
    depth of 1000 the library's own iterators (a terminate end event's cancelling, joins, end joins)
    stop seeing the newest tasks. What an auditor needs of a finished iteration is in the case's
    events; the tree needs only what is still running. SpiffWorkflow 3.2 offers no pruning of its
    own: `reset_from_task_id` / `Task.reset_branch` drop a task's *descendants* (to run a branch
    again), and the serializer always writes every task, so the engine splices the tree itself.

    On the path from the root to each unfinished task, when a task spec occurs twice, the tasks from
    the earlier occurrence down to (not including) the later one are one finished loop iteration;
    the later task is hung where the earlier one was and the iteration is removed, with the finished
    branches hanging off it. An iteration stays until all of this holds:
    - every task in it, and in every branch hanging off it, is finished (COMPLETED or CANCELLED): a
      waiting timer, an open 督办 task, a join still waiting keep it;
    - it holds neither the workflow's `last_task` nor, when that is on a side branch, the main path's
      last completed task (`workflow_data` reads the case's data from them);
    - a side-branch marker in it (a non-interrupting boundary event, a `branch=side` node) is still
      marked above or at the later occurrence, so `on_side_branch` answers the same for what stays;
    - a call activity or sub-process in it has finished (its sub-workflow is removed with it).
    Everything a running task reads of the tree stays: its parent's data was copied into it when it
    became ready, boundary-event joins find their split as the nearest ancestor (kept), parallel and
    inclusive joins look at their own arrivals (not finished ones of earlier iterations, which
    SpiffWorkflow's own checks skip or would miscount), timers and messages wait on unfinished tasks.

    Limits: (1) at a process's normal (non-terminate) end SpiffWorkflow's end join merges into the
    final data the data of every side branch that ended earlier; those of removed iterations no longer
    take part (the bundled processes set no data on side branches, and the main path's values win that
    merge anyway). (2) `reset_from_task_id` can only go back to tasks still in the tree. (3) a BPMN
    standard-loop or multi-instance activity keeps its finished instances while it runs (they are
    children of the running activity, not a loop through the graph); they go with their iteration
    once the activity has finished inside a loop. (4) The diagram's "done" marks of removed tasks are
    kept as their BPMN ids (`fengqiao_passed` in the state, one entry per element, not per
    iteration), which `progress` adds back. (5) A side branch that reached a plain end event leaves
    SpiffWorkflow's end join waiting (for every other token) until the next end event supersedes it or
    the case ends, so its iteration stays that long: one iteration more, not one per cycle; an open
    督办 task keeps its iteration the same way. (6) A non-interrupting *cycle* timer waits on after
    firing, so its iteration stays while it runs (the bundled processes have none).
    """
    passed = workflow.__dict__.setdefault(_PASSED_ATTR, set())
    if not _may_loop(workflow.spec) and not any(_may_loop(sub.spec) for sub in workflow.subprocesses.values()):
        return 0  # no cycle in any of its graphs: no task spec can occur twice on a path, nothing to take out
    removed = _compact_tree(workflow, workflow, passed)
    for parent_id, sub in list(workflow.subprocesses.items()):
        if workflow.subprocesses.get(parent_id) is sub:  # not removed with an iteration meanwhile
            removed += _compact_tree(workflow, sub, passed)
    return removed


def _may_loop(spec) -> bool:
    """Whether the process graph `spec` has a cycle (worked out once per spec, kept on it)."""
    found = spec.__dict__.get("_fq_loops")
    if found is None:
        found = spec.__dict__["_fq_loops"] = _has_cycle(spec.task_specs.values())
    return found


def _has_cycle(task_specs) -> bool:
    """A depth-first walk along the specs' outputs that meets a spec still on its path."""
    state: dict[int, int] = {}  # id of a spec → 1 on the path, 2 done
    for first in task_specs:
        if id(first) in state:
            continue
        state[id(first)] = 1
        stack = [(first, iter(first.outputs))]
        while stack:
            node, outputs = stack[-1]
            nxt = next(outputs, None)
            if nxt is None:
                state[id(node)] = 2
                stack.pop()
                continue
            seen = state.get(id(nxt))
            if seen == 1:
                return True
            if seen is None:
                state[id(nxt)] = 1
                stack.append((nxt, iter(nxt.outputs)))
    return False


def _compact_tree(top: BpmnWorkflow, wf, passed: set[str]) -> int:
    protected = set()
    if wf.last_task is not None:
        protected.add(wf.last_task.id)
        if wf is top and on_side_branch(wf.last_task):
            main = _last_main_task(wf)
            if main is not None:
                protected.add(main.id)
    finished = TaskState.FINISHED_MASK
    frontier = [t for t in wf.tasks.values()
                if not t.has_state(finished) and (t.parent is None or t.parent.has_state(finished))]
    removed = 0
    for live in frontier:
        path, node = [], live
        while node is not None:
            path.append(node)
            node = node.parent
        path.reverse()  # the root first, `live` last
        kept: list[Task] = []
        seen: dict[str, list[int]] = {}
        for node in path:
            for k in seen.get(node.task_spec.name, ()):
                if k > 0 and _removable(top, kept, k, node, protected):
                    removed += _splice(top, wf, kept, k, node, passed)
                    kept = kept[:k]
                    seen = {}
                    for i, task in enumerate(kept):
                        seen.setdefault(task.task_spec.name, []).append(i)
                    break
            seen.setdefault(node.task_spec.name, []).append(len(kept))
            kept.append(node)
    return removed


def _iteration(span: list, after) -> Iterable:
    """The tasks of an iteration: the span on the path and every branch hanging off it, not `after`."""
    for i, task in enumerate(span):
        on_path = span[i + 1] if i + 1 < len(span) else after
        yield task
        stack = [c for c in task.children if c is not on_path]
        while stack:
            branch = stack.pop()
            yield branch
            stack.extend(branch.children)


def _removable(top: BpmnWorkflow, kept: list, k: int, after, protected: set) -> bool:
    span = kept[k:]
    for task in _iteration(span, after):
        if not task.has_state(TaskState.FINISHED_MASK) or task.id in protected:
            return False
        if task.id in top.subprocesses and not _subprocess_finished(top, task.id):
            return False
    if any(_starts_side_branch(t.task_spec) for t in span):
        return _starts_side_branch(after.task_spec) or any(_starts_side_branch(t.task_spec) for t in kept[:k])
    return True


def _subprocess_finished(top: BpmnWorkflow, task_id) -> bool:
    sub = top.subprocesses[task_id]
    return all(t.has_state(TaskState.FINISHED_MASK) and (t.id not in top.subprocesses
                                                         or _subprocess_finished(top, t.id))
               for t in sub.tasks.values())


def _splice(top: BpmnWorkflow, wf, kept: list, k: int, after, passed: set[str]) -> int:
    """Hang `after` where kept[k] was and remove kept[k:] with their branches; how many tasks went."""
    anchor, first, last = kept[k - 1], kept[k], kept[-1]
    gone = list(_iteration(kept[k:], after))
    last._children.remove(after.id)
    anchor._children[anchor._children.index(first.id)] = after.id
    after._parent = anchor.id
    removed = 0
    for task in gone:
        removed += _forget(top, wf, task, passed)
    return removed


def _forget(top: BpmnWorkflow, wf, task, passed: set[str]) -> int:
    if task.state == TaskState.COMPLETED:
        passed.add(task.task_spec.name)
    top.event_manager.remove_task(task)
    removed = 1
    sub = top.subprocesses.pop(task.id, None)
    if sub is not None:
        for inner in list(sub.tasks.values()):
            removed += _forget(top, sub, inner, passed)
    wf.tasks.pop(task.id, None)
    return removed


def progress(state: bytes | str | None) -> tuple[set[str], set[str]]:
    """From a stored state, the BPMN ids of the steps passed (completed) and of those open now (ready,
    waiting or started), without restoring the workflow: what a case's diagram shows."""
    return progress_of(state_codec.decode(state))


def progress_of(dct: Mapping[str, Any]) -> tuple[set[str], set[str]]:
    """`progress` of a state already decoded to its dict."""
    done, current = set(), set()
    open_states = TaskState.READY | TaskState.WAITING | TaskState.STARTED

    def walk(tasks: Mapping[str, Any]) -> None:
        for task in tasks.values():
            name, value = task.get("task_spec"), task.get("state", 0)
            if not name:
                continue
            if value == TaskState.COMPLETED:
                done.add(name)
            elif value & open_states:
                current.add(name)

    walk(dct.get("tasks") or {})
    for sub in (dct.get("subprocesses") or {}).values():
        walk(sub.get("tasks") or {})
    done.update(dct.get(PASSED_KEY) or ())  # passed in loop iterations `compact` took out of the tree
    return done, current
