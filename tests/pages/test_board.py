"""信访工作台 (`/petitions/board`) and the petitions behind its figures (`/petitions`): every figure equals
the count made again in tests/pages/board_world.py from the stored rows, and its link lists exactly
those petitions; the office names an owner with the reason; the supervision tasks show the action
taken; the unit complained about never sees who petitioned; the pages refuse whom the table refuses."""
from __future__ import annotations

import html
import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from sqlalchemy import delete, select

from engine.store import Case, CaseTally
from tests.pages.board_world import (
    NOW,
    QIAN,
    Clock,
    api_people,
    build_county,
    expected_board,
    readable_by,
    rows,
    seed,
)
from tests.pages.conftest import PageUser
from tests.petition.conftest import WANG_WU, ZHAO_LIU, at

FIGURES = ("open", "due_within_7_days", "overdue", "backlog")
_ROW = re.compile(r'<tr[^>]*data-leader="([^"]*)"[^>]*>(.*?)</tr>', re.DOTALL)
_CELL = re.compile(r'<a href="([^"]+)" data-measure="(\d)"[^>]*>(\d+)<')
_NEEDS = re.compile(r'<a class="needs-owner[^"]*" href="([^"]+)" data-measure="needs_owner">.*?<strong>(\d+)</strong>',
                    re.DOTALL)
_NUMBER = re.compile(r'<td data-label="案件编号" class="case-number"><a href="/cases/\d+">([^<]+)</a>')


@pytest.fixture
def system(database_url):
    system = build_county(database_url)
    yield system
    system.close()


@pytest.fixture
def world(system, client):
    return seed(api_people(system, client), Clock(system))


@pytest.fixture
def browser_of(app):
    def signed_in(username: str) -> PageUser:
        person = PageUser(app)
        assert person.login(username).status_code in (302, 303)
        return person
    return signed_in


def board_of(page: str) -> dict:
    """{leader or None: {figure: (count, link)}} as the board page draws it."""
    found = {}
    for leader, cells in _ROW.findall(page):
        figures = {FIGURES[int(m)]: (int(n), html.unescape(href)) for href, m, n in _CELL.findall(cells)}
        needs = _NEEDS.search(cells)
        if needs:
            figures["needs_owner"] = (int(needs.group(2)), html.unescape(needs.group(1)))
        found[leader or None] = figures
    return found


def listed(person: PageUser, link: str) -> set[str]:
    """The case numbers on every page of a list link."""
    numbers, path = set(), link
    while path:
        page = person.page(path)
        numbers |= set(_NUMBER.findall(page))
        more = re.search(r'<a class="pager-link" href="([^"]+)" rel="next">', page)
        path = html.unescape(more.group(1)) if more else None
    return numbers


def check_board(person: PageUser, system, path: str, **expect):
    page = person.page(path)
    drawn = board_of(page)
    want = expected_board(system, at(NOW), **expect)
    assert set(drawn) == set(want), (set(drawn), set(want))
    for leader, figures in want.items():
        for figure, numbers in figures.items():
            count, link = drawn[leader][figure]
            assert count == len(numbers), (path, leader, figure, count, sorted(numbers))
            assert listed(person, link) == numbers, (path, leader, figure, link)
    return drawn, want


def test_every_figure_on_the_board_is_the_count_of_the_stored_petitions_and_links_to_exactly_them(
        world, system, browser_of):
    office = browser_of("officer1")
    drawn, want = check_board(office, system, "/petitions/board")
    # The scenario as written in board_world.py, so the independent count is not trivially empty.
    numbers = {key: system.services.cases.get(_admin(system), case_id)["number"]
               for key, case_id in world.items()}
    assert want["leader_wang"]["open"] == {numbers["A"]} and want["leader_wang"]["overdue"] == {numbers["A"]}
    assert want["leader_zhao"]["backlog"] == {numbers["C"]}
    assert want[None]["open"] == {numbers[k] for k in "BDF"}
    assert want[None]["needs_owner"] == {numbers["B"], numbers["F"]}
    assert numbers["G"] not in set().union(*(f["open"] for f in want.values()))
    assert drawn["leader_li"]["open"][0] == 1

    # Filtered: repeat, group, final-flagged petitions, and by unit (with the units under it).
    check_board(office, system, "/petitions/board?repeat=1", flags=("repeat",))
    check_board(office, system, "/petitions/board?group=1", flags=("group",))
    check_board(office, system, "/petitions/board?final=1", flags=("final_matter",))
    check_board(office, system, "/petitions/board?unit=dz", units={"dz", "dz-lc", "dz-sq"})
    check_board(office, system, "/petitions/board?unit=xz&repeat=1", flags=("repeat",), units={"xz", "xz-hx"})

    # A town's petition office counts only what it may read: its own town's petitions and those it works.
    town = browser_of("tofficer1")
    check_board(town, system, "/petitions/board",
                readable=lambda c: readable_by(c, _tasks(system), "tofficer1", "dz", {"dz-lc", "dz-sq"}))


def _admin(system):
    from engine.accounts import actor_of, find_user
    with system.db.read() as s:
        return actor_of(find_user(s, "admin1"))


def _tasks(system):
    return rows(system)[1]


def test_the_office_names_an_owner_for_a_repeat_petition_with_the_reason_and_the_board_changes(
        world, system, browser_of):
    office = browser_of("officer1")
    before = board_of(office.page("/petitions/board"))
    page = office.page("/petitions/board")
    number_f = system.services.cases.get(_admin(system), world["F"])["number"]
    assert number_f in page and 'name="reason"' in page  # F needs an owner: the form is on the board

    # No reason: refused, nothing changed, the leader chosen is still chosen.
    refused = office.submit(f"/petitions/{world['F']}/owner", {"leader": "leader_li", "reason": "",
                                                                "next": "/petitions/board"},
                            form_page="/petitions/board")
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "请写明指定或更换包案领导的理由" in text and '<option value="leader_li" selected>' in text
    assert system.services.cases.get(_admin(system), world["F"])["owner_leader"] is None

    done = office.submit(f"/petitions/{world['F']}/owner", {"leader": "leader_li", "reason": "重复信访，须领导包案",
                                                             "next": "/petitions/board"}, form_page="/petitions/board")
    assert done.status_code == 303 and done.headers["Location"].endswith("/petitions/board")
    after_page = office.page("/petitions/board")
    assert "已指定包案领导" in after_page
    after = board_of(after_page)
    assert after["leader_li"]["open"][0] == before["leader_li"]["open"][0] + 1
    assert after[None]["open"][0] == before[None]["open"][0] - 1
    assert after[None]["needs_owner"][0] == before[None]["needs_owner"][0] - 1
    check_board(office, system, "/petitions/board")
    events = [e for e in system.services.cases.history(_admin(system), world["F"]) if e["kind"] == "owner_changed"]
    assert events[-1]["actor"] == "officer1"
    assert events[-1]["data"] == {"from": None, "to": "leader_li", "reason": "重复信访，须领导包案", "via": "owner"}

    # Changing the owner: the form page names the present one and asks again for the reason.
    form = office.page(f"/petitions/{world['F']}/owner")
    assert "更换包案领导" in form and "<label for=\"owner-reason\">理由</label>" in form
    changed = office.submit(f"/petitions/{world['F']}/owner", {"leader": "leader_zhao", "reason": "工作调整"})
    assert changed.status_code == 303
    last = [e for e in system.services.cases.history(_admin(system), world["F"]) if e["kind"] == "owner_changed"][-1]
    assert last["data"]["from"] == "leader_li" and last["data"]["reason"] == "工作调整"
    # Naming someone who is no leader: the engine's refusal beside the field, the reason kept.
    wrong = office.submit(f"/petitions/{world['F']}/owner", {"leader": "officer2", "reason": "试一下"})
    assert wrong.status_code == 400 and "试一下" in wrong.get_data(as_text=True)


def test_the_supervision_tasks_show_what_is_open_and_the_action_taken(world, system, browser_of):
    office = browser_of("officer1")
    page = office.page("/petitions/board")
    supervision = page.split('id="supervision"', 1)[1]
    done = supervision.split("已督办", 1)[1]
    number_d = system.services.cases.get(_admin(system), world["D"])["number"]
    assert number_d in done and "<strong>通报</strong>" in done and "已通报东镇" in done
    # Still open: the late progress report of A (owned since 1 September, due 16 September).
    open_part = supervision.split("已督办", 1)[0]
    number_a = system.services.cases.get(_admin(system), world["A"])["number"]
    assert number_a in open_part and number_a not in done


def test_the_unit_complained_about_never_sees_who_petitioned(world, system, browser_of):
    # E complains about the county (qh): nobody of qh sees 钱十一, on the board or behind any figure.
    for username in ("officer1", "leader_li", "auditor1"):
        person = browser_of(username)
        board = person.page("/petitions/board")
        pages = [board] + [person.page(link) for figures in board_of(board).values() for _n, link in figures.values()]
        for page in pages:
            assert QIAN["name"] not in page and QIAN["id_number"] not in page and QIAN["phone"] not in page, username
    # The town that holds it sees the name, masked numbers never in full.
    town = browser_of("tofficer1")
    listing = town.page("/petitions?owner=leader_li")
    assert QIAN["name"] in listing and QIAN["id_number"] not in listing
    # Nobody sees an ID number or phone in full on these pages.
    office = browser_of("officer1")
    page = office.page("/petitions?owner=none")
    for secret in (WANG_WU["id_number"], WANG_WU["phone"], ZHAO_LIU["id_number"], ZHAO_LIU["phone"]):
        assert secret not in page


def test_the_pages_refuse_whom_the_table_refuses(world, system, browser_of):
    mediator = browser_of("vmed1")
    for path in ("/petitions/board", "/petitions?owner=none"):
        assert mediator.get(path).status_code == 403
    # A leader reads the board but names no owner; a case one may not read is the 404 page.
    leader = browser_of("leader_wang")
    assert leader.get("/petitions/board").status_code == 200
    assert leader.get(f"/petitions/{world['A']}/owner").status_code == 403
    refused = leader.submit(f"/petitions/{world['B']}/owner", {"leader": "leader_wang", "reason": "自己来"},
                            form_page="/petitions/board")
    assert refused.status_code == 403
    assert system.services.cases.get(_admin(system), world["B"])["owner_leader"] is None
    town = browser_of("xofficer1")
    hidden, missing = town.get(f"/petitions/{world['A']}/owner"), town.get("/petitions/987654321/owner")
    assert hidden.status_code == missing.status_code == 404
    assert re.sub(r"\d+", "N", hidden.get_data(as_text=True)) == re.sub(r"\d+", "N", missing.get_data(as_text=True))
    # An unknown unit in the filter is a plain 400 page; an unknown parameter changes nothing.
    office = browser_of("officer1")
    assert office.get("/petitions/board?unit=nowhere").status_code == 400
    assert board_of(office.page("/petitions/board?colour=red")) == board_of(office.page("/petitions/board"))


def test_the_board_and_the_list_in_english(world, system, browser_of):
    office = browser_of("officer1")
    page = office.page("/petitions/board?lang=en")
    for words in ("Petition office board", "Owner leader", "Due within 7 days", "Overdue", "Backlog", "Supervision",
                  "Needs an owner leader"):
        assert words in page, words
    link = board_of(page)[None]["needs_owner"][1]
    listing = office.page(link)
    assert "Needs an owner leader" in listing and "Next step" in listing and "Petitioners" in listing
    parsed = parse_qs(urlparse(link).query)
    assert parsed == {"owner": ["none"], "needs_owner": ["1"]}


def test_the_kept_soonest_due_time_counts_overdue_and_due_soon_as_the_steps_do_at_every_instant(world, system):
    """The board's "overdue" and "due within 7 days" read case_record.next_due_at (and probe the steps
    only of the cases already past due): at each instant around every stored due time (on it, a
    second either side, and seven days before), every owner's figures equal those counted from the
    ready steps themselves, and some petition counts as both overdue and due soon."""
    from workflows import petition_board

    _cases, tasks, _leaders = rows(system)
    dues = sorted({t["due_at"] for t in tasks if t["status"] == "ready" and t["due_at"]})
    assert len(dues) >= 2, dues
    instants = sorted({d + shift for d in dues for shift in (timedelta(0), timedelta(seconds=-1), timedelta(seconds=1),
                                                            -timedelta(days=7), -timedelta(days=7, seconds=-1))})
    both = 0
    for now in instants:
        want = expected_board(system, now)
        with system.db.read() as s:
            got = {r["leader"]: r for r in petition_board.owner_board(s, None, now, owner_role="leader")}
        for leader, figures in want.items():
            for figure in ("open", "due_within_7_days", "overdue"):
                assert got[leader][figure] == len(figures[figure]), (now, leader, figure)
            both += len(figures["overdue"] & figures["due_within_7_days"])
    assert both, "no instant had a petition both overdue and due soon"


def _kept_board_rows(system):
    from workflows import board_tally
    with system.db.read() as s:
        return Counter({(r.figure, r.period, r.unit, r.key): r.count for r in s.scalars(
            select(CaseTally).where(CaseTally.figure.in_((board_tally.BOARD_OPEN, board_tally.BOARD_UNDER))))
            if r.count})


def _check_kept_board(system, readers, instants) -> int:
    """The kept counts equal a recount from the rows, and every reader's board (all, by flag, by unit)
    read from them equals the board's definition (one aggregate over every open petition the reader
    may read); returns how many boards had a petition."""
    from engine.accounts import actor_of, find_user
    from usecases.relations import (
        OrgTree,
        reach_keys,
        readable_case_units,
        readable_cases_sql,
    )
    from workflows import board_reach, board_tally, petition_board
    with system.db.read() as s:
        assert _kept_board_rows(system) == +board_tally.recount(s)
        assert board_reach.as_rows(s) == board_reach.recount(s)
    counted = 0
    for now in instants:
        system.clock.set(now)
        for username in readers:
            with system.db.read() as s:
                actor = actor_of(find_user(s, username))
            for flags, unit in (((), None), (("repeat",), None), ((), "dz"), ((), "xz"), (("repeat",), "xz")):
                got = system.services.petitions.board(actor, flags=flags, unit=unit)["items"]
                with system.db.read() as s:
                    tree = OrgTree.load(s)
                    units = None if unit is None else sorted({unit, *tree.below(unit)})
                    want = petition_board.owner_board(s, readable_cases_sql(s, tree, actor), now, owner_role="leader",
                                                      flags=flags, units=units)
                assert got == want, (now, username, flags, unit)
                with system.db.read() as s:  # the kept board itself, whichever the use case took
                    parts = readable_case_units(tree, actor)
                    readable, others = (None, []) if parts is None else parts
                    kept = petition_board.kept_board(s, now, readable=readable, others=others,
                                                     roots=(unit, actor.org_unit), below=tree.below,
                                                     owner_role="leader", flags=flags, units=units)
                assert kept == want, (now, username, flags, unit)
                with system.db.read() as s:  # … and from the reader's kept rows outside its units
                    reached = petition_board.kept_board(s, now, readable=readable, others=others,
                                                        roots=(unit, actor.org_unit), below=tree.below,
                                                        owner_role="leader", flags=flags, units=units,
                                                        reach=reach_keys(actor))
                assert reached == want, (now, username, flags, unit)
                counted += any(r["open"] for r in got)
    return counted


def test_the_board_from_kept_counts_is_its_definition_through_every_kind_of_change(world, system, client):
    """Registered, transferred to a town, handled there and moved up for review (its town's office then
    reads it as its handler only, outside its units), given an owner and another, marked backlog, a
    repeat petition, closed; one registered by a town's office and transferred by it to another town
    (outside its units, its registrant and handler), whose step the other town claims; one it
    registered for another town, declined there; at instants up to past the backlog period: the kept counts and the kept rows of who
    reaches a petition (workflows/board_reach.py) equal a recount, and each reader's board (county
    and town offices, a leader, an auditor) equals the count over every open petition it may read,
    by flag and by unit, read from the kept counts with and without the reader's kept rows."""
    people = api_people(system, client)
    office, town = people["officer"], people["xz_officer"]
    readers = ("officer1", "tofficer1", "xofficer1", "leader_li", "auditor1")
    now = at(NOW)
    instants = (now, now + timedelta(days=6), now + timedelta(days=91))
    assert _check_kept_board(system, readers, (now,))
    moved = office.register(respondent_unit="dz", summary="东镇未按规定公开集体土地补偿款")["id"]
    assert office.do(moved, "decide_acceptance", decision="transfer", transfer_to="xz",
                     reason="属西镇职权范围")["jurisdiction"] == "xz"
    _check_kept_board(system, readers, (now,))
    town.do(moved, "assign_leader", leader="leader_wang")  # the owner named by the town's office
    _check_kept_board(system, readers, (now,))
    town.do(moved, "handle", opinion="support", opinion_text="责成公开补偿款明细")
    # Review is decided a level up: the case leaves 西镇, whose office still reads it as its handler.
    assert office.send(moved, "review_request", note="对处理意见不服")["jurisdiction"] == "qh"
    assert office.set_owner(moved, "leader_wang", reason="县里包案").status_code == 200
    assert office.set_owner(moved, "leader_li", reason="改派").status_code == 200
    assert office.post(f"/cases/{moved}/backlog", {"reason": "久拖未决"}).status_code == 200
    _check_kept_board(system, readers, (now,))
    repeat = office.register(summary="再次反映承包面积问题")["id"]  # the same petitioner and matter as A
    with system.db.read() as s:
        flags = s.scalar(select(Case.flags).where(Case.id == repeat))
    assert "repeat" in flags, flags
    _check_kept_board(system, readers, (now,))
    refused = office.register(summary="不属信访事项")["id"]
    office.do(refused, "decide_acceptance", decision="not_accept", reason="属诉讼程序")
    with system.db.read() as s:
        assert s.scalar(select(Case.status).where(Case.id == refused)) != "open"
    assert _check_kept_board(system, readers, instants)
    # Registered by 西镇's office and transferred by it to 东镇: outside 西镇's units, it reads it as
    # its registrant and the handler of its first step; 东镇's office claims its next step (a claim
    # changes who holds it).
    system.clock.set(now)
    sent = town.register(residence_org="xz-hx", respondent_unit="xz-hx", category="other",
                         summary="在东镇务工被拖欠工资")["id"]
    assert town.do(sent, "decide_acceptance", decision="transfer", transfer_to="dz",
                   reason="属东镇职权范围")["jurisdiction"] == "dz"
    xz_board = _reached(system, "xofficer1")
    assert sent in xz_board["registrant"] and sent in xz_board["handler"], xz_board
    _check_kept_board(system, readers, (now,))
    east = people["town_officer"]
    assert east.claim(east.task(sent)["id"]).status_code == 200
    assert sent in _reached(system, "tofficer1")["handler"]
    _check_kept_board(system, readers, (now,))
    # Registered by 西镇's office for 东镇 (the petitioner lives there), declined there: closed, it
    # leaves the board of its registrant.
    declined = town.register(residence_org="dz-sq", respondent_unit="dz-sq", category="other",
                             summary="邻里纠纷")["id"]
    assert declined in _reached(system, "xofficer1")["registrant"]
    _check_kept_board(system, readers, (now,))
    east.do(declined, "decide_acceptance", decision="not_accept", reason="已由法院受理")
    assert not any(declined in ids for ids in _reached(system, "xofficer1").values())
    _check_kept_board(system, readers, instants)
    from workflows import board_reach, board_tally
    with system.db.write() as s:  # counts gone astray (a bulk copy, say) …
        s.execute(delete(CaseTally).where(CaseTally.figure.in_((board_tally.BOARD_OPEN, board_tally.BOARD_UNDER))))
    assert board_tally.rebuild(system.db) > 0  # … are counted afresh
    assert board_reach.rebuild(system.db) > 0
    _check_kept_board(system, readers, (now,))


def _reached(system, username: str) -> dict[str, set[int]]:
    """The open petitions kept as reached by `username`, by way (owner, registrant, handler)."""
    from engine.store import CaseReach
    from workflows import board_reach
    keys = {"owner": board_reach.owner_key(username), "registrant": board_reach.registrant_key(username),
            "handler": board_reach.handler_key(username)}
    with system.db.read() as s:
        return {way: set(s.scalars(select(CaseReach.case_id).where(CaseReach.who == key)))
                for way, key in keys.items()}


def test_migration_0026_builds_the_kept_rows_of_who_reaches_a_petition_and_can_be_undone(world, system):
    """Migration 0026 writes the rows workflows/board_reach.py keeps (the same as counted afresh);
    its downgrade drops the table, and upgrading again builds them anew."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import inspect

    import engine.db
    from workflows import board_reach

    with system.db.read() as s:
        kept = board_reach.as_rows(s)
        assert kept and kept == board_reach.recount(s)
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0025_triples")
        assert "case_reach" not in inspect(conn).get_table_names()
    system.upgrade()
    with system.db.read() as s:
        assert board_reach.as_rows(s) == kept
