"""The kept counts equal a count made afresh: the dashboard's (workflows/dashboard_tally.py, table
case_tally) from the case rows, after the dashboard's world (registrations of both case types, a
dispute refused and closed, others of another category), after disputes escalated by their
deadlines (their unit changes: the count moves), after a later registration, and after `rebuild`;
the ledger's totals (engine/ledger.py, table ledger_tally) from the entries and their newest status,
after subsidies recorded on closing, a review, and `rebuild_tally`. On SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from engine import ledger
from engine.calendar import ZONE
from engine.store import (
    Case,
    CaseEvent,
    CaseTally,
    HumanTask,
    LedgerEntry,
    LedgerEvent,
    LedgerTally,
    OrgUnit,
)
from tests.api.test_authorization_matrix import world  # noqa: F401
from tests.mediation.conftest import COMPLETE_FILE, dispute
from tests.pages.test_dashboard import county  # noqa: F401
from tests.petition.conftest import petition
from usecases.relations import OrgTree
from workflows import board_tally, dashboard_figures, dashboard_tally, petition_board


def kept(system) -> Counter:
    """The dashboard's kept counts (the petition board's, also in case_tally, are the next function's):
    a row's count under its key, its part (the steps on time) under its key and "part"."""
    with system.db.read() as s:
        rows = [r for r in s.scalars(select(CaseTally)) if r.figure not in (board_tally.BOARD_OPEN, board_tally.BOARD_UNDER)]
        return +Counter({**{(r.figure, r.period, r.unit, r.key): r.count for r in rows},
                         **{(r.figure, r.period, r.unit, r.key, "part"): r.part for r in rows}})


def board_kept_is_a_recount(system) -> bool:
    """The petition board's kept counts (workflows/board_tally.py) equal a count of the case rows."""
    with system.db.read() as s:
        rows = Counter({(r.figure, r.period, r.unit, r.key): r.count for r in s.scalars(select(CaseTally).where(
            CaseTally.figure.in_((board_tally.BOARD_OPEN, board_tally.BOARD_UNDER)))) if r.count})
        return rows == +board_tally.recount(s)


def by_hand(system) -> Counter:
    """Every case under its registration month (Asia/Shanghai), its unit now and '*', its category; every
    closed dispute under the month and the day of its closing, its unit now and '*', its outcome;
    every open petition under all time, its month and day of registration, its unit and '*', its
    owner (and again, month and day, if marked backlog);
    every completed step with a due time under its month and its day, and in the row's part if done by
    its due time, under its unit, and again under each unit above it and '*'."""
    with system.db.read() as s:
        parents = {u.code: u.parent for u in s.scalars(select(OrgUnit))}
        found = Counter((dashboard_tally.REGISTERED, c.created_at.astimezone(ZONE).strftime("%Y-%m"),
                         unit, dashboard_tally.category_of(c.data))
                        for c in s.scalars(select(Case)) for unit in (c.jurisdiction or "", "*"))
        for c in s.scalars(select(Case).where(Case.type == "mediation", Case.status == "closed")):
            local = c.closed_at.astimezone(ZONE)
            for unit in (c.jurisdiction or "", "*"):
                for period in (f"{local.year}-{local.month:02d}", local.date().isoformat()):
                    found[("closed", period, unit, c.outcome or "")] += 1
        for c in s.scalars(select(Case).where(Case.type == "petition", Case.status == "open")):
            local = c.created_at.astimezone(ZONE)
            month, day = f"{local.year}-{local.month:02d}", local.date().isoformat()
            for unit in (c.jurisdiction or "", "*"):
                for period in ("", month, day):
                    found[("petitions_open", period, unit, c.owner or "")] += 1
                if "backlog" in (c.flags or []):
                    for period in (month, day):
                        found[("petitions_flagged", period, unit, c.owner or "")] += 1
        for t in s.scalars(select(HumanTask).where(HumanTask.status == "completed")):
            if t.due_at is None:
                continue
            local = t.completed_at.astimezone(ZONE)
            above, unit = ["*"], t.org_unit
            while parents.get(unit):
                unit = parents[unit]
                above.insert(-1, unit)
            for period in (f"{local.year}-{local.month:02d}", local.date().isoformat()):
                for part in ((), ("part",)) if t.completed_at <= t.due_at else ((),):
                    found[("steps", period, t.org_unit or "", t.name, *part)] += 1
                    for unit in above:
                        found[("steps_under", period, unit, t.name, *part)] += 1
        return found


def cases(counts: Counter) -> int:
    return sum(n for key, n in counts.items() if key[0] == dashboard_tally.REGISTERED and key[2] == "*")


def test_kept_counts_equal_a_recount_through_registrations_escalations_and_a_rebuild(county):  # noqa: F811
    system, actors = county["system"], county["actors"]
    services = system.services
    start = by_hand(system)
    assert kept(system) == start and cases(start) > 0
    assert all(any(k[0] == figure and k[4:] == part for k in start)
               for figure, part in (("steps", ("part",)), ("steps_under", ("part",)), ("closed", ())))
    # Disputes left at their village past its deadline: the sweep escalates them to the town.
    fresh = services.cases.register(actors["intake1"], "mediation", dispute(category="neighbour"))["id"]
    with system.db.read() as s:
        before = s.scalar(select(Case.jurisdiction).where(Case.id == fresh))
    system.clock.advance(timedelta(days=40))
    system.sweep()
    with system.db.read() as s:
        escalated = s.scalar(select(CaseEvent.seq).where(CaseEvent.kind == "escalated").limit(1))
        after = s.scalar(select(Case.jurisdiction).where(Case.id == fresh))
    assert escalated is not None and after != before  # a count had to move
    assert kept(system) == by_hand(system) and board_kept_is_a_recount(system)
    later = services.cases.register(actors["intake1"], "mediation", dispute(category="contract"))["id"]
    (task,) = services.tasks.worklist(actors["vmed1"], later)  # a step done, on time
    closed_before = sum(n for k, n in kept(system).items() if k[0] == "closed")
    services.tasks.complete(actors["vmed1"], task["id"], {"result": "refused"},
                            services.cases.get(actors["vmed1"], later)["version"])
    assert kept(system) == by_hand(system)
    (task,) = services.tasks.worklist(actors["vmed1"], later)  # the file closes it
    services.tasks.complete(actors["vmed1"], task["id"], {"checklist": COMPLETE_FILE},
                            services.cases.get(actors["vmed1"], later)["version"])
    assert kept(system) == by_hand(system)
    # The dispute closed: counted under its unit and '*', month and day (4 counts).
    assert sum(n for k, n in kept(system).items() if k[0] == "closed") == closed_before + 4
    with system.db.write() as s:  # counts gone astray (a bulk copy, say) …
        s.execute(CaseTally.__table__.delete())
    assert dashboard_tally.rebuild(system.db) == cases(by_hand(system))  # … are counted afresh
    assert kept(system) == by_hand(system)


def kept_totals(system) -> Counter:
    with system.db.read() as s:
        return Counter({(r.quarter, r.review_unit, r.mediator, r.unit, r.status, r.kind): (r.count, r.amount_fen)
                        for r in s.scalars(select(LedgerTally)) if r.count or r.amount_fen})


def totals_by_hand(system) -> Counter:
    """Every entry once, under its newest status row, its case's unit now and its kind."""
    with system.db.read() as s:
        found: Counter = Counter()
        for entry in s.scalars(select(LedgerEntry)):
            status = s.scalars(select(LedgerEvent.status).where(LedgerEvent.entry_id == entry.id)
                               .order_by(LedgerEvent.id.desc())).first()
            unit = s.scalar(select(Case.jurisdiction).where(Case.id == entry.case_id))
            key = (entry.quarter, entry.review_unit or "", entry.mediator or "", unit or "", status, entry.kind)
            count, amount = found.get(key, (0, 0))
            found[key] = (count + 1, amount + entry.amount_fen)
        return found


def test_the_ledger_s_kept_totals_equal_a_recount_through_a_review_and_a_rebuild(county):  # noqa: F811
    system, actors = county["system"], county["actors"]
    services = system.services
    want = totals_by_hand(system)
    assert want and kept_totals(system) == want
    entry = county["entries"]["EA"]
    services.subsidies.review(actors["jtown1"], entry, "卷宗齐全")
    assert kept_totals(system) == totals_by_hand(system) != want  # the entry's count moved to `reviewed`
    report = services.subsidies.ledger_report(actors["auditor1"])["totals"]
    assert report["count"] == sum(n for n, _ in totals_by_hand(system).values())
    with system.db.write() as s:
        s.execute(LedgerTally.__table__.delete())
    assert ledger.rebuild_tally(system.db) == report["count"]
    assert kept_totals(system) == totals_by_hand(system)


def test_the_backlog_by_owner_equals_the_petition_board_through_owners_flags_and_time(county):  # noqa: F811
    """The dashboard's open petitions, backlog and overdue per owner leader (kept counts and the
    steps past due) equal the petition board's own aggregate over the case rows, for the county and
    a town, as owners are assigned, a petition is marked backlog, and the clock passes the backlog
    period's edge (a petition 89 days old, 90 days and an hour old …)."""
    system, actors = county["system"], county["actors"]
    services = system.services
    admin = actors["admin1"]
    fresh = [services.cases.register(admin, "petition", petition(respondent_unit="xz-hx"))["id"] for _ in range(3)]
    services.cases.set_owner(admin, fresh[0], "leader1", "县信访局安排")
    services.cases.mark_backlog(admin, fresh[1], "多次信访", "leader1")
    services.cases.set_owner(admin, county["ids"]["PA"], "leader1", "改派")
    assert kept(system) == by_hand(system) and board_kept_is_a_recount(system)
    with system.db.read() as s:
        registered = s.scalar(select(Case.created_at).where(Case.id == fresh[0]))
        town = s.scalar(select(Case.jurisdiction).where(Case.id == fresh[0]))
        tree = OrgTree.load(s)
    scopes = [None, {town} | tree.below(town)]
    for later in (timedelta(0), timedelta(days=30), timedelta(days=89, hours=23), timedelta(days=90),
                  timedelta(days=90, hours=1), timedelta(days=120)):
        now = registered + later
        with system.db.read() as s:
            for units in scopes:
                board = petition_board.owner_board(s, None if units is None else Case.jurisdiction.in_(sorted(units)),
                                                   now, owner_role="leader", backlog_days=90)
                want = [(r["leader"], r["open"], r["backlog"], r["overdue"]) for r in board
                        if r["open"] or r["leader"] is not None]
                got = [(r["leader"], r["open"], r["backlog"], r["overdue"])
                       for r in dashboard_figures.backlog(s, units, now, backlog_days=90)]
                assert got == want, (later, units)
    assert any(old for _l, _o, old, _d in want) and any(late for *_x, late in want)


def test_migration_0025_down_writes_the_two_step_figures_back_and_up_merges_them(county):  # noqa: F811
    """Down to 0024: the steps done and the steps on time are rows of their own figures again
    (`steps_done`, `steps_on_time`, and `_under`), the same counts; up again: one row each with its
    part, equal to a recount, and the dashboard's steps figures unchanged."""
    from sqlalchemy import text

    from tests.engine.test_event_kind_index import _downgrade

    system = county["system"]
    want = by_hand(system)
    with system.db.read() as s:
        tree = OrgTree.load(s)
        root = next(code for code, parent in s.execute(select(OrgUnit.code, OrgUnit.parent)) if parent is None)
        start, end = system.clock.now() - timedelta(days=400), system.clock.now() + timedelta(days=1)
        rolled = [root, *sorted(code for code in tree.below(root) if tree.units[code].parent == root)]
        figures = [dashboard_figures.on_time(s, units, start, end, rolled=rolled if units is None else None)
                   for units in (None, {root} | tree.below(root), {rolled[1]})]
    assert any(ok for _step, _unit, _done, ok in figures[0])
    old = Counter()
    for (figure, period, unit, key, *part), n in want.items():
        if figure in ("steps", "steps_under"):
            old[(figure.replace("steps", "steps_on_time" if part else "steps_done"), period, unit, key)] += n
    _downgrade(system, "0026_townboard")
    with system.db.read() as s:
        rows = s.execute(text("SELECT figure, period, unit, key, count FROM case_tally WHERE figure LIKE 'steps%'"))
        assert +Counter({(f, p, u, k): n for f, p, u, k, n in rows}) == old
    system.upgrade()
    assert kept(system) == want
    with system.db.read() as s:
        assert [dashboard_figures.on_time(s, units, start, end, rolled=rolled if units is None else None)
                for units in (None, {root} | tree.below(root), {rolled[1]})] == figures
