"""The case engine's commands: each one transaction that commits everything or nothing.

A command reads the clock once, loads (or reuses) the case's live workflow, moves it, and then
writes in one unit of work: the workflow state, the human-task and deadline rows, the case
row (guarded by its version), the hash-chained events. A command on a stale version or on a
task that is no longer ready raises Conflict and leaves the store as it was.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from . import runtime as rt
from .application import SYSTEM, Actor, CaseSnapshot, ProcessApplication
from .audit import PendingEvent, chain_rows, insert_events
from .calendar import ZONE, BusinessCalendar, warning_at
from .clock import Clock, command_time, current_time
from .db import Database
from .definitions_repo import SpecCache, latest
from .errors import Conflict, Forbidden, InvalidInput, NotFound
from .forms import validate_form
from .numbering import next_case_number
from .store import Case, CaseState, Deadline, HumanTask, User


@dataclass(frozen=True)
class CommandResult:
    case_id: int
    version: int
    status: str


@dataclass
class _Ctx:
    """One command in progress."""
    session: Session
    now: datetime
    actor: Actor
    app: ProcessApplication
    case: dict[str, Any]
    workflow: Any
    events: list[PendingEvent] = field(default_factory=list)

    def event(self, kind: str, data: dict[str, Any] | None = None, actor: str | None = None) -> None:
        self.events.append(PendingEvent(kind, data or {}, actor or self.actor.username))

    @property
    def snapshot(self) -> CaseSnapshot:
        c = self.case
        return CaseSnapshot(c["id"], c["type"], c["level"], c["jurisdiction"], c["data"])


class _WorkflowCache:
    """Live workflows by case, valid for exactly one case version.

    A command takes the workflow out (so no two threads ever move the same object) and puts
    it back only after its transaction committed; a failed command simply drops it.
    """

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict[int, tuple[int, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, case_id: int, version: int):
        with self._lock:
            item = self._items.pop(case_id, None)
        return item[1] if item is not None and item[0] == version else None

    def put(self, case_id: int, version: int, workflow) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._items[case_id] = (version, workflow)
            self._items.move_to_end(case_id)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class CaseEngine:
    def __init__(self, db: Database, applications: Mapping[str, ProcessApplication], calendar: BusinessCalendar,
                 clock: Clock, *, cache_size: int = 256,
                 default_application: Callable[[str], ProcessApplication] | None = None):
        self.db = db
        self.applications = dict(applications)
        self.default_application = default_application
        self.calendar = calendar
        self.clock = clock
        self.specs = SpecCache()
        self.cache = _WorkflowCache(cache_size)
        self._script_engines: dict[str, Any] = {}

    # ------------------------------------------------------------------ helpers
    def application(self, case_type: str) -> ProcessApplication:
        app = self.applications.get(case_type)
        if app is None and self.default_application is not None:
            app = self.applications[case_type] = self.default_application(case_type)
        if app is None:
            raise InvalidInput(f"未知的案件类型“{case_type}” / unknown case type {case_type!r}",
                               fields={"type": "未知的案件类型 / unknown case type"})
        return app

    def _calendar_functions(self) -> dict[str, Callable[..., Any]]:
        calendar = self.calendar

        def due_in_days(days, working_days=False):
            """ISO due time `days` after now, counted as DOMAIN.md §5 says (for BPMN timers)."""
            return calendar.due_after(current_time(), int(days), working_days=bool(working_days)).at.isoformat()

        def due_in_working_days(days):
            return due_in_days(days, True)

        return {"due_in_days": due_in_days, "due_in_working_days": due_in_working_days}

    def _script_engine(self, app: ProcessApplication):
        engine = self._script_engines.get(app.key)
        if engine is None:
            engine = self._script_engines[app.key] = rt.make_script_engine(
                {**self._calendar_functions(), **app.script_functions()})
        return engine

    def _load_case(self, session: Session, case_id: int) -> dict[str, Any]:
        row = session.execute(select(Case.__table__).where(Case.id == case_id)).mappings().first()
        if row is None:
            raise NotFound(f"案件 {case_id} 不存在 / case {case_id} not found")
        return dict(row)

    def _workflow_for(self, session: Session, case: dict[str, Any], app: ProcessApplication):
        workflow = self.cache.take(case["id"], case["version"])
        if workflow is None:
            spec, subprocess_specs = self.specs.get(session, case["definition_id"])
            state = session.scalar(select(CaseState.state).where(CaseState.case_id == case["id"]))
            workflow = rt.load_state(state, spec, subprocess_specs, self._script_engine(app))
        return workflow

    def _run(self, actor: Actor, body: Callable[[Session, datetime], "_Ctx"]) -> CommandResult:
        now = self.clock.now()
        with command_time(now):
            with self.db.write() as session:
                ctx = body(session, now)
            # Committed: the live workflow is good for the case's new version.
            self.cache.put(ctx.case["id"], ctx.case["version"], ctx.workflow)
        return CommandResult(ctx.case["id"], ctx.case["version"], ctx.case["status"])

    # ------------------------------------------------------------------ commands
    def start_case(self, case_type: str, data: Mapping[str, Any], actor: Actor) -> CommandResult:
        """Register a new case of a deployed type with its register form."""
        app = self.application(case_type)
        validate_form(app.form_schema("register"), data, form_title="登记")
        data = dict(data)

        def body(session: Session, now: datetime) -> _Ctx:
            definition = latest(session, case_type)
            if definition is None:
                raise InvalidInput(f"流程“{case_type}”尚未部署 / process {case_type!r} is not deployed",
                                   fields={"type": "尚未部署 / not deployed"})
            init = app.initial_case(data, actor)
            case_data = {**data, **init.data}
            spec, subprocess_specs = self.specs.get(session, definition.id)
            workflow = rt.new_workflow(spec, subprocess_specs, self._script_engine(app),
                                       {**case_data, "level": init.level, "jurisdiction": init.jurisdiction})
            number = next_case_number(session, case_type, app.number_prefix, now.astimezone(ZONE).year)
            case_id = session.execute(insert(Case).returning(Case.id), [{
                "number": number, "type": case_type, "definition_id": definition.id, "status": "open",
                "level": init.level, "jurisdiction": init.jurisdiction, "flags": list(init.flags),
                "repeat_of": init.repeat_of, "data": case_data, "version": 0, "last_event_seq": 0,
                "last_event_hash": "", "created_at": now, "updated_at": now}]).scalar_one()
            session.execute(insert(CaseState), [{"case_id": case_id, "state": ""}])
            case = self._load_case(session, case_id)
            ctx = _Ctx(session, now, actor, app, case, workflow)
            ctx.event("case_created", {"number": number, "type": case_type, "definition_version": definition.version,
                                       "level": init.level, "jurisdiction": init.jurisdiction, "data": case_data})
            rt.run_engine_steps(workflow)
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    def complete_task(self, task_id: int, data: Mapping[str, Any], actor: Actor,
                      expected_version: int | None = None) -> CommandResult:
        """Complete a ready task with form data validated against its step's schema."""

        def body(session: Session, now: datetime) -> _Ctx:
            task, case, app = self._task_and_case(session, task_id)
            self._check_version(case, expected_version)
            self._require_worker(session, task, actor)
            validate_form(app.form_schema(task["name"]), data, form_title=task["title"])
            workflow = self._workflow_for(session, case, app)
            ctx = _Ctx(session, now, actor, app, case, workflow)
            before = rt.workflow_data(workflow)
            if not rt.complete_task(workflow, task["spiff_id"], data):
                raise Conflict("该任务已不在待办状态 / the task is no longer ready")
            session.execute(update(HumanTask).where(HumanTask.id == task["id"]).values(
                status="completed", completed_at=now, completed_by=actor.username))
            changes = {k: {"before": before.get(k), "after": v} for k, v in data.items() if before.get(k) != v}
            ctx.event("task_completed", {"task_id": task["id"], "step": task["name"], "data": dict(data),
                                         "changes": changes})
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    def send_message(self, case_id: int, name: str, data: Mapping[str, Any], actor: Actor) -> CommandResult:
        """Deliver a named message (court result, withdrawal, review request …) to a waiting case."""
        if not isinstance(data, dict):
            raise InvalidInput("消息数据必须是 JSON 对象 / message data must be a JSON object",
                               fields={"data": "应为对象 / must be an object"})

        def body(session: Session, now: datetime) -> _Ctx:
            case = self._load_case(session, case_id)
            app = self.application(case["type"])
            if case["status"] != "open":
                raise Conflict("案件已结案，不能再接收消息 / the case is closed")
            validate_form(app.form_schema(f"message_{name}"), data, form_title=name)
            workflow = self._workflow_for(session, case, app)
            ctx = _Ctx(session, now, actor, app, case, workflow)
            if not rt.deliver_message(workflow, name, data):
                raise Conflict(f"案件当前不在等待消息“{name}” / the case is not waiting for message {name!r}")
            ctx.event("message_received", {"name": name, "data": dict(data)})
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    def claim_task(self, task_id: int, actor: Actor) -> CommandResult:
        def change(ctx: _Ctx, task: dict) -> None:
            if task["assignee"] == actor.username:
                return
            if task["assignee"]:
                raise Conflict(f"该任务已由 {task['assignee']} 认领 / already claimed by {task['assignee']}")
            self._require_worker(ctx.session, task, actor)
            self._set_assignee(ctx, task, actor.username, "task_claimed")
        return self._task_command(task_id, actor, change)

    def unclaim_task(self, task_id: int, actor: Actor) -> CommandResult:
        def change(ctx: _Ctx, task: dict) -> None:
            if task["assignee"] != actor.username and not actor.has_role("admin"):
                raise Forbidden("只能退回自己认领的任务 / you can only release a task you claimed")
            if task["assignee"]:
                self._set_assignee(ctx, task, None, "task_unclaimed")
        return self._task_command(task_id, actor, change)

    def assign_task(self, task_id: int, username: str, actor: Actor) -> CommandResult:
        def change(ctx: _Ctx, task: dict) -> None:
            if not actor.has_role("admin"):  # a colleague of the task's role and unit may hand it on
                self._require_worker(ctx.session, task, actor, ignore_assignee=True)
            user = ctx.session.execute(select(User.username, User.roles, User.org_unit, User.active)
                                       .where(User.username == username)).first()
            if user is None or not user.active:
                raise InvalidInput(f"用户“{username}”不存在 / no such user {username!r}",
                                   fields={"user": "用户不存在 / no such user"})
            if task["role"] not in (user.roles or []) or (task["org_unit"] and user.org_unit != task["org_unit"]):
                raise InvalidInput(f"用户“{username}”不能办理此任务（角色或单位不符）/ {username} cannot work this task",
                                   fields={"user": "角色或单位不符 / wrong role or unit"})
            if task["assignee"] != username:
                self._set_assignee(ctx, task, username, "task_assigned")
        return self._task_command(task_id, actor, change)

    def _task_command(self, task_id: int, actor: Actor, change: Callable[[_Ctx, dict], None]) -> CommandResult:
        def body(session: Session, now: datetime) -> _Ctx:
            task, case, app = self._task_and_case(session, task_id)
            # Assignment does not move the workflow: no need to load it.
            ctx = _Ctx(session, now, actor, app, case, None)
            change(ctx, task)
            if ctx.events:
                self._write_case(ctx, {})
            return ctx

        now = self.clock.now()
        with command_time(now):
            with self.db.write() as session:
                ctx = body(session, now)
        return CommandResult(ctx.case["id"], ctx.case["version"], ctx.case["status"])

    def _set_assignee(self, ctx: _Ctx, task: dict, username: str | None, kind: str) -> None:
        ctx.session.execute(update(HumanTask).where(HumanTask.id == task["id"]).values(assignee=username))
        ctx.event(kind, {"task_id": task["id"], "step": task["name"], "from": task["assignee"], "to": username})

    # ------------------------------------------------------------------ deadlines
    def sweep(self, limit: int = 10000) -> int:
        """Fire every deadline due now, each exactly once; returns how many fired."""
        now = self.clock.now()
        fired, seen = 0, set()
        while fired < limit:
            with command_time(now):
                with self.db.write() as session:
                    query = (select(Deadline.case_id).where(Deadline.status == "pending", Deadline.due_at < now)
                             .order_by(Deadline.due_at).limit(1))
                    if seen:
                        query = query.where(Deadline.case_id.not_in(seen))
                    if self.db.is_postgres:
                        query = query.with_for_update(skip_locked=True)
                    case_id = session.scalar(query)
                    if case_id is None:
                        return fired
                    seen.add(case_id)
                    ctx = self._fire_case(session, now, case_id)
                if ctx is not None:
                    fired += ctx[1]
                    self.cache.put(ctx[0].case["id"], ctx[0].case["version"], ctx[0].workflow)
        return fired

    def _fire_case(self, session: Session, now: datetime, case_id: int):
        case = self._load_case(session, case_id)
        app = self.application(case["type"])
        due = session.execute(select(Deadline.__table__).where(
            Deadline.case_id == case_id, Deadline.status == "pending", Deadline.due_at < now)
            .with_for_update(skip_locked=True) if self.db.is_postgres else
            select(Deadline.__table__).where(Deadline.case_id == case_id, Deadline.status == "pending",
                                             Deadline.due_at < now)).mappings().all()
        if not due:
            return None
        workflow = self._workflow_for(session, case, app)
        ctx = _Ctx(session, now, SYSTEM, app, case, workflow)
        rt.fire_timers(workflow)
        still_waiting = {t.spiff_id for t in rt.waiting_timers(workflow)}
        fired = [d for d in due if d["spiff_id"] is None or d["spiff_id"] not in still_waiting]
        for d in fired:
            ctx.event("deadline_breached", {"kind": d["kind"], "due_at": d["due_at"].isoformat(),
                                            "deadline_id": d["id"]})
        if fired:
            session.execute(update(Deadline).where(Deadline.id.in_([d["id"] for d in fired]))
                            .values(status="fired", fired_at=now))
        self._persist(ctx)
        return ctx, len(fired)

    # ------------------------------------------------------------------ writing a command's result
    def _persist(self, ctx: _Ctx) -> None:
        session, case, workflow, now = ctx.session, ctx.case, ctx.workflow, ctx.now
        snapshot = ctx.snapshot
        process_data = rt.workflow_data(workflow)
        updates = ctx.app.case_updates(snapshot, process_data)
        if rt.is_completed(workflow) and case["status"] == "open":
            updates.update(status="closed", closed_at=now)
        for column in ("level", "jurisdiction"):
            if column in updates:
                case[column] = updates[column]
        snapshot = ctx.snapshot
        timers = self._sync_deadlines(ctx)
        self._sync_tasks(ctx, snapshot, timers)
        if updates.get("status") == "closed":
            ctx.event("case_closed", {"outcome": updates.get("outcome", case.get("outcome"))})
        updates["data"] = _jsonable(process_data)
        session.execute(update(CaseState).where(CaseState.case_id == case["id"]).values(state=rt.dump_state(workflow)))
        self._write_case(ctx, updates)

    def _write_case(self, ctx: _Ctx, updates: dict[str, Any]) -> None:
        """Bump the case version (or fail on a stale one) and append the command's events."""
        case = ctx.case
        rows, head_seq, head_hash = chain_rows(case["id"], case["last_event_seq"], case["last_event_hash"],
                                               ctx.now, ctx.events)
        values = {**updates, "version": case["version"] + 1, "updated_at": ctx.now,
                  "last_event_seq": head_seq, "last_event_hash": head_hash}
        result = ctx.session.execute(update(Case).where(Case.id == case["id"], Case.version == case["version"])
                                     .values(**values))
        if result.rowcount != 1:
            raise Conflict("案件已被他人更新，请刷新后重试 / the case was changed by someone else: reload and retry")
        insert_events(ctx.session, rows)
        case.update(values)

    def _sync_deadlines(self, ctx: _Ctx) -> dict[str, dict]:
        """Pending deadline rows = the workflow's waiting timers; returns them by kind."""
        session, case_id, now = ctx.session, ctx.case["id"], ctx.now
        existing = {r["spiff_id"]: dict(r) for r in session.execute(
            select(Deadline.__table__).where(Deadline.case_id == case_id, Deadline.status == "pending",
                                             Deadline.spiff_id.is_not(None))).mappings()}
        waiting = {t.spiff_id: t for t in rt.waiting_timers(ctx.workflow)}
        gone = [row["id"] for sid, row in existing.items() if sid not in waiting]
        if gone:
            session.execute(update(Deadline).where(Deadline.id.in_(gone)).values(status="cancelled"))
        new_rows = []
        for sid, timer in waiting.items():
            row = existing.get(sid)
            if row is None:
                row = {"case_id": case_id, "kind": timer.name, "spiff_id": sid, "started_at": now,
                       "warning_at": warning_at(now, timer.due_at), "due_at": timer.due_at,
                       "estimated": self.calendar.is_estimated(timer.due_at.astimezone(ZONE).date()),
                       "status": "pending"}
                new_rows.append(row)
            existing[sid] = row
        if new_rows:
            session.execute(insert(Deadline), new_rows)
        return {row["kind"]: row for sid, row in existing.items() if sid in waiting}

    def _sync_tasks(self, ctx: _Ctx, snapshot: CaseSnapshot, timers: dict[str, dict]) -> None:
        """Ready human-task rows = the workflow's ready manual tasks."""
        session, case_id = ctx.session, ctx.case["id"]
        existing = {r.spiff_id: r for r in session.execute(
            select(HumanTask.id, HumanTask.spiff_id, HumanTask.name, HumanTask.due_at)
            .where(HumanTask.case_id == case_id, HumanTask.status == "ready"))}
        ready = {t.spiff_id: t for t in rt.ready_human_tasks(ctx.workflow)}
        gone = [row for sid, row in existing.items() if sid not in ready]
        if gone:
            session.execute(update(HumanTask).where(HumanTask.id.in_([r.id for r in gone])).values(status="cancelled"))
            for row in gone:
                ctx.event("task_cancelled", {"task_id": row.id, "step": row.name}, actor="system")
        for row in existing.values():
            deadline = timers.get(row.name)
            due = deadline["due_at"] if deadline else None
            if row.spiff_id in ready and due != row.due_at:
                session.execute(update(HumanTask).where(HumanTask.id == row.id).values(due_at=due))
        new = [t for sid, t in ready.items() if sid not in existing]
        if not new:
            return
        rows = []
        for t in new:
            step = t.properties.get("step") or t.spec_name
            place = ctx.app.placement(snapshot, step, t.lane, t.properties)
            deadline = timers.get(step)
            rows.append({"case_id": case_id, "spiff_id": t.spiff_id, "name": step, "title": t.title,
                         "role": place.role, "org_unit": place.org_unit, "level": place.level,
                         "assignee": None, "status": "ready", "due_at": deadline["due_at"] if deadline else None,
                         "created_at": ctx.now})
        ids = session.execute(insert(HumanTask).returning(HumanTask.id, HumanTask.name, HumanTask.role,
                                                          HumanTask.org_unit, sort_by_parameter_order=True),
                              rows).all()
        for r in ids:
            ctx.event("task_opened", {"task_id": r.id, "step": r.name, "role": r.role, "org_unit": r.org_unit},
                      actor="system")

    # ------------------------------------------------------------------ checks
    def _task_and_case(self, session: Session, task_id: int):
        task = session.execute(select(HumanTask.__table__).where(HumanTask.id == task_id)).mappings().first()
        if task is None:
            raise NotFound(f"任务 {task_id} 不存在 / task {task_id} not found")
        task = dict(task)
        if task["status"] != "ready":
            raise Conflict("该任务已办结或已取消 / the task is no longer ready")
        case = self._load_case(session, task["case_id"])
        return task, case, self.application(case["type"])

    @staticmethod
    def _check_version(case: dict, expected: int | None) -> None:
        if expected is not None and expected != case["version"]:
            raise Conflict(f"案件已更新（当前版本 {case['version']}，提交的是 {expected}），请刷新后重试"
                           f" / stale version: the case is at {case['version']}, you sent {expected}")

    @staticmethod
    def _require_worker(session: Session, task: dict, actor: Actor, ignore_assignee: bool = False) -> None:
        if actor is SYSTEM:
            return
        if not actor.has_role(task["role"]):
            raise Forbidden(f"此任务需要“{task['role']}”角色 / this task needs the role {task['role']!r}")
        if task["assignee"] and task["assignee"] != actor.username and not ignore_assignee:
            raise Forbidden(f"此任务已由 {task['assignee']} 认领 / this task is claimed by {task['assignee']}")
        if task["org_unit"] and task["org_unit"] != actor.org_unit:
            raise Forbidden("此任务属于其他单位 / this task belongs to another unit")


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if callable(value) or key.startswith("__"):
            continue
        out[key] = value
    return out
