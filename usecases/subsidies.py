"""Use cases on the subsidy ledger (以案定补, DOMAIN.md §4): list, review, approve, reject, reverse, batch."""
from __future__ import annotations

from datetime import timedelta
from typing import Any, Callable, Iterable

from sqlalchemy import func, select

from engine import ledger
from engine.application import Actor
from engine.errors import Forbidden, InvalidInput, NotFound
from engine.store import Case, LedgerEntry, LedgerTally
from workflows import subsidy_ledger

from . import authorization as authz
from . import ledger_report as report
from .base import MAX_ID, UseCases, check_id
from .relations import (
    OrgTree,
    at_county,
    entry_relations,
    readable_entries_sql,
    readable_entry_branches,
)

# Which actions an entry's status leaves open (the order of workflows/subsidy_ledger.py), for the page.
OPEN_ACTIONS = {"accrued": ("review", "reject"), "reviewed": ("approve", "reject"), "approved": ("reverse",),
                "paid": ("reverse",)}


class Subsidies(UseCases):
    def list(self, actor: Actor, *, mediator: Any = None, status: Any = None, quarter: Any = None,
             case_id: int | None = None, after: int | None = None, limit: int = 100):
        """A page of the entries the actor may read, oldest first: auditors and the county justice bureau
        read all, a town justice office its own town's, a mediator their own."""
        if not authz.allowed("subsidy.read", actor, {authz.ENTRY_OFFICE, authz.OFFICE_ABOVE, authz.PAYEE}):
            raise Forbidden(authz.REFUSALS["subsidy.read"])
        if status is not None and status not in subsidy_ledger.STATUSES:
            raise InvalidInput(f"状态必须是 {', '.join(subsidy_ledger.STATUSES)} 之一 / status must be one of "
                               f"{', '.join(subsidy_ledger.STATUSES)}", fields={"status": "未知状态 / unknown status"})
        for name, value in (("case", case_id), ("after", after)):
            if value is not None:
                check_id(value, name)
        with self.db.read() as session:
            conditions = readable_entry_branches(OrgTree.load(session), actor)
            return ledger.list_entries(session, conditions=conditions, mediator=mediator, status=status,
                                       quarter=quarter, case_id=case_id, after=after, limit=limit)

    def _act(self, actor: Actor, entry_id: int, use_case: str, action: Callable) -> dict[str, Any]:
        now = self.now()
        with self.db.write() as session:
            tree = OrgTree.load(session)
            entry, _ = ledger.load(session, check_id(entry_id))
            relations = entry_relations(tree, actor, entry)
            if not authz.allowed("subsidy.read", actor, relations):
                raise authz.not_found("补贴记录 / ledger entry", entry_id)
            authz.require(use_case, actor, relations)
            return action(session, relations, now)

    def review(self, actor: Actor, entry_id: int, note: Any = "") -> dict[str, Any]:
        return self._act(actor, entry_id, "subsidy.review",
                         lambda s, rel, now: subsidy_ledger.review(s, entry_id, actor, now, note))

    def approve(self, actor: Actor, entry_id: int, note: Any = "") -> dict[str, Any]:
        return self._act(actor, entry_id, "subsidy.approve",
                         lambda s, rel, now: subsidy_ledger.approve(s, entry_id, actor, now, note))

    def reject(self, actor: Actor, entry_id: int, reason: Any) -> dict[str, Any]:
        def act(s, relations, now):
            office = "county" if authz.OFFICE_ABOVE in relations else "town"
            return subsidy_ledger.reject(s, entry_id, actor, now, reason, office=office)
        return self._act(actor, entry_id, "subsidy.reject", act)

    def reverse(self, actor: Actor, entry_id: int, reason: Any) -> dict[str, Any]:
        return self._act(actor, entry_id, "subsidy.reverse",
                         lambda s, rel, now: subsidy_ledger.reverse(s, entry_id, actor, now, reason))

    def batch(self, actor: Actor, quarter: Any, *, early: bool = False) -> ledger.Batch:
        """The quarter's payment batch: made once, and only once the quarter has ended unless `early`."""
        if not isinstance(quarter, str):
            raise InvalidInput("请指明季度，如 2026Q4 / the quarter is required, e.g. 2026Q4",
                               fields={"quarter": "必填 / required"})
        now = self.now()
        with self.db.write() as session:
            authz.require("subsidy.batch", actor, at_county(OrgTree.load(session), actor))
            return subsidy_ledger.batch(session, quarter, actor, now, early=early)

    def entry_case_numbers(self, case_ids: Iterable[int]) -> dict[int, str]:
        """The numbers of the entries' cases, for printing a batch."""
        ids = sorted(set(case_ids))
        if not ids:
            return {}
        with self.db.read() as session:
            return dict(session.execute(select(Case.id, Case.number).where(Case.id.in_(ids))).all())


    # ---- for the justice officers' page (/subsidies) -------------------------------------------------
    def queue_status(self, actor: Actor) -> str | None:
        """The status of the entries waiting for the actor: accrued for a town justice office (it
        reviews), reviewed for the county bureau (it approves); None for whoever only reads."""
        with self.db.read() as session:
            tree = OrgTree.load(session)
        if authz.allowed("subsidy.approve", actor, {authz.OFFICE_ABOVE}) and at_county(tree, actor):
            return "reviewed"
        if authz.allowed("subsidy.review", actor, {authz.ENTRY_OFFICE}):
            return "accrued"
        return None

    def may_batch(self, actor: Actor) -> bool:
        with self.db.read() as session:
            return authz.allowed("subsidy.batch", actor, at_county(OrgTree.load(session), actor))

    def batch_info(self, actor: Actor, quarter: Any = None) -> dict[str, Any]:
        """A quarter's payment batch as it stands (default: the last quarter that has ended): when the
        quarter ends, whether it has, the batch if it was made (entries and total) or what it would
        pay, for the page that prints it or offers to make it."""
        now = self.now()
        if quarter is None or quarter == "":
            quarter = ledger.quarter_of(ledger.quarter_start(ledger.quarter_of(now)) - timedelta(days=1))
        if not isinstance(quarter, str):
            raise InvalidInput("请指明季度，如 2026Q4 / the quarter is required, e.g. 2026Q4",
                               fields={"quarter": "必填 / required"})
        key = ledger.normal_quarter(quarter.strip())
        with self.db.read() as session:
            authz.require("subsidy.batch", actor, at_county(OrgTree.load(session), actor))
            found = ledger.existing_batch(session, key, "paid")
            waiting = None
            if found is None:
                waiting = session.execute(
                    ledger.with_status(select(func.count(), func.coalesce(func.sum(LedgerEntry.amount_fen), 0)))
                    .where(LedgerEntry.status == "approved", LedgerEntry.amount_fen != 0,
                           LedgerEntry.created_at < ledger.quarter_end(key))).one()
        end = ledger.quarter_end(key)
        year, q = int(key[:4]), int(key[-1])
        recent, (y, n) = [], (int(ledger.quarter_of(now)[:4]), int(ledger.quarter_of(now)[-1]))
        for _i in range(8):
            recent.append(f"{y}Q{n}")
            y, n = (y - 1, 4) if n == 1 else (y, n - 1)
        return {"quarter": key, "ends_at": end, "ended": now >= end, "batch": found, "recent": recent,
                "current": ledger.quarter_of(now), "year": year, "number": q,
                "payable": None if waiting is None else {"entries": waiting[0], "total_fen": int(waiting[1])}}

    def entry(self, actor: Actor, entry_id: Any) -> dict[str, Any]:
        """One entry the actor may read, with `may`: what they may do with it now (for the page's
        buttons; each use case checks again). Missing and not theirs answer alike."""
        if isinstance(entry_id, bool) or not isinstance(entry_id, int) or not 1 <= entry_id <= MAX_ID:
            raise authz.not_found("补贴记录 / ledger entry", entry_id)
        with self.db.read() as session:
            tree = OrgTree.load(session)
            try:
                entry, current = ledger.load(session, entry_id)
            except NotFound:
                raise authz.not_found("补贴记录 / ledger entry", entry_id) from None
            relations = entry_relations(tree, actor, entry)
            if not authz.allowed("subsidy.read", actor, relations):
                raise authz.not_found("补贴记录 / ledger entry", entry_id)
            may = [a for a in OPEN_ACTIONS.get(current.status, ()) if authz.allowed(f"subsidy.{a}", actor, relations)]
            if "reverse" in may and (entry.kind != subsidy_ledger.SUBSIDY or entry.amount_fen <= 0
                                     or ledger.is_reversed(session, entry.id)):
                may.remove("reverse")
            if "reject" in may and current.status == "reviewed" and authz.OFFICE_ABOVE not in relations:
                may.remove("reject")  # once reviewed, only the county bureau rejects
            return {**ledger.entry_view(entry, current), "may": may}
    # ---- the ledger as a report: filters by unit too, with totals (the auditors' 台账) ----------------
    def ledger_report(self, actor: Actor, *, after: int | None = None, limit: int = 100,
                      **filters: Any) -> dict[str, Any]:
        """A page of the entries the actor may read, oldest first, with their case's number and unit,
        filtered by mediator, unit (the case's, with the units below it), quarter and status, and the
        totals of the whole filter (count and fen, in all and per status)."""
        self._require_read(actor)
        chosen = report.checked_filters(filters)
        with self.db.read() as session:
            tree = OrgTree.load(session)
            visible = readable_entries_sql(tree, actor)
            items, next_after = report.page(session, tree, visible, chosen, after=after, limit=limit)
            kept = readable_entries_sql(tree, actor, table=LedgerTally)
            return {"items": items, "next": next_after, "totals": report.totals(session, tree, kept, chosen),
                    "filters": chosen}

    def ledger_rows(self, actor: Actor, **filters: Any):
        """Every entry of the report's filter, read a page at a time (for exports of any length)."""
        self._require_read(actor)
        chosen = report.checked_filters(filters)
        return report.rows(self.db.read, lambda tree: readable_entries_sql(tree, actor), chosen)

    @staticmethod
    def _require_read(actor: Actor) -> None:
        if not authz.allowed("subsidy.read", actor, {authz.ENTRY_OFFICE, authz.OFFICE_ABOVE, authz.PAYEE}):
            raise Forbidden(authz.REFUSALS["subsidy.read"])
