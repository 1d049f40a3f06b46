"""The case engine's commands: each one transaction that commits everything or nothing.

A command reads the clock once, loads (or reuses) the case's live workflow, moves it, and then
writes in one unit of work: the workflow state, the human-task and deadline rows, the case
row (guarded by its version), the hash-chained events. A command on a stale version or on a
task that is no longer ready raises Conflict and leaves the store as it was.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from . import reminders, rows, search, tally
from . import runtime as rt
from .application import SYSTEM, Actor, CaseChange, CaseSnapshot, CommandScope, ProcessApplication
from .audit import chain_rows
from .calendar import ZONE, BusinessCalendar, warning_at
from .clock import Clock, command_time, current_time
from .command import (CommandObserver, CommandResult, Ctx, Known, WorkflowCache, command_actor, current_username,
                      observed)
from .db import Database
from .definitions_repo import SpecCache
from .errors import Conflict, InvalidInput, NotFound
from .forms import validate_form
from .numbering import next_case_number
from .store import Case, CaseEvent, CaseLink, CaseParty, Deadline, User
from .sweep import DeadlineSweep


class CaseEngine:
    """The commands on cases. Each is trusted: the application layer has decided, from its
    authorization table, that the actor may run it; the engine keeps the workflow's own rules (a
    task no longer ready, a stale version, a closed case) and the case type's."""

    def __init__(self, db: Database, applications: Mapping[str, ProcessApplication], calendar: BusinessCalendar,
                 clock: Clock, *, cache_size: int = 256,
                 default_application: Callable[[str], ProcessApplication] | None = None):
        self.db = db
        self.applications = dict(applications)
        self.default_application = default_application
        self.calendar = calendar
        self.clock = clock
        self.specs = SpecCache()
        self.cache = WorkflowCache(cache_size)
        self._script_engines: dict[str, Any] = {}
        self.reminders: "reminders.Reminders | None" = None  # set by System: who hears of a fired deadline
        self.observer: CommandObserver | None = None  # set by whoever watches the commands (web/metrics.py)
        self.sweeper = DeadlineSweep(self)
        # Called after every case write, in its transaction (engine/tally.py): (session, before, case).
        self.case_listeners: list[tally.CaseListener] = []
        # Called when a step is completed, in its transaction: (session, task row, completed_at).
        self.task_listeners: list[tally.TaskListener] = []
        self.failing_cases = self.sweeper.failing_cases  # cases the sweep could not fire, with their error

    def sweep(self, limit: int = 10000, workers: int = 1, now: datetime | None = None) -> int:
        """Fire every deadline due at `now` (default: the clock's now), each exactly once (engine/sweep.py)."""
        return self.sweeper.sweep(limit, workers, now)

    # ------------------------------------------------------------------ helpers
    def application(self, case_type: str, *, remember: bool = True) -> ProcessApplication:
        """The case type's application; a default one for other deployed processes.

        `remember=False` for a type not known to be deployed, so made-up names are not kept."""
        app = self.applications.get(case_type)
        if app is None and self.default_application is not None:
            app = self.default_application(case_type)
            if remember:
                self.applications[case_type] = app
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

        def due_in_cycle(anchor, days, after=None):
            """ISO end of the first period of a recurring deadline (one every `days` days from `anchor`,
            each counted from `anchor` as due_in_days counts) that ends after now and after `after`,
            the previous period's due time: a report due every 15 days from an assignment."""
            floor = current_time()
            if after:
                floor = max(floor, datetime.fromisoformat(after))
            start, step = datetime.fromisoformat(anchor), int(days)
            # Period n ends n*step calendar days after the anchor's day, rolled past rest days (never
            # weeks of them): the periods ending more than 60 days before the floor are skipped
            # unseen, so a case in its third year of reports costs what a new one does.
            n = max(1, ((floor - start).days - 60) // step) if step > 0 else 1
            while True:
                due = calendar.due_after(start, n * step).at
                if due > floor or n >= 100000:
                    return due.isoformat()
                n += 1

        def current_user():
            """The username of whoever runs the command (for scripts that record who did a step)."""
            return current_username()

        return {"due_in_days": due_in_days, "due_in_working_days": due_in_working_days,
                "due_in_cycle": due_in_cycle, "current_user": current_user}

    def _script_engine(self, app: ProcessApplication):
        engine = self._script_engines.get(app.key)
        if engine is None:
            engine = self._script_engines[app.key] = rt.make_script_engine(
                {**self._calendar_functions(), **app.script_functions()})
        return engine

    def _load_case(self, session: Session, case_id: int) -> dict[str, Any]:
        case = rows.load_case(session.connection(), case_id)
        if case is None:
            raise NotFound(f"案件 {case_id} 不存在 / case {case_id} not found")
        return case

    def _workflow_for(self, session: Session, case: dict[str, Any], app: ProcessApplication):
        """The case's live workflow (and its known rows, when cached) at the case's version."""
        cached = self.cache.take(case["id"], case["version"])
        if cached is not None:
            return cached
        return self.restore(session, case, app, rows.load_state(session.connection(), case["id"])), None

    def restore(self, session: Session, case: dict[str, Any], app: ProcessApplication, state: str):
        """The case's workflow restored from its stored state."""
        spec, subprocess_specs = self.specs.get(session, case["definition_id"])
        return rt.load_state(state, spec, subprocess_specs, self._script_engine(app))

    def _run(self, actor: Actor, body: Callable[[Session, datetime], "Ctx"]) -> CommandResult:
        now = self.clock.now()
        with command_time(now), command_actor(actor.username):
            with self.db.command() as session:
                ctx = body(session, now)
            # Committed: the live workflow is good for the case's new version.
            self.cache.put(ctx.case["id"], ctx.case["version"], ctx.workflow, ctx.known)
        return CommandResult(ctx.case["id"], ctx.case["version"], ctx.case["status"], tuple(ctx.opened))

    # ------------------------------------------------------------------ commands
    @observed("start_case")
    def start_case(self, case_type: str, data: Mapping[str, Any], actor: Actor) -> CommandResult:
        """Register a new case of a deployed type with its register form."""
        app = self.application(case_type, remember=False)
        validate_form(app.form_schema("register"), data, form_title="登记")
        data = dict(data)

        def body(session: Session, now: datetime) -> Ctx:
            return self._open_case(session, now, case_type, app, data, actor)

        return self._run(actor, body)

    def _open_case(self, session: Session, now: datetime, case_type: str, app: ProcessApplication,
                   data: dict[str, Any], actor: Actor, link: tuple[int, str] | None = None) -> Ctx:
        """Insert a new case and run its workflow to the first wait, in the caller's transaction;
        `link` = (id of the case that opens this one, kind of link)."""
        definition = rows.latest_definition(session.connection(), case_type)  # (id, version)
        if definition is None:
            raise InvalidInput(f"流程“{case_type}”尚未部署 / process {case_type!r} is not deployed",
                               fields={"type": "尚未部署 / not deployed"})
        self.applications.setdefault(case_type, app)
        init = app.initial_case_in(session, data, actor, now)
        case_data = {**data, **init.data}
        withheld = list(dict.fromkeys(init.withheld_from))
        if link is not None:  # a case opened by another one keeps its parties' identity from the same units
            parent = session.execute(select(Case.withheld_from).where(Case.id == link[0])).scalar()
            withheld = list(dict.fromkeys([*withheld, *(parent or [])]))
        spec, subprocess_specs = self.specs.get(session, definition[0])
        workflow = rt.new_workflow(spec, subprocess_specs, self._script_engine(app),
                                   {**case_data, "level": init.level, "jurisdiction": init.jurisdiction})
        number = next_case_number(session, case_type, app.number_prefix, now.astimezone(ZONE).year)
        case = rows.insert_case(session.connection(), {
            "number": number, "type": case_type, "definition_id": definition[0], "status": "open",
            "level": init.level, "jurisdiction": init.jurisdiction, "flags": list(init.flags),
            "repeat_of": init.repeat_of, "data": case_data, "version": 0, "last_event_seq": 0,
            "last_event_hash": "", "created_at": now, "updated_at": now, "registered_by": actor.username,
            "withheld_from": withheld or None, "search_text": init.search_text or None})
        case_id = case["id"]
        search.index_case(session, case_id, number, init.search_text)
        if init.parties:
            session.execute(CaseParty.__table__.insert(), [
                {"case_id": case_id, "person_key": p.get("person_key"), "phone_key": p.get("phone_key"),
                 "category": p.get("category"), "respondent_unit": p.get("respondent_unit"), "created_at": now}
                for p in init.parties])
        ctx = Ctx(session, now, actor, app, case, workflow, Known({}, {}))
        # The case's data as registered, without the fields it has no value for yet (None, an empty
        # list or object; the case row has them all): a field absent from it was empty.
        created = {"number": number, "type": case_type, "definition_version": definition[1],
                   "level": init.level, "jurisdiction": init.jurisdiction,
                   "data": {k: v for k, v in case_data.items() if v is not None and v != [] and v != {}}}
        if link is not None:
            session.execute(CaseLink.__table__.insert().values(case_id=link[0], linked_case_id=case_id,
                                                               kind=link[1], created_at=now))
            created["linked_from"] = {"case_id": link[0], "kind": link[1]}
        ctx.event("case_created", created)
        rt.run_engine_steps(workflow)
        self._persist(ctx)
        return ctx

    @observed("complete_task")
    def complete_task(self, task_id: int, data: Mapping[str, Any], actor: Actor,
                      expected_version: int | None = None) -> CommandResult:
        """Complete a ready task with form data validated against its step's schema."""

        def body(session: Session, now: datetime) -> Ctx:
            task, case, app = self._task_and_case(session, task_id)
            self._check_version(case, expected_version)
            validate_form(app.form_schema(task["name"]), data, form_title=task["title"])
            workflow, known = self._workflow_for(session, case, app)
            ctx = Ctx(session, now, actor, app, case, workflow, known)
            # The process data as the last command left it (a live workflow has not moved since).
            before = known.data if known is not None and known.data is not None else rt.workflow_data(workflow)
            if not rt.complete_task(workflow, task["spiff_id"], data):
                raise Conflict("该任务已不在待办状态 / the task is no longer ready")
            rows.complete_task(ctx.conn, task["id"], now, actor.username)
            for listener in self.task_listeners:
                listener(session, task, now)
            if ctx.known is not None:
                ctx.known.tasks.pop(task["spiff_id"], None)
            # Each field the step changed, with its value before; the value after is the step's `data`
            # beside it, not written twice (events before migration 0012 have {"before", "after"}).
            changes = {k: before.get(k) for k, v in data.items() if before.get(k) != v}
            ctx.event("task_completed", {"task_id": task["id"], "step": task["name"], "data": dict(data),
                                         "changes": changes})
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    @observed("send_message")
    def send_message(self, case_id: int, name: str, data: Mapping[str, Any], actor: Actor) -> CommandResult:
        """Deliver a named message (court result, withdrawal, review request …) to a waiting case."""
        if not isinstance(data, dict):
            raise InvalidInput("消息数据必须是 JSON 对象 / message data must be a JSON object",
                               fields={"data": "应为对象 / must be an object"})

        def body(session: Session, now: datetime) -> Ctx:
            case = self._load_case(session, case_id)
            app = self.application(case["type"])
            if case["status"] != "open":
                raise Conflict("案件已结案，不能再接收消息 / the case is closed")
            validate_form(app.form_schema(f"message_{name}"), data, form_title=name)
            workflow, known = self._workflow_for(session, case, app)
            ctx = Ctx(session, now, actor, app, case, workflow, known)
            if not rt.deliver_message(workflow, name, data):
                raise Conflict(f"案件当前不在等待消息“{name}” / the case is not waiting for message {name!r}")
            ctx.event("message_received", {"name": name, "data": dict(data)})
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    @observed("claim_task")
    def claim_task(self, task_id: int, actor: Actor) -> CommandResult:
        def change(ctx: Ctx, task: dict) -> None:
            if task["assignee"] == actor.username:
                return
            if task["assignee"]:
                raise Conflict(f"该任务已由 {task['assignee']} 认领 / already claimed by {task['assignee']}")
            self._set_assignee(ctx, task, actor.username, "task_claimed")
        return self._task_command(task_id, actor, change)

    @observed("unclaim_task")
    def unclaim_task(self, task_id: int, actor: Actor) -> CommandResult:
        def change(ctx: Ctx, task: dict) -> None:
            if task["assignee"]:
                self._set_assignee(ctx, task, None, "task_unclaimed")
        return self._task_command(task_id, actor, change)

    @observed("assign_task")
    def assign_task(self, task_id: int, username: str, actor: Actor) -> CommandResult:
        def change(ctx: Ctx, task: dict) -> None:
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

    def _task_command(self, task_id: int, actor: Actor, change: Callable[[Ctx, dict], None],
                      expected_version: int | None = None) -> CommandResult:
        def body(session: Session, now: datetime) -> Ctx:
            task, case, app = self._task_and_case(session, task_id)
            self._check_version(case, expected_version)
            # Assignment does not move the workflow: no need to load it.
            ctx = Ctx(session, now, actor, app, case, None)
            unchanged = ctx.snapshot
            change(ctx, task)
            if ctx.events:
                self._write_case(ctx, {})
                # The case's columns are as they were, but who holds its step is not: the listeners
                # that keep who reaches a case (workflows/board_reach.py) hear of it too.
                for listener in self.case_listeners:
                    listener(session, unchanged, ctx.case)
            return ctx

        now = self.clock.now()
        with command_time(now):
            with self.db.command() as session:
                ctx = body(session, now)
        return CommandResult(ctx.case["id"], ctx.case["version"], ctx.case["status"])

    @observed("extend_deadline")
    def extend_deadline(self, task_id: int, days: Any, reason: Any, actor: Actor,
                        expected_version: int | None = None, request: Mapping[str, Any] | None = None) -> CommandResult:
        """Move a ready task's pending deadline `days` later, counted by the business calendar from the
        current due date, where the case type allows it (`check_extension`); the history says why."""

        def body(session: Session, now: datetime) -> Ctx:
            task, case, app = self._task_and_case(session, task_id)
            self._check_version(case, expected_version)
            pending = [d for d in rows.pending_timers(session.connection(), case["id"]) if d["kind"] == task["name"]]
            if not pending:
                raise Conflict("此任务当前没有可延长的期限 / this task has no pending deadline to extend")
            earlier = list(session.scalars(select(CaseEvent.data).where(
                CaseEvent.case_id == case["id"], CaseEvent.kind == "deadline_extended").order_by(CaseEvent.seq)))
            snapshot = CaseSnapshot(case["id"], case["type"], case["level"], case["jurisdiction"], case["data"])
            extra = app.check_extension(session, snapshot, task, days, reason, earlier, dict(request or {}))
            deadline = min(pending, key=lambda d: d["due_at"])
            due = self.calendar.due_after(deadline["due_at"], int(days))
            workflow, known = self._workflow_for(session, case, app)
            ctx = Ctx(session, now, actor, app, case, workflow, known)
            if not rt.move_timer(workflow, deadline["spiff_id"], due.at):
                raise Conflict("该期限已不再等待 / the deadline no longer waits")
            moved = {"due_at": due.at, "warning_at": warning_at(deadline["started_at"], due.at),
                     "estimated": due.estimated}
            session.execute(update(Deadline).where(Deadline.id == deadline["id"]).values(**moved))
            if ctx.known is not None and deadline["spiff_id"] in ctx.known.timers:
                ctx.known.timers[deadline["spiff_id"]] = {**ctx.known.timers[deadline["spiff_id"]], **moved}
            ctx.event("deadline_extended", {"task_id": task["id"], "step": task["name"], "level": task["level"],
                                            "kind": deadline["kind"], "days": int(days), "reason": reason,
                                            "from": deadline["due_at"].astimezone(ZONE).isoformat(),
                                            "to": due.at.isoformat(), **(extra or {})})
            self._persist(ctx)
            return ctx

        return self._run(actor, body)

    def _set_assignee(self, ctx: Ctx, task: dict, username: str | None, kind: str) -> None:
        rows.set_assignee(ctx.conn, task["id"], username)
        ctx.event(kind, {"task_id": task["id"], "step": task["name"], "from": task["assignee"], "to": username})

    # ------------------------------------------------------------------ writing a command's result
    def persist(self, ctx: Ctx) -> None:
        """Write a command's result: the case row, its state, tasks, deadlines and events (and tell the
        cases that opened it when it closes)."""
        self._persist(ctx)

    def _persist(self, ctx: Ctx, listeners_before: CaseSnapshot | None = None) -> None:
        case, workflow, now = ctx.case, ctx.workflow, ctx.now
        rt.compact(workflow)  # finished loop iterations leave the tree: the state stays the size of a new case's
        before = ctx.snapshot
        process_data = rt.workflow_data(workflow)
        left = dict(process_data)  # what the next command on the live workflow finds (before any hook)
        case.update(ctx.app.case_updates(before, process_data))
        closing = rt.is_completed(workflow) and case["status"] == "open"
        if closing:
            case.update(status="closed", closed_at=now)
        # The case type's own rules, in this transaction (escalation events, ledger entries …).
        ctx.app.after_step(CommandScope(ctx.session, now, ctx.actor, before, case, process_data, closing,
                                        self.calendar, ctx.event,
                                        lambda case_type, data, kind: self._start_linked(ctx, case_type, data, kind)))
        timers, ready = self._sync_deadlines(ctx), self._sync_tasks_rows(ctx)
        self._sync_tasks(ctx, ctx.snapshot, {row["kind"]: row for row in timers.values()}, ready)
        ctx.known = Known(timers, ready, left)
        if closing:
            ctx.event("case_closed", {"outcome": case.get("outcome")})
        # A closed case keeps of its state only what its diagram shows: nothing runs its workflow again.
        state = rt.closed_state(workflow) if case["status"] != "open" else rt.dump_state(workflow)
        registered = case["version"] == 0  # inserted by _open_case, written for the first time here
        self._write_case(ctx, {"data": _jsonable(process_data), "state": state,
                               **rows.due_columns(ready.values(), timers.values())})
        for listener in self.case_listeners:
            listener(ctx.session, None if registered else (listeners_before or before), case)
        if closing:
            self._tell_linking_cases(ctx)

    def _write_case(self, ctx: Ctx, updates: dict[str, Any]) -> None:
        """Bump the case version (or fail on a stale one) and append the command's events."""
        case = ctx.case
        event_rows, head_seq, head_hash = chain_rows(case["id"], case["last_event_seq"], case["last_event_hash"],
                                                     ctx.now, ctx.events, data_as_text=True)
        expected = case["version"]
        case.update(updates, version=expected + 1, updated_at=ctx.now, last_event_seq=head_seq,
                    last_event_hash=head_hash)
        if not rows.save_case(ctx.conn, case, expected, ctx.found):
            raise Conflict("案件已被他人更新，请刷新后重试 / the case was changed by someone else: reload and retry")
        rows.insert_events(ctx.conn, event_rows)

    def _sync_deadlines(self, ctx: Ctx) -> dict[str, dict]:
        """Pending deadline rows = the workflow's waiting timers; returns them by timer task id."""
        case_id, now = ctx.case["id"], ctx.now
        if ctx.known is not None:
            existing = dict(ctx.known.timers)
        else:
            existing = {r["spiff_id"]: r for r in rows.pending_timers(ctx.conn, case_id)}
        waiting = {t.spiff_id: t for t in rt.waiting_timers(ctx.workflow)}
        gone = [row["id"] for sid, row in existing.items() if sid not in waiting]
        if gone:
            rows.set_deadlines(ctx.conn, gone, "cancelled")
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
            for row, new_id in zip(new_rows, rows.insert_deadlines(ctx.conn, new_rows)):
                row["id"] = new_id
        return {sid: row for sid, row in existing.items() if sid in waiting}

    @staticmethod
    def _sync_tasks_rows(ctx: Ctx) -> dict[str, rows.TaskRow]:
        if ctx.known is not None:
            return dict(ctx.known.tasks)
        return {r.spiff_id: r for r in rows.ready_tasks(ctx.conn, ctx.case["id"])}

    def _sync_tasks(self, ctx: Ctx, snapshot: CaseSnapshot, timers: dict[str, dict],
                    existing: dict[str, rows.TaskRow]) -> None:
        """Ready human-task rows = the workflow's ready manual tasks; `existing` is updated to match."""
        case_id = ctx.case["id"]
        ready = {t.spiff_id: t for t in rt.ready_human_tasks(ctx.workflow)}
        gone = [row for sid, row in existing.items() if sid not in ready]
        if gone:
            rows.cancel_tasks(ctx.conn, [r.id for r in gone])
            for row in gone:
                del existing[row.spiff_id]
                ctx.event("task_cancelled", {"task_id": row.id, "step": row.name}, actor="system")
        for row in list(existing.values()):
            deadline = timers.get(row.name)
            # A step whose (non-interrupting) timer has fired stays overdue while it is open.
            due = deadline["due_at"] if deadline else (row.due_at if row.due_at and row.due_at <= ctx.now else None)
            if due != row.due_at:
                rows.set_task_due(ctx.conn, row.id, due)
                existing[row.spiff_id] = row._replace(due_at=due)
        new = [t for sid, t in ready.items() if sid not in existing]
        if not new:
            return
        new_rows = []
        for t in new:
            step = t.properties.get("step") or t.spec_name
            place = ctx.app.placement(snapshot, step, t.lane, t.properties, session=ctx.session)
            deadline = timers.get(step)
            new_rows.append({"case_id": case_id, "spiff_id": t.spiff_id, "name": step, "title": t.title,
                         "role": place.role, "org_unit": place.org_unit, "level": place.level,
                         "assignee": place.assignee, "status": "ready",
                         "due_at": deadline["due_at"] if deadline else None,
                         "created_at": ctx.now})
        for r, t in zip(rows.insert_tasks(ctx.conn, new_rows), new_rows):
            existing[t["spiff_id"]] = rows.TaskRow(r.id, t["spiff_id"], t["name"], t["due_at"])
            ctx.opened.append(r.id)
            ctx.event("task_opened", {"task_id": r.id, "step": r.name, "role": r.role, "org_unit": r.org_unit},
                      actor="system")

    # ------------------------------------------------------------------ linked cases
    def _start_linked(self, ctx: Ctx, case_type: str, data: Mapping[str, Any], kind: str) -> tuple[int, str]:
        """A case opened by another case's command (a petition's mediation), in that command's transaction."""
        app = self.application(case_type, remember=False)
        validate_form(app.form_schema("register"), data, form_title="登记")
        child = self._open_case(ctx.session, ctx.now, case_type, app, dict(data), ctx.actor,
                                link=(ctx.case["id"], kind))
        return child.case["id"], child.case["number"]

    def _tell_linking_cases(self, ctx: Ctx) -> None:
        """A linked case that closes tells the case that opened it: message `<type>_closed` with its id,
        number and outcome, delivered in the same transaction if that case waits for it."""
        links = rows.linking_cases(ctx.conn, ctx.case["id"])
        name = f"{ctx.case['type']}_closed"
        payload = {"case_id": ctx.case["id"], "number": ctx.case["number"], "type": ctx.case["type"],
                   "outcome": ctx.case.get("outcome")}
        for case_id in links:
            case = self._load_case(ctx.session, case_id)
            if case["status"] != "open":
                continue
            app = self.application(case["type"])
            workflow, known = self._workflow_for(ctx.session, case, app)
            if not rt.deliver_message(workflow, name, payload):
                continue  # not (or no longer) waiting for it; its live workflow left the cache and is dropped
            linked = Ctx(ctx.session, ctx.now, SYSTEM, app, case, workflow, known)
            linked.event("message_received", {"name": name, "data": payload})
            self._persist(linked)

    # ------------------------------------------------------------------ changes of the case row itself
    @observed("change_case")
    def change_case(self, case_id: int, actor: Actor, change: Callable[[CaseChange], None], *,
                    expected_version: int | None = None, open_only: bool = True) -> CommandResult:
        """A command that changes the case's own columns (its owner, its flags) by a case type's rule,
        with its events; the rule may tell the workflow with a message (`CaseChange.tell`)."""

        def body(session: Session, now: datetime) -> Ctx:
            case = self._load_case(session, case_id)
            self._check_version(case, expected_version)
            if open_only and case["status"] != "open":
                raise Conflict("案件已结案 / the case is closed")
            app = self.application(case["type"])
            ctx = Ctx(session, now, actor, app, case, None)
            moved = []

            def tell(message: str, payload: Mapping[str, Any]) -> bool:
                if ctx.workflow is None:
                    ctx.workflow, ctx.known = self._workflow_for(session, case, app)
                took = rt.deliver_message(ctx.workflow, message, dict(payload))
                moved.append(took)
                return took

            unchanged = ctx.snapshot  # what the case listeners compare with (the rule changes `case`)
            change(CaseChange(session, now, actor, app, case, ctx.event, tell))
            if any(moved):
                self._persist(ctx, listeners_before=unchanged)
            elif ctx.events:
                ctx.workflow = None  # not moved: the cached copy (if taken) is dropped, the state kept
                self._write_case(ctx, {})
                for listener in self.case_listeners:
                    listener(session, unchanged, case)
            return ctx

        return self._run(actor, body)

    @observed("record_event")
    def record_event(self, case_id: int, kind: str, data: Mapping[str, Any], actor: Actor) -> CommandResult:
        """Append one event to a case's history (a look at its unmasked data, a printed document …)."""

        def body(session: Session, now: datetime) -> Ctx:
            case = self._load_case(session, case_id)
            ctx = Ctx(session, now, actor, self.application(case["type"]), case, None)
            ctx.event(kind, dict(data))
            self._write_case(ctx, {})
            return ctx

        return self._run(actor, body)

    # ------------------------------------------------------------------ reading a case's progress
    def progress(self, session: Session, case_id: int) -> tuple[set[str], set[str]]:
        """The BPMN ids of the steps the case has passed and of those open now (for its diagram)."""
        return rt.progress(rows.load_state(session.connection(), case_id) or "")

    # ------------------------------------------------------------------ checks
    def _task_and_case(self, session: Session, task_id: int):
        found = rows.load_task_and_case(session.connection(), task_id)
        if found is None:
            raise NotFound(f"任务 {task_id} 不存在 / task {task_id} not found")
        task, case = found
        if task["status"] != "ready":
            raise Conflict("该任务已办结或已取消 / the task is no longer ready")
        return task, case, self.application(case["type"])

    @staticmethod
    def _check_version(case: dict, expected: int | None) -> None:
        if expected is not None and expected != case["version"]:
            raise Conflict(f"案件已更新（当前版本 {case['version']}，提交的是 {expected}），请刷新后重试"
                           f" / stale version: the case is at {case['version']}, you sent {expected}")


def _jsonable(data: Mapping[str, Any]) -> dict[str, Any]:
    out = {}
    for key, value in data.items():
        if callable(value) or key.startswith("__"):
            continue
        out[key] = value
    return out

