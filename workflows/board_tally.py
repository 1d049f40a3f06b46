"""The petition board's open petitions counted as petitions change (engine/tally.py's `case_tally`),
so the board's time-independent figures read a row per owner and set of flags instead of every open
petition (workflows/petition_board.py `owner_board`).

`board_open`: the open petitions per unit holding the case ('' for none), owner (the key, '' for
none) and the set of the board's flags it carries (the period: `flag_code`, the flags' letters in
order, '' for none). `board_under`: the same counted again under every unit above its unit, and
under the unit `ALL`; together with its own unit's row, so a unit's `board_under` rows count the
open petitions of the unit and every unit below it (a town's board, the county's: a row per owner
and set of flags). The figures that change with time alone (due soon, overdue, open longer than
the backlog period) are not kept: the board reads them from the open petitions' own index ranges.

Written by the engine's case listener (`register`, installed by workflows.build_system) as petitions
are registered, change owner, flags or unit, and close or reopen; built for existing cases by
migration 0022 (the same count) and afresh by `rebuild`, which a seeder that copies cases in bulk
calls after loading (bench/seed_cases.py does)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from typing import Any

from sqlalchemy import func, literal, select, union_all

from engine import tally
from engine.store import Case, CaseTally, OrgUnit

from .dashboard_tally import ALL, ancestors, unit_of

BOARD_OPEN, BOARD_UNDER = "board_open", "board_under"
PETITION_TYPE = "petition"
# The flags the board counts by, each a letter of the period (period is at most 10 characters).
LETTERS = {"backlog": "b", "final_matter": "f", "group": "g", "repeat": "r"}


def flag_code(flags: Iterable[str] | None) -> str:
    """The period of a petition's counts: the letters of the board's flags it carries, in order."""
    present = set(flags or ())
    return "".join(letter for flag, letter in LETTERS.items() if flag in present)


def codes_with(flags: Sequence[str] = ()) -> list[str]:
    """Every period whose petitions carry all of `flags` (the board's filter): the sets of letters
    that hold theirs."""
    wanted = {LETTERS[f] for f in flags}
    letters = sorted(LETTERS.values())
    return ["".join(chosen) for n in range(len(letters) + 1) for chosen in combinations(letters, n)
            if wanted <= set(chosen)]


def has(code: str, flag: str) -> bool:
    return LETTERS[flag] in code


def keys(case_type: str, status: str | None, owner: str | None, flags, jurisdiction: str | None,
         above: Sequence[str]) -> list[tuple[str, str, str, str]]:
    """What a case adds: nothing unless it is an open petition; else its row under its unit, and
    under its unit, each unit `above` it and ALL again as `board_under`."""
    if case_type != PETITION_TYPE or status != "open":
        return []
    code, unit, key = flag_code(flags), unit_of(jurisdiction), owner or ""
    return [(BOARD_OPEN, code, unit, key),
            *((BOARD_UNDER, code, upper, key) for upper in dict.fromkeys((*((unit,) if unit else ()), *above, ALL)))]


def _counted_alike(before, case: Mapping[str, Any]) -> bool:
    return (before.type == case["type"] and before.status == case.get("status") and before.owner == case.get("owner")
            and unit_of(before.jurisdiction) == unit_of(case.get("jurisdiction"))
            and flag_code(before.flags) == flag_code(case.get("flags")))


def on_case_saved(session, before, case: dict[str, Any]) -> None:
    """The engine's case listener: count a new open petition; move its count when its owner, flags or
    unit changed; take it away when it closes."""
    if before is not None and _counted_alike(before, case):
        return  # most commands: a step of an open case
    if case["type"] != PETITION_TYPE and (before is None or before.type != PETITION_TYPE):
        return
    deltas: Counter = Counter()
    if case.get("status") == "open":
        deltas.update(keys(case["type"], "open", case.get("owner"), case.get("flags"), case.get("jurisdiction"),
                           ancestors(session, case.get("jurisdiction"))))
    if before is not None and before.status == "open":
        deltas.subtract(keys(before.type, "open", before.owner, before.flags, before.jurisdiction,
                             ancestors(session, before.jurisdiction)))
    tally.add(session, deltas)


def register(system) -> None:
    system.add_case_listener(on_case_saved)


def recount(session, *, chunk: int = 5000) -> Counter:
    """The counts from the case rows themselves (what `rebuild` writes; what tests compare with)."""
    parents = {code: parent for code, parent in session.execute(select(OrgUnit.code, OrgUnit.parent))}
    above: dict[str | None, list[str]] = {}
    counts: Counter = Counter()
    last = 0
    while True:
        rows = session.execute(select(Case.id, Case.owner, Case.flags, Case.jurisdiction)
                               .where(Case.type == PETITION_TYPE, Case.status == "open", Case.id > last)
                               .order_by(Case.id).limit(chunk)).all()
        if not rows:
            return counts
        for _id, owner, flags, jurisdiction in rows:
            if jurisdiction not in above:
                above[jurisdiction] = ancestors(parents, jurisdiction)
            counts.update(keys(PETITION_TYPE, "open", owner, flags, jurisdiction, above[jurisdiction]))
        last = rows[-1][0]


def rebuild(db) -> int:
    """Count every open petition afresh (`db`: the store's Database); returns how many there are."""
    with db.write() as session:
        counts = recount(session)
        tally.replace(session, (BOARD_OPEN, BOARD_UNDER), counts)
    return sum(n for key, n in counts.items() if key[0] == BOARD_UNDER and key[2] == ALL)


Scope = tuple[str, frozenset[str]]  # (BOARD_UNDER, {a unit}) or (BOARD_OPEN, units)


def scope(held: set[str] | None, roots: Iterable[str | None], below) -> Scope:
    """How the kept counts answer for the open petitions of the units `held` (None: all): one unit's
    `board_under` rows when `held` is that unit of `roots` and every unit below it (`below(unit)`),
    ALL's for all, else each unit's own `board_open` rows."""
    if held is None:
        return BOARD_UNDER, frozenset({ALL})
    for root in dict.fromkeys(r for r in roots if r):
        if root in held and held == {root, *below(root)}:
            return BOARD_UNDER, frozenset({root})
    return BOARD_OPEN, frozenset(held)


def counts(session, scopes: Sequence[Scope], flags: Sequence[str] = ()) -> list[list[tuple[str | None, str, int]]]:
    """For each scope, (owner or None, period, count) of its open petitions carrying every flag of
    `flags`; one statement for all."""
    arms = [select(literal(i).label("scope"), CaseTally.key, CaseTally.period, func.sum(CaseTally.count))
            .where(CaseTally.figure == figure, CaseTally.period.in_(codes_with(flags)), CaseTally.unit.in_(sorted(units)))
            .group_by(CaseTally.key, CaseTally.period)
            for i, (figure, units) in enumerate(scopes) if units]
    found: list[list[tuple[str | None, str, int]]] = [[] for _ in scopes]
    if arms:
        for i, key, period, n in session.execute(union_all(*arms) if len(arms) > 1 else arms[0]):
            if n:
                found[int(i)].append((key or None, period, int(n)))
    return found
