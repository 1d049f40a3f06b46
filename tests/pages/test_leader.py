"""我包案的事项 (`/leader`): an owner leader sees exactly the open cases they own, each with its stage,
next step and days left (counted again here from the stored rows), today's digest as the scheduler
would send it, and records their progress report there; nobody else uses the page."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from engine.calendar import ZONE
from engine.store import Case, Deadline, HumanTask
from tests.kept_due import assert_due_kept
from tests.pages.board_world import NOW, QIAN, Clock, api_people, build_county, seed
from tests.pages.conftest import PageUser
from tests.petition.conftest import at

_CASE = re.compile(r'<li class="owned-case" data-case-id="(\d+)">(.*?)</li>\s*(?=<li class="owned-case"|</ul>)', re.DOTALL)


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


def owned_rows(system, username: str):
    """The open cases `username` owns and their ready tasks and pending deadlines, as stored."""
    with system.db.read() as s:
        cases = {c.id: c for c in s.execute(select(Case.id, Case.number, Case.created_at)
                                            .where(Case.owner == username, Case.status == "open"))}
        ids = list(cases)
        tasks = s.execute(select(HumanTask.case_id, HumanTask.due_at)
                          .where(HumanTask.case_id.in_(ids), HumanTask.status == "ready")).all()
        pending = s.execute(select(Deadline.case_id, Deadline.due_at)
                            .where(Deadline.case_id.in_(ids), Deadline.status == "pending")).all()
        return cases, list(tasks), list(pending)


def drawn(page: str) -> dict[int, str]:
    return {int(case_id): body for case_id, body in _CASE.findall(page)}


def test_a_leader_sees_exactly_the_cases_they_own_with_stage_next_step_and_days_left(world, system, browser_of):
    now = at(NOW)
    for username in ("leader_wang", "leader_li", "leader_zhao"):
        page = browser_of(username).page("/leader")
        cases, tasks, _pending = owned_rows(system, username)
        shown = drawn(page)
        assert set(shown) == set(cases), username
        assert f"您包案的在办事项共 {len(cases)} 件" in page
        for case_id, body in shown.items():
            ready = [t for t in tasks if t.case_id == case_id and t.due_at is not None]
            first = min(ready, key=lambda t: t.due_at)
            days = (first.due_at.astimezone(ZONE).date() - now.astimezone(ZONE).date()).days
            words = f"还剩 {days} 天" if days > 0 else "今天到期" if days == 0 else f"已逾期 {-days} 天"
            assert words in body, (username, case_id, words)
            assert cases[case_id].number in body
    # Case by case, as the scenario says: A is wang's and its report is overdue since 16 September.
    wang = drawn(browser_of("leader_wang").page("/leader"))
    assert set(wang) == {world["A"]}
    assert "办理中" in wang[world["A"]] and "报告化解进展" in wang[world["A"]] and "已逾期 2 天" in wang[world["A"]]
    zhao = drawn(browser_of("leader_zhao").page("/leader"))
    assert set(zhao) == {world["C"]} and "信访积案" in zhao[world["C"]]
    # E complains about the county: its owner, at the county, sees the case but never who petitioned.
    li = browser_of("leader_li").page("/leader")
    assert set(drawn(li)) == {world["E"]} and QIAN["name"] not in li and QIAN["phone"] not in li


def test_the_digest_on_screen_is_what_the_morning_message_says(world, system, browser_of):
    now = at(NOW)
    page = browser_of("leader_wang").page("/leader")
    digest = page.split('id="digest-title"', 1)[1].split('id="owned-title"', 1)[0]
    cases, tasks, pending = owned_rows(system, "leader_wang")
    overdue = {c for c in cases if any(t.case_id == c and t.due_at and t.due_at <= now for t in tasks)
               or any(d.case_id == c and d.due_at <= now for d in pending)}
    soon = {c for c in cases if c not in overdue and any(
        d.case_id == c and now < d.due_at <= now + timedelta(days=7) for d in pending)}
    backlog = {c for c in cases if cases[c].created_at <= now - timedelta(days=90)}
    counts = [int(n) for n in re.findall(r"</span> <strong>(\d+)</strong>", digest)]
    assert counts == [len(overdue), len(soon), len(backlog)]
    assert overdue == {world["A"]}
    assert cases[world["A"]].number in digest and "包案领导报告进展的期限" in digest
    # The same lists as the message the scheduler writes at 08:00 (engine/reminders.py).
    with system.db.read() as s:
        lists = system.reminders.digest_lists(s.connection(), now)["leader_wang"]
    assert [e["case_id"] for e in lists["overdue"]] == sorted(overdue)


def test_the_leader_records_progress_on_their_page(world, system, browser_of):
    wang = browser_of("leader_wang")
    page = wang.page("/leader")
    task_id = int(re.search(r'action="/leader/reports/(\d+)"', page).group(1))
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    # Nothing written: refused beside the field, nothing recorded.
    empty = wang.submit(f"/leader/reports/{task_id}", {"notes": "  ", "version": version}, form_page="/leader")
    assert empty.status_code == 400 and "请填写化解进展" in empty.get_data(as_text=True)
    # A stale version: said in words, the text kept.
    stale = wang.submit(f"/leader/reports/{task_id}", {"notes": "已约谈双方", "version": str(int(version) - 1)},
                        form_page="/leader")
    assert stale.status_code == 409 and "已约谈双方" in stale.get_data(as_text=True)
    done = wang.submit(f"/leader/reports/{task_id}", {"notes": "已约谈双方，拟下周复核面积", "version": version},
                       form_page="/leader")
    assert done.status_code == 303 and done.headers["Location"].endswith("/leader")
    after = wang.page("/leader")
    assert "已报告化解进展" in after
    admin = _admin(system)
    reports = [e for e in system.services.cases.history(admin, world["A"])
               if e["kind"] == "task_completed" and e["data"]["step"] == "progress_report"]
    assert reports[-1]["actor"] == "leader_wang" and reports[-1]["data"]["data"] == {"notes": "已约谈双方，拟下周复核面积"}
    # The next report is a new task, due later: the case is no longer overdue for its report.
    new_id = int(re.search(r'action="/leader/reports/(\d+)"', after).group(1))
    assert new_id != task_id
    # Another leader cannot record wang's report; a case they cannot read is the 404 page.
    li = browser_of("leader_li")
    refused = li.submit(f"/leader/reports/{new_id}", {"notes": "越权", "version": "1"}, form_page="/leader")
    assert refused.status_code in (403, 404)
    assert [e for e in system.services.cases.history(admin, world["A"]) if e["kind"] == "task_completed"
            and e["actor"] == "leader_li"] == []


def _admin(system):
    from engine.accounts import actor_of, find_user
    with system.db.read() as s:
        return actor_of(find_user(s, "admin1"))


def test_only_leaders_use_the_page_and_it_is_in_their_navigation(world, system, browser_of):
    for username in ("officer1", "vmed1", "auditor1", "admin1"):
        person = browser_of(username)
        assert person.get("/leader").status_code == 403, username
        assert 'href="/leader"' not in person.page("/"), username
    wang = browser_of("leader_wang")
    assert 'href="/leader"' in wang.page("/") and 'href="/petitions/board"' in wang.page("/")
    english = wang.page("/leader?lang=en")
    assert "reminder of your cases" in english and "days overdue" in english


def _actor(system, username: str):
    from engine.accounts import actor_of, find_user
    with system.db.read() as s:
        return actor_of(find_user(s, username))


def test_a_leaders_list_pages_through_their_cases_soonest_due_first_by_the_kept_due_time(system, client):
    people, clock = api_people(system, client), Clock(system)
    world = seed(people, clock)
    office = people["officer"]
    for key in ("B", "D", "F"):
        assert office.set_owner(world[key], "leader_wang", reason="统一包案").status_code == 200
    assert assert_due_kept(system)
    # his progress report on A, done: its next report falls due 15 days later, the case's due time moves
    before = {c.id: c.next_due_at for c in owned_rows_kept(system, "leader_wang")}
    people["wang"].do(world["A"], "progress_report", notes="已约谈双方")
    after = {c.id: c.next_due_at for c in owned_rows_kept(system, "leader_wang")}
    assert after[world["A"]] > before[world["A"]]
    assert assert_due_kept(system)
    clock.to("2026-09-25 09:00")  # deadlines fire, steps move on
    assert assert_due_kept(system)
    # one of his cases has no due step (as a step without a time limit leaves it): it comes last
    with system.db.write() as s:
        s.execute(update(Case).where(Case.id == world["F"]).values(next_due_at=None))
    cases, tasks, _pending = owned_rows(system, "leader_wang")
    due = {c: min((t.due_at for t in tasks if t.case_id == c and t.due_at), default=None) for c in cases}
    due[world["F"]] = None
    expected = sorted(cases, key=lambda c: (due[c] is None, due[c] or at(NOW), c))
    assert len(expected) == 4
    leader = system.services.leader
    actor = _actor(system, "leader_wang")
    for per_page in (1, 2, 3, 4, 50):
        pages = -(-len(expected) // per_page)
        seen = []
        for page in range(1, pages + 1):
            answer = leader.owned(actor, page=page, per_page=per_page)
            assert answer["total"] == len(expected) and answer["pages"] == pages
            seen += [item["id"] for item in answer["items"]]
        assert seen == expected, per_page
        assert leader.owned(actor, page=pages + 1, per_page=per_page)["items"] == []
    # nobody else's case, nor a closed one, is on it
    assert world["E"] not in expected and world["G"] not in expected


def owned_rows_kept(system, username: str):
    with system.db.read() as s:
        return s.execute(select(Case.id, Case.next_due_at).where(Case.owner == username)).all()
