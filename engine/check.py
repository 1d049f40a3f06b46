"""The store's consistency check (`fengqiao check`): what must hold between the tables whatever the
case type, so that an operator (or the crash soak, after every kill) can tell that no command was
half-written and no notification was lost or sent twice.

Per case: its workflow state restores; the ready task rows are exactly the workflow's ready manual
tasks, and the pending deadline rows of its timers exactly its waiting timers (same due time); a
case is closed exactly when its workflow has finished, and a closed case has neither; its hash
chain verifies and every task row is in its history (opened, and completed when it is). The ledger:
every entry has a status row and is in its case's history once per status row; a reversal reverses
an entry of the same case; a payment batch holds the entries and the sum it says. The outbox: a
message is marked sent exactly when one attempt succeeded (never twice), its attempts are all
recorded, and an in-app message that was sent is in its recipient's inbox.

Everything is read in one snapshot (REPEATABLE READ on PostgreSQL, a read transaction on SQLite),
so a check while the service runs sees the store as one commit left it.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import history
from . import runtime as rt
from . import state_codec
from .audit import verify_chain
from .store import (Case, CaseEvent, Deadline, HumanTask, InboxItem, LedgerBatch, LedgerEntry, LedgerEvent,
                    OutboxAttempt, OutboxMessage)

_BATCH = 200  # cases read per round trip


@dataclass(frozen=True)
class Finding:
    """One inconsistency: what kind, where, and what is wrong (Chinese / English)."""
    kind: str  # workflow | tasks | deadlines | status | chain | history | ledger | outbox
    subject: str  # e.g. "case 12 (M-2026-000012)", "outbox 7"
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "message": self.message}

    def __str__(self) -> str:
        return f"[{self.kind}] {self.subject}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    cases: int
    outbox_messages: int
    ledger_entries: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cases_checked": self.cases, "outbox_checked": self.outbox_messages,
                "ledger_entries_checked": self.ledger_entries,
                "findings": [f.as_dict() for f in self.findings]}


@contextmanager
def snapshot(db) -> Iterator[Session]:
    """A read-only session that sees one committed state of the whole store."""
    if db.is_postgres:
        with db.read_engine.connect() as conn:
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with Session(bind=conn) as session:
                session.execute(select(1))  # the snapshot is taken at the first statement
                try:
                    yield session
                finally:
                    session.rollback()
    else:
        with db.read() as session:
            session.execute(select(1))
            yield session


class ConsistencyCheck:
    def __init__(self, engine):
        self.engine = engine

    def run(self, case_ids: Iterable[int] | None = None) -> CheckReport:
        findings: list[Finding] = []
        with snapshot(self.engine.db) as session:
            cases = self._check_cases(session, case_ids, findings)
            entries = self._check_ledger(session, case_ids, findings)
            messages = self._check_outbox(session, findings) if case_ids is None else 0
        return CheckReport(cases, messages, entries, tuple(findings))

    # ------------------------------------------------------------------ cases
    def _check_cases(self, session: Session, case_ids, findings: list[Finding]) -> int:
        query = select(Case.id).order_by(Case.id)
        if case_ids is not None:
            query = query.where(Case.id.in_(list(case_ids)))
        ids = list(session.scalars(query))
        for start in range(0, len(ids), _BATCH):
            chunk = ids[start:start + _BATCH]
            cases = session.execute(select(Case.__table__).where(Case.id.in_(chunk))).mappings().all()
            tasks, deadlines, events = defaultdict(list), defaultdict(list), defaultdict(list)
            for t in session.execute(select(HumanTask.__table__).where(HumanTask.case_id.in_(chunk))).mappings():
                tasks[t["case_id"]].append(t)
            for d in session.execute(select(Deadline.__table__).where(Deadline.case_id.in_(chunk),
                                                                     Deadline.status == "pending")).mappings():
                deadlines[d["case_id"]].append(d)
            events.update(history.events_of(session, chunk))
            for case in cases:
                self._check_case(session, dict(case), tasks[case["id"]], deadlines[case["id"]],
                                 events[case["id"]], findings)
        return len(ids)

    def _check_case(self, session: Session, case: dict, tasks: list, deadlines: list, events: list[CaseEvent],
                    findings: list[Finding]) -> None:
        subject = f"案件 / case {case['id']} ({case['number']})"

        def found(kind: str, message: str) -> None:
            findings.append(Finding(kind, subject, message))

        broken = verify_chain(case["id"], events, case["last_event_seq"], case["last_event_hash"])
        if broken is not None:
            found("chain", broken.reason)
        self._check_history(case, tasks, events, found)
        ready_rows = {t["spiff_id"]: t for t in tasks if t["status"] == "ready"}
        timer_rows = {d["spiff_id"]: d for d in deadlines if d["spiff_id"] is not None}
        if case["status"] != "open" and rt.is_closed_state(state_codec.decode(case["state"])):
            # A closed case keeps only the steps it passed (runtime.closed_state): nothing is left waiting.
            if ready_rows or deadlines:
                found("status", f"已结案的案件仍有 {len(ready_rows)} 个待办、{len(deadlines)} 个待触发期限 / a closed "
                                f"case still has {len(ready_rows)} ready task(s) and {len(deadlines)} pending deadline(s)")
            return
        try:
            workflow = self.engine.restore(session, case, self.engine.application(case["type"]), case["state"])
        except Exception as exc:  # a state that does not restore is exactly what this looks for
            found("workflow", f"工作流状态无法恢复 / the workflow state does not restore: {type(exc).__name__}: {exc}")
            return
        finished = rt.is_completed(workflow)
        if finished != (case["status"] != "open"):
            found("status", f"案件状态为 {case['status']}，而工作流{'已' if finished else '未'}结束 / the case is "
                            f"{case['status']} but its workflow has {'' if finished else 'not '}finished")
        if case["status"] != "open" and (ready_rows or deadlines):
            found("status", f"已结案的案件仍有 {len(ready_rows)} 个待办、{len(deadlines)} 个待触发期限 / a closed case "
                            f"still has {len(ready_rows)} ready task(s) and {len(deadlines)} pending deadline(s)")
        ready = {t.spiff_id: t for t in rt.ready_human_tasks(workflow)}
        for sid in ready.keys() - ready_rows.keys():
            found("tasks", f"工作流中待办的步骤 {ready[sid].spec_name} 没有任务记录 / ready step {ready[sid].spec_name} "
                           f"has no ready task row")
        for sid in ready_rows.keys() - ready.keys():
            row = ready_rows[sid]
            found("tasks", f"任务 {row['id']}（{row['name']}）标为待办，但工作流中不在待办 / task {row['id']} "
                           f"({row['name']}) is ready in the store but not in the workflow")
        waiting = {t.spiff_id: t for t in rt.waiting_timers(workflow)}
        for sid in waiting.keys() - timer_rows.keys():
            found("deadlines", f"工作流等待的期限 {waiting[sid].name} 没有待触发记录 / the workflow waits for timer "
                               f"{waiting[sid].name} that has no pending deadline row")
        for sid, row in timer_rows.items():
            timer = waiting.get(sid)
            if timer is None:
                found("deadlines", f"期限 {row['id']}（{row['kind']}）待触发，但工作流已不在等待 / deadline {row['id']} "
                                   f"({row['kind']}) is pending but the workflow no longer waits for it")
            elif timer.due_at != row["due_at"]:
                found("deadlines", f"期限 {row['id']}（{row['kind']}）到期时间与工作流不符 / deadline {row['id']} "
                                   f"({row['kind']}) is due {row['due_at'].isoformat()} in the store but "
                                   f"{timer.due_at.isoformat()} in the workflow")

    @staticmethod
    def _check_history(case: dict, tasks: list, events: list[CaseEvent], found) -> None:
        if not events or events[0].kind != "case_created":
            found("history", "历史的第一条事件不是 case_created / the history does not begin with case_created")
        opened = {ev.data.get("task_id") for ev in events if ev.kind == "task_opened" and isinstance(ev.data, dict)}
        completed = {ev.data.get("task_id") for ev in events
                     if ev.kind == "task_completed" and isinstance(ev.data, dict)}
        for t in tasks:
            if t["id"] not in opened:
                found("history", f"任务 {t['id']}（{t['name']}）不在历史中 / task {t['id']} ({t['name']}) was never "
                                 f"opened in the history")
            if t["status"] == "completed" and t["id"] not in completed:
                found("history", f"任务 {t['id']}（{t['name']}）已办结，但历史中没有办结事件 / task {t['id']} "
                                 f"({t['name']}) is completed but its completion is not in the history")

    # ------------------------------------------------------------------ the ledger
    def _check_ledger(self, session: Session, case_ids, findings: list[Finding]) -> int:
        query = select(LedgerEntry)
        if case_ids is not None:
            query = query.where(LedgerEntry.case_id.in_(list(case_ids)))
        entries = {e.id: e for e in session.scalars(query)}
        if not entries:
            return 0
        statuses: dict[int, list[LedgerEvent]] = defaultdict(list)
        for ev in session.scalars(select(LedgerEvent).order_by(LedgerEvent.entry_id, LedgerEvent.id)):
            statuses[ev.entry_id].append(ev)
        mentions: dict[int, Counter] = defaultdict(Counter)  # case id -> entry id -> events naming it
        case_of = {e.case_id for e in entries.values()}
        for case_id, evs in history.events_of(session, case_of).items():
            for ev in evs:
                for entry_id in _entries_named(ev.data):
                    mentions[case_id][entry_id] += 1
        for entry in entries.values():
            subject = f"台账 / ledger entry {entry.id} (case {entry.case_id})"
            rows = statuses.get(entry.id, [])
            if not rows:
                findings.append(Finding("ledger", subject, "没有状态记录 / it has no status row"))
            elif entry.status != rows[-1].status:
                findings.append(Finding("ledger", subject, f"记载的状态为 {entry.status}，最新状态记录为 "
                                                           f"{rows[-1].status} / it says {entry.status!r}, its "
                                                           f"newest status row {rows[-1].status!r}"))
            named = mentions[entry.case_id][entry.id]
            if named != len(rows):
                findings.append(Finding("ledger", subject, f"有 {len(rows)} 条状态记录，案件历史中记载 {named} 次 / "
                                                           f"{len(rows)} status row(s) but {named} event(s) in its "
                                                           f"case's history"))
            if entry.reverses is not None:
                target = entries.get(entry.reverses) or session.get(LedgerEntry, entry.reverses)
                if target is None or target.case_id != entry.case_id:
                    findings.append(Finding("ledger", subject, f"冲正的台账 {entry.reverses} 不属于同一案件 / it "
                                                               f"reverses entry {entry.reverses}, not of its case"))
        if case_ids is None:
            paid: dict[str, list[int]] = defaultdict(list)
            for entry_id, rows in statuses.items():
                for batch in {r.batch for r in rows if r.batch}:
                    paid[batch].append(entry_id)
            batches = {b.key: b for b in session.scalars(select(LedgerBatch))}
            for key in paid.keys() - batches.keys():
                findings.append(Finding("ledger", f"批次 / batch {key}", "状态记录指向不存在的发放批次 / status rows "
                                                                         "name a batch that does not exist"))
            for key, batch in batches.items():
                ids = paid.get(key, [])
                total = sum(entries[i].amount_fen for i in ids if i in entries)
                if len(ids) != batch.entry_count or total != batch.total_fen:
                    findings.append(Finding("ledger", f"批次 / batch {key}",
                                            f"批次记载 {batch.entry_count} 条共 {batch.total_fen} 分，实有 {len(ids)} 条共 "
                                            f"{total} 分 / the batch says {batch.entry_count} entries, {batch.total_fen} fen; "
                                            f"it holds {len(ids)}, {total} fen"))
        return len(entries)

    # ------------------------------------------------------------------ the outbox
    @staticmethod
    def _check_outbox(session: Session, findings: list[Finding]) -> int:
        attempts: dict[int, list[bool]] = defaultdict(list)
        for message_id, ok in session.execute(select(OutboxAttempt.message_id, OutboxAttempt.ok)):
            attempts[message_id].append(ok)
        inbox = Counter(session.scalars(select(InboxItem.message_id)))
        count = 0
        for m in session.execute(select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.attempts,
                                        OutboxMessage.channel, OutboxMessage.sent_at)):
            count += 1
            subject = f"通知 / outbox {m.id}"
            tries = attempts.get(m.id, [])
            successes = sum(1 for ok in tries if ok)
            if successes > 1:
                findings.append(Finding("outbox", subject, f"发送成功 {successes} 次 / sent {successes} times"))
            if m.status == "sent" and successes == 0:
                findings.append(Finding("outbox", subject, "标为已发送，但没有成功的发送记录 / marked sent without a "
                                                           "successful attempt"))
            if m.status != "sent" and successes:
                findings.append(Finding("outbox", subject, f"已成功发送，但状态为 {m.status}（会再发一次或被遗漏）/ "
                                                           f"an attempt succeeded but the message is {m.status}"))
            if m.status == "sent" and m.sent_at is None:
                findings.append(Finding("outbox", subject, "已发送但没有发送时间 / sent without a sent time"))
            if len(tries) < m.attempts:  # a retried message counts afresh; its old attempts stay
                findings.append(Finding("outbox", subject, f"记载尝试 {m.attempts} 次，发送记录有 {len(tries)} 条 / "
                                                           f"{m.attempts} attempt(s) counted, {len(tries)} recorded"))
            if m.channel == "inapp" and (inbox[m.id] > 0) != (m.status == "sent"):
                findings.append(Finding("outbox", subject, f"站内通知状态为 {m.status}，收件箱中有 {inbox[m.id]} 条 / "
                                                           f"an in-app message {m.status} with {inbox[m.id]} inbox item(s)"))
        return count


def _entries_named(data: Any) -> list[int]:
    """The ledger entry ids a case event names: `entry_id`, `entry_ids`, or `entries[].id`."""
    if not isinstance(data, dict):
        return []
    named = []
    if isinstance(data.get("entry_id"), int):
        named.append(data["entry_id"])
    if isinstance(data.get("entry_ids"), list):
        named += [i for i in data["entry_ids"] if isinstance(i, int)]
    if isinstance(data.get("entries"), list):
        named += [e["id"] for e in data["entries"] if isinstance(e, dict) and isinstance(e.get("id"), int)]
    return named


def count_open_by_type(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Case.type, func.count()).where(Case.status == "open").group_by(Case.type)).all())
