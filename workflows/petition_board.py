"""The petition office's board (DOMAIN.md §3, 领导包案): open petitions per owner leader, with how
many have a step due within a week, overdue, or are backlog (积案), and those nobody owns yet that
need an owner (repeat, group or backlog petitions, Art. 18).

The board is one aggregate query (`GROUP BY owner`) over the petitions the reader may see; the list
behind each of its figures (`measure_condition`) is the same condition, so a figure's link shows
exactly the cases it counts.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal_column,
    not_,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from engine.store import Case, HumanTask, User

from . import board_reach, board_tally

NO_OWNER = "（无包案领导）/ no owner yet"
MEASURES = ("open", "due_within_7_days", "overdue", "backlog", "needs_owner")
FLAGS = ("repeat", "group", "final_matter")
OPEN = "open"


def _stored_flag(flag: str):
    # Flags are a JSON list of lowercase codes: its text holds "code" exactly when the list does.
    return cast(Case.flags, String).like(f'%"{flag}"%')


def _lacks(flag: str):
    return or_(Case.flags.is_(None), not_(_stored_flag(flag)))


def overdue_sql(now: datetime):
    """An open step of the case is past its due time (a step whose deadline fired stays overdue): the
    soonest due time of its open steps, kept on the case (`next_due_at`, migration 0018), is."""
    return Case.next_due_at <= now


def due_soon_sql(now: datetime, days: int = 7):
    """An open step of the case falls due after now and within `days` days: its soonest one does, or,
    when that one is past due already, another does (only those cases probe their steps)."""
    later = exists().where(HumanTask.case_id == Case.id, HumanTask.status == "ready", HumanTask.due_at.is_not(None),
                           HumanTask.due_at > now, HumanTask.due_at <= now + timedelta(days=days))
    return or_(and_(Case.next_due_at > now, Case.next_due_at <= now + timedelta(days=days)),
               and_(Case.next_due_at <= now, later))


def backlog_sql(now: datetime, backlog_days: int):
    """Marked backlog by the office, or open longer than the backlog period."""
    return or_(_stored_flag("backlog"), Case.created_at < now - timedelta(days=backlog_days))


def needs_owner_sql(now: datetime, backlog_days: int):
    """Nobody owns it yet and it must have an owner: a repeat, group or backlog petition (Art. 18)."""
    return and_(Case.owner.is_(None), or_(_stored_flag("repeat"), _stored_flag("group"),
                                          backlog_sql(now, backlog_days)))


def open_petitions(visible, *, flags: tuple[str, ...] = (), units: list[str] | None = None):
    """The conditions on Case of the open petitions on the board: those `visible` (the reader's SQL
    condition, None: all), with every flag of `flags`, held by one of `units` (None: any)."""
    # The status named literally, so both stores read the partial index of the open petitions
    # (ix_case_open_board, migration 0019): the board's every figure from its entries alone.
    conditions = [Case.type == "petition", Case.status == literal_column(f"'{OPEN}'")]
    if visible is not None:
        conditions.append(visible)
    conditions += [_stored_flag(f) for f in flags if f in FLAGS]
    if units is not None:
        conditions.append(Case.jurisdiction.in_(sorted(units)))
    return conditions


def measure_condition(measure: str, now: datetime, *, due_days: int = 7, backlog_days: int = 90):
    """The condition on Case of one of the board's figures (`MEASURES`); None for `open` (every row)."""
    return {"open": None, "due_within_7_days": due_soon_sql(now, due_days), "overdue": overdue_sql(now),
            "backlog": backlog_sql(now, backlog_days), "needs_owner": needs_owner_sql(now, backlog_days)}[measure]


def board_query(visible, now: datetime, *, due_days: int = 7, backlog_days: int = 90, flags: tuple[str, ...] = (),
                units: list[str] | None = None):
    """The board's aggregate: (owner, open, due soon, overdue, backlog, needs owner) per owner of the
    open petitions `visible`, read from the entries of ix_case_open_board alone (migration 0019)."""
    return (select(Case.owner, func.count().label("open"),
                   total(due_soon_sql(now, due_days)).label("due_soon"),
                   total(overdue_sql(now)).label("overdue"),
                   total(backlog_sql(now, backlog_days)).label("backlog"),
                   total(needs_owner_sql(now, backlog_days)).label("needs_owner"))
            .where(*open_petitions(visible, flags=flags, units=units)).group_by(Case.owner))


def owner_board(session: Session, visible, now: datetime, *, owner_role: str, due_days: int = 7,
                backlog_days: int = 90, flags: tuple[str, ...] = (), units: list[str] | None = None
                ) -> list[dict[str, Any]]:
    """One row per active user with the owner role (those without cases too), then any other owner of
    a visible case, and a last row, leader None, for the petitions nobody owns yet (`needs_owner`: of
    those, the ones that must have an owner). `visible` is the reader's SQL condition on Case (None:
    all); `flags` and `units` narrow the petitions counted. A case may count as both due soon and
    overdue. One aggregate query over every open petition: the board's definition, which
    `kept_board` answers from kept counts."""
    query = board_query(visible, now, due_days=due_days, backlog_days=backlog_days, flags=flags, units=units)
    return _assembled(session, owner_role, session.execute(query))


def kept_board(session: Session, now: datetime, *, readable: set[str] | None, others: list, roots: tuple = (),
               below: Callable[[str], set[str]], owner_role: str, due_days: int = 7, backlog_days: int = 90,
               flags: tuple[str, ...] = (), units: list[str] | None = None,
               reach: list[str] | None = None) -> list[dict[str, Any]]:
    """`owner_board` of the reader who may read every case held by the units `readable` (None: every
    case) and those `others` name (conditions on Case: what they own, registered, worked), read
    without every open petition: the open petitions of those units (and of `units`, when given) from
    the kept counts (workflows/board_tally.py: a row per owner and set of flags, or per unit when
    they are not one unit's subtree; `roots` are the units to try as that one, `below` gives the
    units under one), their figures that change with time from the open petitions' index ranges
    (those with a step due within `due_days` days or past due, those older than the backlog period),
    and, only when the kept counts show open petitions outside those units, the ones of them the
    reader reads otherwise: with `reach` (the reader's keys, usecases/relations.py `reach_keys`, one
    per condition of `others`), those the kept rows of workflows/board_reach.py name, a range of the
    reader's rows outside its units; without, each open petition outside them tried against
    `others`. The same rows as `owner_board` gives."""
    if readable is None:
        held = None if units is None else set(units)
    else:
        held = set(readable) if units is None else set(readable) & set(units)
    rows: list[tuple] = []
    # One statement for the kept counts of the reader's units, of every open petition, and of the
    # units asked for (the last two tell whether anything lies outside the reader's units).
    scopes = [board_tally.scope(held, roots, below), board_tally.scope(None, (), below)]
    if units is not None:
        scopes.append(board_tally.scope(set(units), roots, below))
    tallied, *beside = board_tally.counts(session, scopes, flags)
    for owner, code, n in tallied:
        marked = board_tally.has(code, "backlog")
        must = owner is None and (marked or board_tally.has(code, "repeat") or board_tally.has(code, "group"))
        rows.append((owner, n, 0, 0, n if marked else 0, n if must else 0))
    sums = [sum(n for *_k, n in found) for found in (tallied, *beside)]
    # When every open petition (with the flags) is of those units, no condition on the unit is needed,
    # nor anything read one by one: the county's board, say.
    everything = held is None or sums[0] == sums[1]
    reads = []
    if (held is None or held) and reach is not None:
        # The statement built once (per set of flags), its instants and units bound.
        params = {"b_now": now, "b_soon": now + timedelta(days=due_days), "b_aged": now - timedelta(days=backlog_days)}
        if not everything:
            params["b_units"] = sorted(held)
        rows += session.execute(timed_statement(tuple(flags), not everything), params).all()
    elif held is None or held:
        where = open_petitions(None, flags=flags, units=None if everything else sorted(held))
        reads += timed_queries(where, now, due_days=due_days, backlog_days=backlog_days)
    if readable is not None and others and not everything and (units is None or sums[0] != sums[2]):
        # Open petitions outside the units (of those asked for): the ones the reader reads otherwise.
        if reach is not None:
            # Named by the reader's kept rows outside its units (of those asked for): a few cases,
            # found by id, whatever the number of open petitions or of the reader's old steps.
            found = board_reach.reached_ids(session, reach, held, units)
            if found:
                rows += outside_rows(session, found, now, due_days=due_days, backlog_days=backlog_days,
                                     flags=flags, units=units)
        else:
            outside = or_(Case.jurisdiction.is_(None), Case.jurisdiction.not_in(sorted(held))) if held else None
            visible = and_(outside, or_(*others)) if outside is not None else or_(*others)
            reads.append(board_query(visible, now, due_days=due_days, backlog_days=backlog_days, flags=flags,
                                     units=units))
    if reads:  # one statement
        rows += session.execute(union_all(*reads) if len(reads) > 1 else reads[0]).all()
    return _assembled(session, owner_role, rows)


_OUTSIDE = (select(Case.id, Case.owner, Case.flags, Case.jurisdiction, Case.created_at, Case.next_due_at)
            .where(Case.id.in_(bindparam("b_ids", expanding=True)), Case.type == "petition",
                   Case.status == literal_column(f"'{OPEN}'")))
_DUE_LATER = (select(HumanTask.case_id).where(
    HumanTask.case_id.in_(bindparam("b_ids", expanding=True)), HumanTask.status == "ready",
    HumanTask.due_at.is_not(None), HumanTask.due_at > bindparam("b_now"), HumanTask.due_at <= bindparam("b_soon"))
    .distinct())


def outside_rows(session: Session, ids: list[int], now: datetime, *, due_days: int = 7, backlog_days: int = 90,
                 flags: tuple[str, ...] = (), units: list[str] | None = None) -> list[tuple]:
    """The board's figures of the open petitions `ids` (a few, named by the kept rows of who reaches
    them), with every flag of `flags`, held by one of `units` (None: any): a row per petition like
    board_query's, by the same conditions (overdue_sql, due_soon_sql, backlog_sql, needs_owner_sql)
    applied to its columns, its steps probed only when it is past due already. Two statements built
    once, whatever the petitions."""
    wanted = [f for f in flags if f in FLAGS]
    found = [r for r in session.execute(_OUTSIDE, {"b_ids": ids})
             if all(f in (r.flags or ()) for f in wanted) and (units is None or r.jurisdiction in units)]
    soon, aged = now + timedelta(days=due_days), now - timedelta(days=backlog_days)
    late = [r.id for r in found if r.next_due_at is not None and r.next_due_at <= now]
    later = set(session.scalars(_DUE_LATER, {"b_ids": late, "b_now": now, "b_soon": soon})) if late else set()
    rows = []
    for r in found:
        present, due = set(r.flags or ()), r.next_due_at
        overdue = due is not None and due <= now
        due_soon = (due is not None and now < due <= soon) or (overdue and r.id in later)
        backlog = "backlog" in present or r.created_at < aged
        needs = r.owner is None and ("repeat" in present or "group" in present or backlog)
        rows.append((r.owner, 1, int(due_soon), int(overdue), int(backlog), int(needs)))
    return rows


def timed_queries(where: list, now: datetime, *, due_days: int = 7, backlog_days: int = 90):
    """The board's figures that change with time, of the open petitions `where` names, as rows like
    board_query's (owner or '', open, due soon, overdue, backlog, needs owner; 0 where not counted):
    those with a step due within `due_days` days or past due (ix_case_open_due's range), and those
    older than the backlog period (ix_case_open_age's) not marked backlog, of which those nobody owns
    that need an owner by age alone (not repeat, group or marked)."""
    return _timed(where, now, now + timedelta(days=due_days), now - timedelta(days=backlog_days))


_TIMED: dict[tuple, Any] = {}
_NOW, _SOON, _AGED = (bindparam(name, type_=Case.next_due_at.type) for name in ("b_now", "b_soon", "b_aged"))


def timed_statement(flags: tuple[str, ...], by_units: bool):
    """timed_queries as one statement built once per set of flags (and whether `b_units` names the
    units), its instants bound: `b_now`, `b_soon` (now + the days of "due soon"), `b_aged` (now - the
    backlog period); what the kept board runs on every call."""
    key = (flags, by_units)
    stmt = _TIMED.get(key)
    if stmt is None:
        where = open_petitions(None, flags=flags)
        if by_units:
            where.append(Case.jurisdiction.in_(bindparam("b_units", expanding=True)))
        stmt = _TIMED[key] = union_all(*_timed(where, _NOW, _SOON, _AGED))
    return stmt


def _timed(where: list, now, soon, aged):
    # Grouped by an expression no index is ordered by: else SQLite reads the open petitions in owner
    # order (ix_case_open_board, ix_case_owner_due) to spare the sort, not the range.
    owner = func.coalesce(Case.owner, "")

    def zero(name: str):
        return literal_column("0").label(name)

    # due_soon_sql, its steps probed one case at a time (a scalar subquery with LIMIT 1, in a CASE so
    # only the cases past due already run it): PostgreSQL would read every step of the county due
    # within the week to hash them (10,000 at 1,000,000 cases) for the few hundred past due.
    another = (select(literal_column("1")).where(
        HumanTask.case_id == Case.id, HumanTask.status == "ready", HumanTask.due_at.is_not(None),
        HumanTask.due_at > now, HumanTask.due_at <= soon).limit(1).correlate(Case).scalar_subquery())
    due_soon = func.coalesce(func.sum(case((and_(Case.next_due_at > now, Case.next_due_at <= soon), 1),
                                           (Case.next_due_at > now, 0), (another.is_not(None), 1), else_=0)),
                             0).cast(Integer)
    due = (select(owner.label("owner"), zero("open"), due_soon.label("due_soon"),
                  total(overdue_sql(now)).label("overdue"), zero("backlog"), zero("needs_owner"))
           .where(*where, Case.next_due_at <= soon).group_by(owner))
    unmarked = _lacks("backlog")
    lonely = and_(Case.owner.is_(None), unmarked, _lacks("repeat"), _lacks("group"))
    aged = (select(owner.label("owner"), zero("open"), zero("due_soon"), zero("overdue"),
                   total(unmarked).label("backlog"), total(lonely).label("needs_owner"))
            .where(*where, Case.created_at < aged).group_by(owner))
    return due, aged


def total(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def _assembled(session: Session, owner_role: str, found) -> list[dict[str, Any]]:
    """The board's rows from (owner, open, due soon, overdue, backlog, needs owner) counts, summed per
    owner: every active user with the owner role first, then any other owner, then nobody's."""
    users = session.execute(select(User.username, User.display_name, User.roles).where(User.active.is_(True))
                            .order_by(User.username)).all()
    names = {u.username: u.display_name for u in users}
    board = {u.username: _row(u.username, u.display_name) for u in users
             if owner_role in (u.roles or [])}
    unowned = _row(None, NO_OWNER)
    unowned["needs_owner"] = 0
    for owner, opened, due_soon, overdue, backlog, needs in found:
        if owner:
            row = board.setdefault(owner, _row(owner, names.get(owner) or owner))
        else:
            row = unowned
            row["needs_owner"] += int(needs)
        row["open"] += int(opened)
        row["due_within_7_days"] += int(due_soon)
        row["overdue"] += int(overdue)
        row["backlog"] += int(backlog)
    return [*board.values(), unowned]


def _row(leader: str | None, name: str | None) -> dict[str, Any]:
    return {"leader": leader, "display_name": name, "open": 0, "due_within_7_days": 0, "overdue": 0, "backlog": 0}
