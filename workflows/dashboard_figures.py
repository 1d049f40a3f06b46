"""The county dashboard's figures (全县概况), each one SQL aggregate over the store or over the counts
kept as cases change (workflows/dashboard_tally.py: closed disputes by outcome, cases by category
and month, steps on time; engine/ledger.py's ledger totals: subsidy per quarter).

What a case type means by its codes lives here, not in the application layer: which outcomes of a
closed dispute count as resolved at which level (the Fengqiao figure, DOMAIN.md §2), where a case's
category is kept, which case type has owner leaders and backlog (§3), what of the ledger a
quarter's subsidy total counts (§4). The caller gives the time range and the reader's scope as SQL
conditions (`visible` on Case, `task_units` on HumanTask) or, for the kept counts, as the set of
unit codes (None for the whole county) and rolls units up itself.

Every function answers rows of plain numbers; none loads a case.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from engine.calendar import ZONE
from engine.store import Case, HumanTask, LedgerTally, User

from . import dashboard_tally, subsidy_ledger
from .petition_board import NO_OWNER, OPEN, overdue_sql

DISPUTE_TYPE = dashboard_tally.DISPUTE_TYPE
# The Fengqiao figure: a closed dispute's outcome → the level that resolved it (小事不出村、大事不出镇).
RESOLVED_AT = {"resolved_village": "village", "resolved_town": "town", "resolved_county": "county"}
# Every other outcome of a closed dispute, in the order the dashboard lists them.
OTHER_OUTCOMES = ("court", "refused", "withdrawn")
OWNER_ROLE = "leader"  # whose open petitions the backlog figure counts (petition_board: 领导包案)
UNCATEGORIZED = dashboard_tally.UNCATEGORIZED  # a case registered without a category counts as 其他


def fengqiao(session: Session, units: set[str] | None, start: datetime, end: datetime) -> dict[str, int]:
    """Closed disputes by outcome, closed in [start, end) (Asia/Shanghai midnights), held by `units`
    (None: all). (Read from the counts kept on closing: workflows/dashboard_tally.py.)"""
    return dashboard_tally.closed(session, units, start.astimezone(ZONE).date(), end.astimezone(ZONE).date())


def on_time(session: Session, units: set[str] | None, start: datetime, end: datetime, *,
            rolled: Sequence[str] | None = None) -> list[tuple[str, str | None, int, int]]:
    """Steps with a due time completed in [start, end) (Asia/Shanghai midnights): (step, unit,
    completed, on time) per step and the unit that worked it, of `units` (None: all). A step done by
    its due instant is on time. (Read from the counts kept on completion: workflows/dashboard_tally.py.)
    For the whole county `rolled` may give the county and the units right below it: each of those
    then answers for its whole subtree (the rows kept under it), the county for itself alone."""
    return dashboard_tally.steps(session, units, start.astimezone(ZONE).date(), end.astimezone(ZONE).date(),
                                 rolled=rolled)


def step_titles(session: Session, names: Sequence[str]) -> dict[str, str]:
    """Each step's title as its tasks carry it ("中文 / English"), one look-up per step."""
    found = {}
    for name in names:
        title = session.scalar(select(HumanTask.title).where(HumanTask.status == "completed", HumanTask.name == name)
                               .limit(1))
        found[name] = title or name
    return found


def overdue(session: Session, task_units, now: datetime) -> list[tuple[str | None, int]]:
    """Open steps past their due time now, per unit that has them."""
    query = (select(HumanTask.org_unit, func.count())
             .where(HumanTask.status == "ready", HumanTask.due_at.is_not(None), HumanTask.due_at < now)
             .group_by(HumanTask.org_unit))
    if task_units is not None:
        query = query.where(task_units)
    return [tuple(row) for row in session.execute(query)]


def backlog(session: Session, units: set[str] | None, now: datetime, *, backlog_days: int) -> list[dict[str, Any]]:
    """Open petitions per owner leader with their backlog (信访积案) and those overdue, as the petition
    board counts them (petition_board.owner_board): a row per active user with the owner role, then
    any other owner, then the petitions nobody owns (leader None) when there are any. Open and
    backlog from the counts kept as petitions change (workflows/dashboard_tally.py); overdue from
    the open petitions' kept soonest due time (`next_due_at`) on ix_case_open_board."""
    counts = dashboard_tally.petitions(session, units, now, backlog_days)
    # An open petition is overdue when the soonest due time of its open steps is past (next_due_at,
    # migration 0018): counted per owner from the entries of ix_case_open_board (0019).
    late = (select(Case.owner, func.count())
            .where(Case.type == dashboard_tally.PETITION_TYPE, Case.status == literal_column(f"'{OPEN}'"),
                   overdue_sql(now))
            .group_by(Case.owner))
    if units is not None:
        late = late.where(Case.jurisdiction.in_(sorted(units)))
    overdue_of = {owner or "": int(n) for owner, n in session.execute(late)}
    users = session.execute(select(User.username, User.display_name, User.roles).where(User.active.is_(True))
                            .order_by(User.username)).all()
    names = {u.username: u.display_name for u in users}
    owners = [u.username for u in users if OWNER_ROLE in (u.roles or [])]
    owners += sorted(o for o in {*counts, *overdue_of} if o and o not in owners)
    rows = []
    for owner in [*owners, ""]:
        opened, old = counts.get(owner, (0, 0))
        if owner or opened:
            rows.append({"leader": owner or None, "display_name": (names.get(owner) or owner) if owner else NO_OWNER,
                         "open": opened, "backlog": old, "overdue": overdue_of.get(owner, 0)})
    return rows


# An entry leaves these statuses never again (a correction is a new reversal entry): whether an entry
# is paid or rejected is whether its current status is.
PAID, REJECTED = "paid", "rejected"


def subsidy_by_quarter(session: Session, units: set[str] | None, quarters: Sequence[str]
                       ) -> list[tuple[str, int, int, int, int]]:
    """Per quarter (by entry date): (quarter, entries, amount recorded in fen net of reversals and of
    rejected entries, amount paid, amount rejected), of the cases held by `units` (None: all). (Read
    from the ledger's kept totals, engine/ledger.py's `ledger_tally`: a row per quarter, review
    unit, mediator, unit, status and kind.)"""
    if not quarters:
        return []
    kinds = (subsidy_ledger.SUBSIDY, subsidy_ledger.REVERSAL)
    query = (select(LedgerTally.quarter, LedgerTally.status, func.sum(LedgerTally.count),
                    func.sum(LedgerTally.amount_fen))
             .where(LedgerTally.quarter.in_(list(quarters)), LedgerTally.kind.in_(kinds))
             .group_by(LedgerTally.quarter, LedgerTally.status))
    if units is not None:
        query = query.where(LedgerTally.unit.in_(sorted(units)))
    found: dict[str, list[int]] = {}
    for quarter, status, count, amount in session.execute(query):
        row = found.setdefault(quarter, [0, 0, 0, 0])  # entries, amount, paid, rejected
        row[0] += int(count or 0)
        row[1] += int(amount or 0)
        if status == PAID:
            row[2] += int(amount or 0)
        elif status == REJECTED:
            row[3] += int(amount or 0)
    return [(quarter, n, total - rejected, paid, rejected)
            for quarter, (n, total, paid, rejected) in found.items() if n]


def by_category_and_month(session: Session, units: set[str] | None, month_starts: Sequence[datetime]
                          ) -> list[tuple[str, int, int]]:
    """Cases registered per category and month: (category, month index, count), of the cases held by
    `units` (None: all). `month_starts` are the first instants of the months (Asia/Shanghai) and of
    the month after the last.

    Both case types name their matter's category at registration (DOMAIN.md §7, `data.category`);
    the counts are kept per unit, month and category as cases are registered and change hands
    (workflows/dashboard_tally.py), so this reads a row per unit, month and category."""
    if len(month_starts) < 2:
        return []
    months = [dashboard_tally.month_of(start) for start in month_starts[:-1]]
    index = {month: i for i, month in enumerate(months)}
    return [(category, index[month], count)
            for category, month, count in dashboard_tally.registered(session, units, months) if count]
