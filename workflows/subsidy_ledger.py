"""The life of a mediator's subsidy entry (以案定补, DOMAIN.md §4) on the engine's append-only ledger.

accrued (the case closed) → reviewed (the town justice office, 司法所) → approved (the county justice
bureau) → paid (in a quarterly batch, only once the quarter has ended); or rejected with a reason: by
the town office while accrued, by the county bureau while accrued or reviewed. A spot check that
finds a false or sub-standard file adds a reversal entry (approved at once, settled in the next
batch); the reversed entry stays as it was and shows who reversed it. Nothing is edited or deleted.

Which office acts (`office`: "town" or "county") is the caller's finding, from the application
layer's authorization table; this module keeps the order of the statuses and what each step writes.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Iterable

from engine import ledger
from engine.application import Actor, CommandScope
from engine.audit import PendingEvent
from engine.errors import Conflict, InvalidInput

STATUSES = ("accrued", "reviewed", "approved", "paid", "rejected")
SUBSIDY, REVERSAL = "subsidy", "reversal"
MAX_REASON = 2000


def record(scope: CommandScope, entries: Iterable[ledger.NewEntry], review_unit: str | None) -> list[dict[str, Any]]:
    """A closing case's entries, accrued, in the case's own command."""
    return ledger.record_entries(scope.session, scope.case["id"], entries, status="accrued",
                                 review_unit=review_unit, now=scope.now, actor="system")


def _reason(reason: Any, *, required: bool) -> str:
    if reason is None or reason == "":
        if required:
            raise InvalidInput("请填写理由 / a reason is required", fields={"reason": "必填 / required"})
        return ""
    if not isinstance(reason, str) or (required and not reason.strip()):
        raise InvalidInput("请填写理由 / a reason is required", fields={"reason": "必填 / required"})
    if len(reason) > MAX_REASON:
        raise InvalidInput(f"理由不超过 {MAX_REASON} 字 / at most {MAX_REASON} characters",
                           fields={"reason": f"不超过 {MAX_REASON} 字 / at most {MAX_REASON} characters"})
    return reason.strip()


def _event(entry, kind: str, actor: Actor, **extra) -> PendingEvent:
    return PendingEvent(kind, {"entry_id": entry.id, "mediator": entry.mediator, "amount_fen": entry.amount_fen,
                               **extra}, actor.username)


def review(session, entry_id: int, actor: Actor, now: datetime, note: Any = "") -> dict[str, Any]:
    """The town justice office has checked the file: accrued → reviewed."""
    return _advance(session, entry_id, actor, now, note, "accrued", "reviewed",
                    ("只能审核“已计提”的记录", "only accrued entries can be reviewed"))


def approve(session, entry_id: int, actor: Actor, now: datetime, note: Any = "") -> dict[str, Any]:
    """The county justice bureau approves a reviewed entry for payment: reviewed → approved."""
    return _advance(session, entry_id, actor, now, note, "reviewed", "approved",
                    ("只能批准“已审核”的记录", "only reviewed entries can be approved"))


def _advance(session, entry_id: int, actor: Actor, now: datetime, note: Any, from_status: str, to_status: str,
             refusal: tuple[str, str]) -> dict[str, Any]:
    note = _reason(note, required=False)
    entry, current = ledger.load(session, entry_id)
    if current.status != from_status:
        raise Conflict(f"{refusal[0]}，此记录为 {current.status} / {refusal[1]} (this one is {current.status})")
    event = ledger.set_status(session, entry, to_status, actor.username, now, note)
    ledger.append_case_events(session, entry.case_id, [_event(entry, f"subsidy_{to_status}", actor)], now)
    return ledger.entry_view(entry, event)


def reject(session, entry_id: int, actor: Actor, now: datetime, reason: Any, *, office: str) -> dict[str, Any]:
    """Refuse an entry not yet approved, with the reason: accrued (town or county) or reviewed (county)."""
    reason = _reason(reason, required=True)
    entry, current = ledger.load(session, entry_id)
    allowed = ("accrued",) if office == "town" else ("accrued", "reviewed")
    if current.status not in allowed:
        raise Conflict(f"此记录为 {current.status}，不能驳回 / an entry that is {current.status} cannot be rejected here")
    event = ledger.set_status(session, entry, "rejected", actor.username, now, reason)
    ledger.append_case_events(session, entry.case_id, [_event(entry, "subsidy_rejected", actor, reason=reason)], now)
    return ledger.entry_view(entry, event)


def reverse(session, entry_id: int, actor: Actor, now: datetime, reason: Any) -> dict[str, Any]:
    """A spot check found a false or sub-standard file: a reversal entry with the opposite amount."""
    reason = _reason(reason, required=True)
    entry, current = ledger.load(session, entry_id)
    if entry.kind != SUBSIDY or entry.amount_fen <= 0:
        raise Conflict("只能冲销金额大于零的补贴记录 / only a subsidy entry with an amount can be reversed")
    if current.status not in ("approved", "paid"):
        raise Conflict(f"此记录为 {current.status}：未批准的记录请直接驳回 / the entry is {current.status}: "
                       f"reject it instead, only approved or paid entries are reversed")
    if ledger.is_reversed(session, entry.id):
        raise Conflict("此记录已被冲销 / this entry has already been reversed")
    reversal, event = ledger.add_reversal(session, entry, kind=REVERSAL, status="approved", actor=actor.username,
                                          now=now, reason=reason)
    ledger.append_case_events(session, entry.case_id, [PendingEvent("subsidy_reversed", {
        "entry_id": reversal.id, "reverses": entry.id, "mediator": entry.mediator,
        "amount_fen": reversal.amount_fen, "reason": reason}, actor.username)], now)
    return ledger.entry_view(reversal, event)


def batch(session, quarter: str, actor: Actor, now: datetime, *, early: bool = False) -> ledger.Batch:
    """Pay every approved entry dated up to the quarter's end in one batch named after the quarter
    (earlier quarters' late approvals included). Only once the quarter has ended, unless `early`,
    which each paid case's history records. Asking again shows the batch made before."""
    key = ledger.normal_quarter(quarter)
    found = ledger.existing_batch(session, key, "paid")
    if found is not None:
        return found
    end = ledger.quarter_end(key)
    if now < end and not early:
        raise Conflict(f"{key} 尚未结束（{end.date().isoformat()} 起方可发放）；确需提前发放请注明提前 / {key} has not "
                       f"ended yet (batches can be made from {end.date().isoformat()}): say early if it must be now")
    if now < ledger.quarter_start(key):
        raise Conflict(f"{key} 尚未开始，不能发放 / {key} has not begun: no batch can be made")
    extra = {"early": True} if now < end else {}
    return ledger.make_batch(session, key, payable_status="approved", paid_status="paid", before=end,
                             actor=actor.username, now=now, event_kind="subsidy_paid", event_data=extra)
