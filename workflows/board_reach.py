"""The open petitions a reader reaches otherwise than by its unit, kept as petitions change (the
`case_reach` table), so a town's petition office reads the board's petitions outside its units (those
it registered, owns, or whose steps it worked or may work) as a range of its own rows instead of every
open petition of the county, and without its task history, which grows with the years.

A row per open petition and way of reaching it (`who`), with the unit holding it ('' for none):
`o:<user>` its owner, `r:<user>` its registrant, `h:<user>` whoever completed or holds one of its
steps (the `assignee` of a step of any status), `w:<unit>:<role>` a unit ('' for none) and role
whose unclaimed open step it has: the ways usecases/relations.py reads a case by besides its unit
(`readable_case_units`' `others`), each a reader's key there (`reach_keys`). A closed petition has
no rows.

Written by the engine's case listener (`register`, installed by workflows.build_system) after every
write of a petition, the case's steps as that command left them (the listener runs for claims and
assignments too); built for existing cases by migration 0026 (the same rows, written out there) and
afresh by `rebuild`, which a seeder that copies cases in bulk calls after loading."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from sqlalchemy import bindparam, delete, select, tuple_, union_all

from engine.store import Case, CaseReach, HumanTask

PETITION_TYPE = "petition"
OPEN = "open"


def owner_key(user: str) -> str:
    return f"o:{user}"


def registrant_key(user: str) -> str:
    return f"r:{user}"


def handler_key(user: str) -> str:
    return f"h:{user}"


def queue_key(unit: str, role: str) -> str:
    return f"w:{unit}:{role}"


def ways(owner: str | None, registered_by: str | None, tasks: Iterable[Sequence[Any]]) -> set[str]:
    """The keys of an open petition: its owner, its registrant, and of its steps (completed_by,
    assignee, status, org_unit, role) whoever completed or holds one, and the unit and role of each
    unclaimed open one."""
    found = set()
    if owner:
        found.add(owner_key(owner))
    if registered_by:
        found.add(registrant_key(registered_by))
    for completed_by, assignee, status, org_unit, role in tasks:
        if completed_by:
            found.add(handler_key(completed_by))
        if assignee:
            found.add(handler_key(assignee))
        elif status == "ready" and role:
            found.add(queue_key(org_unit or "", role))
    return found


_TASK_FACTS = (HumanTask.completed_by, HumanTask.assignee, HumanTask.status, HumanTask.org_unit, HumanTask.role)


def on_case_saved(session, before, case: dict[str, Any]) -> None:
    """The engine's case listener: a petition's rows as it now stands (none once it is closed)."""
    if case["type"] != PETITION_TYPE:
        return
    is_open = case.get("status") == OPEN
    if not is_open and before is not None and before.status != OPEN:
        return  # a closed petition written again (a note on its history): no rows before nor after
    case_id = case["id"]
    wanted: set[tuple[str, str]] = set()
    if is_open:
        tasks = session.execute(select(*_TASK_FACTS).where(HumanTask.case_id == case_id).distinct()).all()
        unit = case.get("jurisdiction") or ""
        wanted = {(who, unit) for who in ways(case.get("owner"), case.get("registered_by"), tasks)}
    if before is None:  # just registered: nothing kept yet
        kept: set[tuple[str, str]] = set()
    else:
        kept = {(who, unit) for who, unit in session.execute(
            select(CaseReach.who, CaseReach.unit).where(CaseReach.case_id == case_id))}
    gone = kept - wanted
    if gone:
        session.execute(delete(CaseReach).where(CaseReach.case_id == case_id,
                                                tuple_(CaseReach.who, CaseReach.unit).in_(sorted(gone))))
    new = wanted - kept
    if new:
        session.execute(CaseReach.__table__.insert(),
                        [{"who": who, "unit": unit, "case_id": case_id} for who, unit in sorted(new)])


def register(system) -> None:
    system.add_case_listener(on_case_saved)


def recount(session, *, chunk: int = 2000) -> set[tuple[str, str, int]]:
    """The rows from the cases and steps themselves (what `rebuild` writes; what tests compare with)."""
    found: set[tuple[str, str, int]] = set()
    last = 0
    while True:
        cases = session.execute(select(Case.id, Case.owner, Case.registered_by, Case.jurisdiction)
                                .where(Case.type == PETITION_TYPE, Case.status == OPEN, Case.id > last)
                                .order_by(Case.id).limit(chunk)).all()
        if not cases:
            return found
        steps: dict[int, list] = {}
        for case_id, *facts in session.execute(select(HumanTask.case_id, *_TASK_FACTS).where(
                HumanTask.case_id.in_([c.id for c in cases])).distinct()):
            steps.setdefault(case_id, []).append(facts)
        for case_id, owner, registered_by, jurisdiction in cases:
            found.update((who, jurisdiction or "", case_id)
                         for who in ways(owner, registered_by, steps.get(case_id, ())))
        last = cases[-1].id


def rebuild(db) -> int:
    """Every open petition's rows afresh (`db`: the store's Database); returns how many rows."""
    with db.write() as session:
        rows = recount(session)
        session.execute(delete(CaseReach))
        if rows:
            session.execute(CaseReach.__table__.insert(),
                            [{"who": who, "unit": unit, "case_id": case_id} for who, unit, case_id in sorted(rows)])
    return len(rows)


_REACHED: dict[tuple[int, bool], Any] = {}


def reached(n_held: int, by_units: bool):
    """The ids of the open petitions that keys (`b_keys`) reach held by no unit of `n_held` units
    (`b_held0` … in code order; and by one of `b_units`, when `by_units`), as one statement: a range
    of the keys' rows per gap between those units in code order (every row's unit lies in one of
    them, or is one of those units), so no row of one of those units is read however many there are.
    Built once per shape, its values bound (a town's office asks it on every board)."""
    key = (n_held, by_units)
    stmt = _REACHED.get(key)
    if stmt is not None:
        return stmt
    who = CaseReach.who.in_(bindparam("b_keys", expanding=True))
    if by_units:
        stmt = select(CaseReach.case_id).where(who, CaseReach.unit.in_(bindparam("b_units", expanding=True)))
    else:
        edges: list[Any] = [None, *(bindparam(f"b_held{i}") for i in range(n_held)), None]
        arms = []
        for low, high in pairwise(edges):
            bounds = [*((CaseReach.unit > low,) if low is not None else ()),
                      *((CaseReach.unit < high,) if high is not None else ())]
            arms.append(select(CaseReach.case_id).where(who, *bounds))
        stmt = union_all(*arms) if len(arms) > 1 else arms[0]
    _REACHED[key] = stmt
    return stmt


def reached_ids(session, keys: Sequence[str], held: Iterable[str], units: Iterable[str] | None = None) -> list[int]:
    """The open petitions `keys` reach, held by no unit of `held` (and by one of `units`, when given)."""
    if not keys:
        return []
    held = sorted(set(held))
    params: dict[str, Any] = {"b_keys": sorted(set(keys))}
    if units is not None:
        params["b_units"] = sorted(set(units) - set(held))
        if not params["b_units"]:
            return []
    else:
        params.update({f"b_held{i}": code for i, code in enumerate(held)})
    found = session.execute(reached(len(held), units is not None), params)
    return sorted({case_id for (case_id,) in found})


def as_rows(session) -> set[tuple[str, str, int]]:
    """The kept rows (for tests and checks)."""
    return {(r.who, r.unit, r.case_id) for r in session.execute(select(CaseReach.who, CaseReach.unit,
                                                                           CaseReach.case_id))}

