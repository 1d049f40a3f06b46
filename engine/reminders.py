"""Who is reminded of a deadline, and when: DOMAIN.md §5 written as outbox rows.

This is the engine's side of notifications. It decides the recipients, their channels and the
release time, and writes outbox rows in the transaction that causes them: a deadline firing (with
its `deadline_breached` event), a deadline reaching its warning level, the case owners' morning
digest. `notifications/` renders and delivers the rows. Every row has an idempotency key, and
writing a key that exists is a no-op, so a retried sweep or a second scheduler never queues a
reminder twice.

- `warning` (2/3 of the period): the task's assignee, or, while it is unassigned, the users with
  the task's role in the task's unit.
- `overdue` (the due time): the same people, and the supervisors: per case type, the heads of the
  task's unit or the users of a role there (the petition office), taken from the nearest unit up
  the tree that has any, else the admins (FENGQIAO_SUPERVISORS).
- A window without an open task (a party's review window …) warns nobody; at its due time its
  case's supervisors are told.
- Reminders wait for working hours (FENGQIAO_WORKING_HOURS on working days of the business
  calendar), except overdue reminders on red-risk cases, which go at once.
- At FENGQIAO_DIGEST_TIME on working days each owner of open cases gets one digest: owned cases due
  within FENGQIAO_DIGEST_DUE_DAYS, overdue ones, and those open longer than FENGQIAO_BACKLOG_DAYS.
"""
from __future__ import annotations

import logging
import time as time_module
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Iterable, Mapping

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from . import deadlines
from .calendar import ZONE, BusinessCalendar
from .config import Settings
from .rows import ready_tasks_of
from .store import Case, HumanTask, OrgUnit, OutboxMessage, Setting, User

log = logging.getLogger(__name__)

outbox_t, user_t, task_t, case_t = OutboxMessage.__table__, User.__table__, HumanTask.__table__, Case.__table__

CHANNELS = ("inapp", "email", "sms")
URGENT_RISK = "red"
DIGEST_KEY = "digest.last_day"
_DIGEST_LIST_MAX = 50


def iso_local(at: datetime | None) -> str | None:
    return at.astimezone(ZONE).isoformat() if at is not None else None


# ---------------------------------------------------------------------------------- the outbox
_ENQUEUE = {"postgresql": postgresql.insert(outbox_t).on_conflict_do_nothing(index_elements=["idempotency_key"]),
            "sqlite": sqlite.insert(outbox_t).on_conflict_do_nothing(index_elements=["idempotency_key"])}


def enqueue(conn: Connection, messages: list[dict[str, Any]]) -> None:
    """Insert outbox rows, skipping any whose idempotency key is already there."""
    if not messages:
        return
    statement = _ENQUEUE.get(conn.dialect.name)
    if statement is None:
        raise RuntimeError(f"the outbox does not support {conn.dialect.name}")
    conn.execute(statement, messages)


def message(kind: str, key: str, recipient: str, channel: str, payload: Mapping[str, Any], *,
            case_id: int | None, release: datetime, now: datetime) -> dict[str, Any]:
    """One outbox row: one notification, to one person, on one channel."""
    return {"idempotency_key": key, "kind": kind, "case_id": case_id, "recipient": recipient, "channel": channel,
            "payload": dict(payload), "status": "pending", "attempts": 0, "next_attempt_at": release,
            "retry_at": None, "last_error": "", "created_at": now, "sent_at": None}


# ---------------------------------------------------------------------------------- working hours
@dataclass(frozen=True)
class WorkingHours:
    calendar: BusinessCalendar
    start: time
    end: time

    def contains(self, at: datetime) -> bool:
        local = at.astimezone(ZONE)
        return self.calendar.is_working_day(local.date()) and self.start <= local.time() < self.end

    def release(self, at: datetime) -> datetime:
        """The first instant at or after `at` inside working hours."""
        if self.contains(at):
            return at
        local = at.astimezone(ZONE)
        day = local.date()
        if not (self.calendar.is_working_day(day) and local.time() < self.start):
            day += timedelta(days=1)
            while not self.calendar.is_working_day(day):  # the longest official break is about 9 days
                day += timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=ZONE)


# ---------------------------------------------------------------------------------- people
class _Directory:
    """Users and org units, read once and reused for a few seconds: a sweep that fires a thousand
    deadlines asks for the same units' people a thousand times."""
    max_age = 5.0

    def __init__(self):
        self.born = time_module.monotonic()
        self.parents: dict[str, str | None] | None = None
        self.by_unit: dict[str | None, list[Mapping[str, Any]]] = {}
        self.by_name: dict[str, Mapping[str, Any] | None] = {}

    @property
    def stale(self) -> bool:
        return time_module.monotonic() - self.born > self.max_age


class _People:
    """Who is who, as read through one connection (with a directory that may be a few seconds old)."""

    def __init__(self, conn: Connection, directory: _Directory | None = None):
        self.conn = conn
        directory = directory or _Directory()
        self._directory = directory
        self._by_unit = directory.by_unit
        self._by_name = directory.by_name

    _COLUMNS = (user_t.c.username, user_t.c.org_unit, user_t.c.roles, user_t.c.unit_head, user_t.c.channels)

    def _remember(self, rows) -> list[Mapping[str, Any]]:
        rows = [dict(r) for r in rows]
        for row in rows:
            self._by_name[row["username"]] = row
        return rows

    def in_unit(self, unit: str | None) -> list[Mapping[str, Any]]:
        if unit not in self._by_unit:
            query = select(*self._COLUMNS).where(user_t.c.active.is_(True)).order_by(user_t.c.username)
            if unit is not None:
                query = query.where(user_t.c.org_unit == unit)
            self._by_unit[unit] = self._remember(self.conn.execute(query).mappings())
        return self._by_unit[unit]

    def user(self, username: str) -> Mapping[str, Any] | None:
        if username not in self._by_name:
            row = self.conn.execute(select(*self._COLUMNS).where(user_t.c.username == username,
                                                                 user_t.c.active.is_(True))).mappings().first()
            self._by_name[username] = row
        return self._by_name[username]

    def units_up(self, unit: str | None) -> list[str]:
        """The unit and the units above it, nearest first."""
        if self._directory.parents is None:
            self._directory.parents = dict(self.conn.execute(select(OrgUnit.code, OrgUnit.parent)).all())
        chain = []
        while unit is not None and unit not in chain:
            chain.append(unit)
            unit = self._directory.parents.get(unit)
        return chain

    def channels(self, username: str) -> list[str]:
        row = self.user(username)
        if row is None:
            return []
        chosen = [c for c in (row["channels"] or ["inapp"]) if c in CHANNELS]
        return chosen or ["inapp"]

    def workers(self, task: Mapping[str, Any], case: Mapping[str, Any]) -> list[str]:
        """The task's assignee; unassigned, the users of its role in its unit."""
        if task.get("assignee"):
            return [task["assignee"]] if self.user(task["assignee"]) is not None else []
        unit = task.get("org_unit") or case.get("jurisdiction")
        return [u["username"] for u in self.in_unit(unit) if task["role"] in (u["roles"] or [])]

    def supervisors(self, rule: tuple[str, str | None], unit: str | None) -> list[str]:
        kind, role = rule
        for code in self.units_up(unit):
            found = [u["username"] for u in self.in_unit(code)
                     if (u["unit_head"] if kind == "head" else role in (u["roles"] or []))]
            if found:
                return found
        # Nobody supervises this unit: the admins hear of it rather than nobody.
        return [u["username"] for u in self.in_unit(None) if "admin" in (u["roles"] or [])]


def ready_tasks_by_step(conn: Connection, case_ids: Iterable[int]) -> dict[tuple[int, str], dict[str, Any]]:
    """The open tasks of some cases, by (case id, step key): the people a deadline concerns."""
    ids = list(case_ids)
    if not ids:
        return {}
    return {(t["case_id"], t["name"]): t for tasks in ready_tasks_of(conn, ids).values() for t in tasks}


# ---------------------------------------------------------------------------------- the rules
class Reminders:
    def __init__(self, settings: Settings, calendar: BusinessCalendar,
                 supervisor_defaults: Mapping[str, tuple[str, str | None]] | None = None):
        self.calendar = calendar
        self.hours = WorkingHours(calendar, *settings.working_hours_range)
        # Each case type's own default, then what FENGQIAO_SUPERVISORS says.
        self.rules = {"*": ("head", None), **(supervisor_defaults or {}), **settings.supervisor_rules}
        self.base_url = settings.base_url.rstrip("/")
        self.digest_at = settings.digest_at
        self.digest_due = timedelta(days=settings.digest_due_days)
        self.backlog = timedelta(days=settings.backlog_days)
        self._digest_done: date | None = None
        self._directory = _Directory()

    def people(self, conn: Connection) -> _People:
        if self._directory.stale:
            self._directory = _Directory()
        return _People(conn, self._directory)

    def supervisor_rule(self, case_type: str) -> tuple[str, str | None]:
        return self.rules.get(case_type) or self.rules["*"]

    def notify(self, conn: Connection, now: datetime, kind: str, key: str, payload: Mapping[str, Any],
               recipients: Iterable[str], *, case_id: int | None = None, urgent: bool = False,
               people: _People | None = None) -> int:
        """Queue one notification to people, on each one's channels; held for working hours unless urgent.

        `key` identifies the notification; each recipient and channel is appended to it. Returns
        how many rows were offered (a key already queued is skipped)."""
        rows = self.messages(conn, now, kind, key, payload, recipients, case_id=case_id, urgent=urgent, people=people)
        enqueue(conn, rows)
        return len(rows)

    def messages(self, conn: Connection, now: datetime, kind: str, key: str, payload: Mapping[str, Any],
                 recipients: Iterable[str], *, case_id: int | None = None, urgent: bool = False,
                 people: _People | None = None) -> list[dict[str, Any]]:
        """The outbox rows `notify` writes, to write several notifications with one statement."""
        people = people or self.people(conn)
        release = now if urgent else self.hours.release(now)
        return [message(kind, f"{key}:{username}:{channel}", username, channel, payload,
                        case_id=case_id, release=release, now=now)
                for username in dict.fromkeys(recipients) for channel in people.channels(username)]

    def _deadline_payload(self, case: Mapping[str, Any], deadline: Mapping[str, Any],
                          task: Mapping[str, Any] | None, level: str) -> dict[str, Any]:
        risk = (case.get("data") or {}).get("risk_level")
        link = f"{self.base_url}/tasks/{task['id']}" if task else f"{self.base_url}/cases/{case['id']}"
        return {"case_id": case["id"], "case_number": case["number"], "case_type": case["type"],
                "step": deadline["kind"], "step_title": (task or {}).get("title") or deadline["kind"],
                "task_id": task["id"] if task else None, "assignee": (task or {}).get("assignee"),
                "org_unit": (task or {}).get("org_unit") or case.get("jurisdiction"),
                "level": level, "due_at": iso_local(deadline["due_at"]),
                "warning_at": iso_local(deadline["warning_at"]), "started_at": iso_local(deadline["started_at"]),
                "estimated": bool(deadline.get("estimated")), "risk_level": risk,
                "urgent": level == deadlines.OVERDUE and risk == URGENT_RISK, "link": link}

    @staticmethod
    def _deadline_key(kind: str, deadline: Mapping[str, Any]) -> str:
        # The due time is part of the key: an extended deadline reminds again.
        return f"{kind}:{deadline['id']}:{int(deadline['due_at'].timestamp())}"

    # --- a deadline fired (inside the firing command's transaction) ------------------------------
    def overdue_messages(self, conn: Connection, now: datetime, case: Mapping[str, Any],
                         fired: list[Mapping[str, Any]], tasks: Mapping[str, Mapping[str, Any]]) -> list[dict]:
        """The overdue reminders of deadlines a sweep fired, as outbox rows (the sweep writes a whole
        batch's with one statement). `tasks`: the case's open tasks by step, read before the firing
        (which may have cancelled them)."""
        people, rows = self.people(conn), []
        for deadline in fired:
            task = tasks.get(deadline["kind"])
            payload = self._deadline_payload(case, deadline, task, deadlines.OVERDUE)
            workers = people.workers(task, case) if task else []
            unit = (task or {}).get("org_unit") or case.get("jurisdiction")
            supervisors = [u for u in people.supervisors(self.supervisor_rule(case["type"]), unit) if u not in workers]
            rows += self.messages(conn, now, "deadline_overdue", self._deadline_key("overdue", deadline), payload,
                                  workers, case_id=case["id"], urgent=payload["urgent"], people=people)
            rows += self.messages(conn, now, "deadline_overdue_supervisor", self._deadline_key("supervise", deadline),
                                  payload, supervisors, case_id=case["id"], urgent=payload["urgent"], people=people)
        return rows

    # --- deadlines reaching 2/3 of their period -----------------------------------------------
    def sweep_warnings(self, db, now: datetime, batch: int = 200, limit: int = 100000) -> int:
        """Move every deadline whose warning time has come to `warning` and queue its reminders,
        in batches of one transaction each; returns how many moved."""
        moved, first = 0, True
        while moved < limit:
            with db.write() as session:
                conn = session.connection()
                if first:
                    deadlines.reset_postponed(conn, now)
                    first = False
                found = deadlines.reaching_warning(conn, now, batch, skip_locked=db.is_postgres)
                if not found:
                    break
                deadlines.mark_warning(conn, [d["id"] for d in found])
                case_ids = {d["case_id"] for d in found}
                cases = {c["id"]: c for c in conn.execute(
                    select(case_t.c.id, case_t.c.number, case_t.c.type, case_t.c.jurisdiction, case_t.c.data)
                    .where(case_t.c.id.in_(case_ids))).mappings()}
                tasks = ready_tasks_by_step(conn, case_ids)
                people, rows = self.people(conn), []
                for deadline in found:
                    case = cases[deadline["case_id"]]
                    task = tasks.get((case["id"], deadline["kind"]))
                    if task is None:
                        continue  # a window without an open task: its level shows, nobody is reminded
                    payload = self._deadline_payload(case, deadline, task, deadlines.WARNING)
                    rows += self.messages(conn, now, "deadline_warning", self._deadline_key("warning", deadline),
                                          payload, people.workers(task, case), case_id=case["id"], people=people)
                enqueue(conn, rows)
            moved += len(found)
        return moved

    # --- the owners' digest ---------------------------------------------------------------------
    def next_digest(self, now: datetime) -> datetime:
        """When the next digest is due (now, if today's is due and not yet written)."""
        local = now.astimezone(ZONE)
        day = local.date()
        if self._digest_done != day and self.calendar.is_working_day(day):
            at = datetime.combine(day, self.digest_at, tzinfo=ZONE)
            return max(at, now)
        day += timedelta(days=1)
        while not self.calendar.is_working_day(day):
            day += timedelta(days=1)
        return datetime.combine(day, self.digest_at, tzinfo=ZONE)

    def write_digests(self, db, now: datetime) -> int:
        """Queue today's digests if it is a working day past the digest time and nobody has yet;
        returns how many owners got one."""
        local = now.astimezone(ZONE)
        day = local.date()
        if self._digest_done == day or not self.calendar.is_working_day(day) or local.time() < self.digest_at:
            return 0
        with db.write() as session:
            conn = session.connection()
            if db.is_postgres:
                # one digest writer at a time (per schema: advisory locks are per database)
                conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(
                    func.concat("fengqiao.digest:", func.current_schema())))))
            last = conn.execute(select(Setting.value).where(Setting.key == DIGEST_KEY)).scalar()
            if last is not None and last >= day.isoformat():
                self._digest_done = day
                return 0
            sent = self._queue_digests(conn, now, day)
            conn.execute(delete(Setting).where(Setting.key == DIGEST_KEY))
            conn.execute(Setting.__table__.insert().values(key=DIGEST_KEY, value=day.isoformat()))
        self._digest_done = day
        return sent

    def _queue_digests(self, conn: Connection, now: datetime, day: date) -> int:
        owners = self.digest_lists(conn, now)
        people, sent = self.people(conn), 0
        for owner, lists in owners.items():
            if not any(lists.values()):
                continue
            payload = {"owner": owner, "date": day.isoformat(), "link": f"{self.base_url}/cases?owner={owner}",
                       "due_days": self.digest_due.days, "backlog_days": self.backlog.days,
                       **{f"{name}_count": len(items) for name, items in lists.items()},
                       **{name: items[:_DIGEST_LIST_MAX] for name, items in lists.items()}}
            self.notify(conn, now, "owner_digest", f"digest:{day.isoformat()}:{owner}", payload, [owner],
                        urgent=True, people=people)
            sent += 1
        return sent

    def digest_lists(self, conn: Connection, now: datetime, owner: str | None = None
                     ) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """What the owners' digest says, per owner (or of one owner): their open cases with a step or
        window due within the digest's days (`due_soon`), overdue (`overdue`), and open longer than the
        backlog age (`backlog`), each whole and in case order; the digest sends the first of each."""
        query = (select(case_t.c.id, case_t.c.number, case_t.c.type, case_t.c.owner, case_t.c.created_at)
                 .where(case_t.c.status == "open", case_t.c.owner.is_not(None)).order_by(case_t.c.id))
        if owner is not None:
            query = query.where(case_t.c.owner == owner)
        owned = conn.execute(query).mappings().all()
        if not owned:
            return {}
        by_id = {c["id"]: c for c in owned}
        due_soon: dict[int, list] = {}
        overdue: dict[int, list] = {}
        ids = list(by_id)
        deadline_t = deadlines.deadline_t
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for d in conn.execute(select(deadline_t.c.case_id, deadline_t.c.kind, deadline_t.c.due_at)
                                  .where(deadline_t.c.case_id.in_(chunk), deadline_t.c.status == "pending",
                                         deadline_t.c.due_at <= now + self.digest_due)
                                  .order_by(deadline_t.c.due_at)).mappings():
                (overdue if d["due_at"] <= now else due_soon).setdefault(d["case_id"], []).append(
                    (d["kind"], d["due_at"]))
            for t in conn.execute(select(task_t.c.case_id, task_t.c.name, task_t.c.due_at)
                                  .where(task_t.c.case_id.in_(chunk), task_t.c.status == "ready",
                                         task_t.c.due_at <= now)).mappings():
                overdue.setdefault(t["case_id"], []).append((t["name"], t["due_at"]))
        owners: dict[str, dict[str, list]] = {}
        for case in owned:
            lists = owners.setdefault(case["owner"], {"due_soon": [], "overdue": [], "backlog": []})
            item = {"case_id": case["id"], "case_number": case["number"], "case_type": case["type"],
                    "link": f"{self.base_url}/cases/{case['id']}"}
            if case["id"] in overdue:
                step, due = min(overdue[case["id"]], key=lambda x: x[1])
                lists["overdue"].append({**item, "step": step, "due_at": iso_local(due)})
            elif case["id"] in due_soon:
                step, due = min(due_soon[case["id"]], key=lambda x: x[1])
                lists["due_soon"].append({**item, "step": step, "due_at": iso_local(due)})
            if case["created_at"] <= now - self.backlog:
                lists["backlog"].append({**item, "opened_at": iso_local(case["created_at"]),
                                         "days_open": (now - case["created_at"]).days})
        return owners
