"""The ledger's lists read each way of seeing an entry on its own index and merge them, and filter
by the status each entry keeps with its newest status row (migration 0017)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update

import engine.db
from engine import ledger
from engine.store import LedgerEntry, LedgerEvent
from tests.mediation.conftest import settle


def _kept_and_newest(system) -> dict[int, tuple[str | None, str]]:
    """Each entry's kept status beside its newest status row's."""
    newest = (select(LedgerEvent.status).where(LedgerEvent.entry_id == LedgerEntry.id)
              .order_by(LedgerEvent.id.desc()).limit(1).correlate(LedgerEntry).scalar_subquery())
    with system.db.read() as s:
        return {i: (kept, row) for i, kept, row in s.execute(select(LedgerEntry.id, LedgerEntry.status, newest))}


def _add(system, case_id: int, review_unit: str, amount: int) -> int:
    """An entry reviewed by `review_unit`, written by the engine as a case type's command would."""
    with system.db.write() as s:
        (view,) = ledger.record_entries(s, case_id, [ledger.NewEntry("vmed1", "village", "general", amount, "补记",
                                                                      1)],
                                        status="accrued", review_unit=review_unit, now=system.clock.now(),
                                        actor="system")
    return view["id"]


def _pages(user, **filters) -> list[int]:
    """Every id of the user's list, read a page of two at a time by its `next` cursor."""
    ids, after = [], None
    while True:
        answer = user.get("/subsidies", limit=2, **filters, **({"after": after} if after else {})).get_json()
        ids += [e["id"] for e in answer["items"]]
        assert len(answer["items"]) <= 2
        if answer["next"] is None:
            return ids
        after = answer["next"]


def test_a_town_office_pages_its_own_entries_and_those_of_the_units_below_it_in_id_order(people, system):
    office, auditor = people["justice_town"], people["auditor"]
    cases = [people["intake"].register() for _ in range(3)]
    own = [settle(people, c["id"])["subsidy"][0]["id"] for c in cases[:2]]
    below = _add(system, cases[2]["id"], "dz-lc", 100)  # a unit below the town (dz): the office reads it
    other = _add(system, cases[2]["id"], "xz", 200)  # the other town's office: not theirs
    own += [e["id"] for e in settle(people, cases[2]["id"])["subsidy"] if e["review_unit"] == "dz"]
    below_later = _add(system, cases[2]["id"], "dz-sq", 300)

    expected = sorted([*own, below, below_later])
    assert _pages(office) == expected  # one id order across both ways of reading, no gaps, no repeats
    assert other not in _pages(office) and other in _pages(auditor)
    assert _pages(people["justice_county"]) == _pages(auditor) == sorted([*expected, other])

    # The status filter reads the kept status: reviewing an entry moves it from one list to the other.
    assert _pages(office, status="accrued") == expected and _pages(office, status="reviewed") == []
    assert office.post(f"/subsidies/{own[1]}/review", {"reason": "卷宗齐全"}).status_code == 200
    assert _pages(office, status="accrued") == [i for i in expected if i != own[1]]
    assert _pages(office, status="reviewed") == [own[1]]
    assert _pages(auditor, status="reviewed", quarter="2026Q3") == [own[1]]
    rejected = office.post(f"/subsidies/{own[0]}/reject", {"reason": "调解协议未经双方签字"})
    assert rejected.status_code == 200 and rejected.get_json()["status"] == "rejected"
    assert _pages(office, status="rejected") == [own[0]]
    assert [e["status"] for e in office.get("/subsidies", status="reviewed").get_json()["items"]] == ["reviewed"]
    assert all(kept == newest for kept, newest in _kept_and_newest(system).values())

    # A mediator reads the entries that pay them, whoever reviews them.
    mine = [e["id"] for e in people["village"].get("/subsidies").get_json()["items"]]
    assert mine == sorted([*expected, other])


def test_migration_0017_backfills_each_entrys_status_from_its_newest_status_row(people, system):
    from alembic import command
    from alembic.config import Config

    cases = [people["intake"].register() for _ in range(2)]
    first, second = (settle(people, c["id"])["subsidy"][0]["id"] for c in cases)
    assert people["justice_town"].post(f"/subsidies/{first}/review").status_code == 200
    assert people["justice_county"].post(f"/subsidies/{first}/approve").status_code == 200
    before = _kept_and_newest(system)
    assert before[first] == ("approved", "approved") and before[second] == ("accrued", "accrued")

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016_slim")
    system.upgrade()
    assert _kept_and_newest(system) == before

    with system.db.write() as s:  # a store whose kept statuses were lost is rebuilt the same way
        s.execute(update(LedgerEntry).values(status=None))
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0016_slim")
    system.upgrade()
    assert _kept_and_newest(system) == before
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.status.is_(None))) == 0
