"""The dashboard's kept counts (workflows/dashboard_tally.py, table case_tally) equal a count made
afresh from the case rows: after the dashboard's world (registrations of both case types, a dispute
refused and closed, others of another category), after disputes escalated by their deadlines (their
unit changes: the count moves), after a registration in a month of its own, and after `rebuild`.
On SQLite and PostgreSQL."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from engine.store import Case, CaseEvent, CaseTally
from tests.api.test_authorization_matrix import world  # noqa: F401
from tests.mediation.conftest import dispute
from tests.pages.test_dashboard import county  # noqa: F401
from workflows import dashboard_tally


def kept(system) -> Counter:
    with system.db.read() as s:
        return Counter({(r.figure, r.period, r.unit, r.key): r.count for r in s.scalars(select(CaseTally)) if r.count})


def by_hand(system) -> Counter:
    """Every case once: its registration month (Asia/Shanghai), its unit now, its category."""
    with system.db.read() as s:
        return Counter((dashboard_tally.REGISTERED, c.created_at.astimezone(dashboard_tally.ZONE).strftime("%Y-%m"),
                        c.jurisdiction or "", dashboard_tally.category_of(c.data))
                       for c in s.scalars(select(Case)))


def test_kept_counts_equal_a_recount_through_registrations_escalations_and_a_rebuild(county):  # noqa: F811
    system, actors = county["system"], county["actors"]
    services = system.services
    assert kept(system) == by_hand(system) and sum(kept(system).values()) > 0
    # Disputes left at their village past its deadline: the sweep escalates them to the town.
    fresh = services.cases.register(actors["intake1"], "mediation", dispute(category="neighbour"))["id"]
    with system.db.read() as s:
        before = s.scalar(select(Case.jurisdiction).where(Case.id == fresh))
    system.clock.advance(timedelta(days=40))
    system.sweep()
    with system.db.read() as s:
        escalated = s.scalar(select(CaseEvent.id).where(CaseEvent.kind == "escalated").limit(1))
        after = s.scalar(select(Case.jurisdiction).where(Case.id == fresh))
    assert escalated is not None and after != before  # a count had to move
    assert kept(system) == by_hand(system)
    services.cases.register(actors["intake1"], "mediation", dispute(category="contract"))
    assert kept(system) == by_hand(system)
    with system.db.write() as s:  # counts gone astray (a bulk copy, say) …
        s.execute(CaseTally.__table__.delete())
    assert dashboard_tally.rebuild(system.db) == sum(by_hand(system).values())  # … are counted afresh
    assert kept(system) == by_hand(system)
