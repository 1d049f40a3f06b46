"""Read paths that stay flat as cases grow (issue 12): the search index finds what a scan of every
case would (two-character names, numbers and their tails, summary words, phones), kept on register
and rebuilt for cases loaded in bulk; the worklist in keyset pages; statistics for the planner."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, event, func, select, text

from engine import search
from engine.scheduler import OPTIMIZE, DeadlineScheduler
from engine.store import CaseSearchTerm
from tests.stores import planning_read


def ids(person, q: str) -> list[int]:
    response = person.get("/cases", q=q)
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["items"]]


def test_search_finds_two_character_names_numbers_tails_summary_words_and_phones(system, people):
    intake, village = people["intake"], people["village"]
    ditch = intake.register()  # 张三 and 李四, 排水沟堵塞引发邻里纠纷, 13800138000
    wall = intake.register(summary="院墙倒塌砸坏邻居菜地", parties=[
        {"side": "applicant", "name": "王小花", "phone": "13700137000", "residence_org": "dz-lc"},
        {"side": "respondent", "name": "欧阳", "residence_org": "dz-lc"}])
    assert ids(village, "张三") == [ditch["id"]]        # two characters: shorter than any trigram
    assert ids(village, "欧阳") == [wall["id"]]
    assert ids(village, "小花") == [wall["id"]]         # the middle of a name
    assert ids(village, "王小花") == [wall["id"]]
    assert ids(village, "倒塌") == [wall["id"]]         # a word of the summary
    assert ids(village, "邻") == [wall["id"], ditch["id"]]  # one character: 邻里 and 邻居
    assert ids(village, wall["number"]) == [wall["id"]]
    # As LIKE does on each store: SQLite ignores the case of Latin letters, PostgreSQL does not.
    assert ids(village, wall["number"].lower()) == ([] if system.db.is_postgres else [wall["id"]])
    assert ids(village, wall["number"][-6:]) == [wall["id"]]  # the tail of the number
    assert ids(village, "13700137000") == [wall["id"]]  # the whole phone, by its digest
    assert ids(village, "137001") == []                # never part of a phone
    assert ids(village, "张花") == [] and ids(village, "菜地倒塌") == []  # pairs of both, not the words
    assert ids(people["other_village"], "欧阳") == []   # nor a case the searcher may not read


def test_registering_indexes_the_case_and_rebuild_fills_the_index_after_a_bulk_load(system, people):
    case = people["intake"].register()
    if system.db.is_postgres:  # no table: the GIN index over the terms of the row (migration 0012)
        with planning_read(system) as s:
            terms = s.scalar(text(f"SELECT {search.FUNCTION}(number, search_text) FROM case_record WHERE id = :i"),
                             {"i": case["id"]})
            s.execute(text("SET LOCAL enable_seqscan = off"))  # a handful of rows: show the index is usable
            plan = "\n".join(s.scalars(text(
                "EXPLAIN SELECT id FROM case_record WHERE fq_search_terms(number, search_text) @> ARRAY['张三']")))
        assert terms == sorted(search.text_terms("张三 李四 排水沟堵塞引发邻里纠纷") | search.number_grams(case["number"]))
        assert search.INDEX in plan
        assert search.rebuild(system.db) == 0  # nothing to rebuild: PostgreSQL keeps the index
        assert ids(people["village"], "张三") == [case["id"]]
        return
    with system.db.read() as s:
        terms = set(s.scalars(select(CaseSearchTerm.term).where(CaseSearchTerm.case_id == case["id"])))
    assert {"张三", "李四", "纠纷", "#" + case["number"].lower(), "#" + case["number"][-6:]} <= terms
    assert terms == search.terms_of(case["number"], "张三 李四 排水沟堵塞引发邻里纠纷")
    with system.db.write() as s:  # as a seeder's bulk copy leaves them: no terms
        s.execute(delete(CaseSearchTerm))
    assert ids(people["village"], "张三") == []
    assert search.rebuild(system.db, chunk=1) == 1
    assert ids(people["village"], "张三") == [case["id"]]


def test_the_worklist_pages_by_cursor_without_duplicates_or_gaps_in_a_stable_order(system, people):
    for _ in range(7):  # registered at one instant: their steps are due at the same time
        people["intake"].register()
    village = people["village"]
    whole = village.get("/tasks").get_json()
    assert whole["next"] is None and len(whole["items"]) == 7
    seen, after = [], None
    while True:
        answer = village.get("/tasks", limit=3, **({"after": after} if after else {}))
        assert answer.status_code == 200, answer.get_json()
        body = answer.get_json()
        assert len(body["items"]) <= 3
        seen += [t["id"] for t in body["items"]]
        after = body["next"]
        if after is None:
            break
    assert seen == [t["id"] for t in whole["items"]] and len(set(seen)) == 7
    order = [(t["due_at"] is None, t["due_at"] or "", t["id"]) for t in whole["items"]]
    assert order == sorted(order)
    assert village.get("/tasks", limit=0).status_code == 400


def test_init_gives_the_planner_statistics_and_the_scheduler_keeps_them(system):
    ran = system.optimize()
    assert ran == "ANALYZE"
    if system.db.is_postgres:
        assert system.optimize(full=False).startswith("nothing")
        assert DeadlineScheduler(system).lease is None  # autovacuum's job: no optimize job
        return
    with system.db.read() as s:
        assert s.scalar(select(func.count()).select_from(text("sqlite_stat1"))) > 0
    scheduler = DeadlineScheduler(system)
    scheduler.start()
    try:
        assert scheduler._aps.get_job(OPTIMIZE) is not None
        scheduler._optimize_job()
        assert scheduler.optimized == (1 if scheduler.holding else 0)
    finally:
        scheduler.stop()


def test_case_lists_and_the_overdue_list_page_as_a_scan_of_every_readable_case_would(system, people):
    """Each list reads every way its reader may see a case on its own index (the unit's, the cases of
    the reader's own tasks newest first, the overdue work newest first): page by page, small pages, it
    finds what one scan of every case with the reader's condition finds, in the same order."""
    from datetime import timedelta

    from sqlalchemy import exists, or_

    from engine.store import Case, Deadline, HumanTask
    from tests.kept_due import assert_due_kept
    from usecases.relations import OrgTree, readable_cases_sql

    services = system.services
    vmed, first = _sent_back_then_up(system, people)
    [people["intake"].register()["id"] for _ in range(3)]
    system.clock.advance(timedelta(days=12))  # and now some of the work is overdue (no sweep yet)
    now = system.clock.now()
    assert assert_due_kept(system) >= 7  # the kept due times the overdue list reads, as the rows say

    def scanned(actor, overdue: bool) -> list[int]:
        with system.db.read() as s:
            where = [c for c in [readable_cases_sql(s, OrgTree.load(s), actor)] if c is not None]
            if overdue:
                where.append(or_(
                    exists().where(Deadline.case_id == Case.id, Deadline.status == "pending", Deadline.due_at <= now),
                    exists().where(HumanTask.case_id == Case.id, HumanTask.status == "ready",
                                   HumanTask.due_at.is_not(None), HumanTask.due_at <= now)))
            return list(s.scalars(select(Case.id).where(*where).order_by(Case.id.desc())))

    def paged(actor, overdue: bool) -> list[int]:
        return _every_page(services, actor, overdue=overdue)

    checked = 0
    for key in people:
        actor = services.actor_for_token(people[key].token)
        for overdue in (False, True):
            expected = scanned(actor, overdue)
            assert paged(actor, overdue) == expected, (key, overdue)
            checked += bool(expected)
    assert checked >= 6
    with system.db.read() as s:  # the village mediator reads the escalated cases as their handler
        held = dict(s.execute(select(Case.id, Case.jurisdiction).where(Case.id.in_(first[:2]))).all())
    assert set(held.values()) == {"dz"} and set(first[:2]) <= set(paged(vmed, False))
    assert not set(first[:2]) & set(paged(services.actor_for_token(people["other_village"].token), False))


def test_a_text_search_past_the_newest_window_finds_what_a_scan_would(system, people, monkeypatch):
    """PostgreSQL reads the newest WINDOW cases on the primary key before the GIN index; with a window
    of two cases a search crosses from the window to the index (SQLite has no window: the same
    answers)."""
    monkeypatch.setattr(search, "WINDOW", 2)
    intake, village = people["intake"], people["village"]
    walls = [intake.register(summary=f"院墙倒塌第{n}次", parties=[
        {"side": "applicant", "name": f"王小{n}", "residence_org": "dz-lc"},
        {"side": "respondent", "name": f"赵大{n}", "residence_org": "dz-lc"}]) for n in range(3)]
    ditch = intake.register()  # 排水沟堵塞引发邻里纠纷: the newest case holds no 院墙
    newest_first = [w["id"] for w in reversed(walls)]
    assert ids(village, "院墙") == newest_first          # one in the window, two below it
    assert ids(village, "倒塌第0") == [walls[0]["id"]]   # only below the window
    assert ids(village, "纠纷") == [ditch["id"]]         # only in it
    assert ids(village, "院墙不在") == []


def test_a_search_asks_the_index_only_for_the_pairs_few_cases_have_and_finds_the_same(system, people, monkeypatch):
    """PostgreSQL leaves out of its GIN question the pairs most cases have (from the planner's
    statistics): fewer pairs find more candidates, which the search checks, so the answer is the same.
    Here every pair of a number but one, and a pair of a name, count as common."""
    intake, village = people["intake"], people["village"]
    ditch = intake.register()  # 张三 and 李四
    wall = intake.register(summary="院墙倒塌", parties=[
        {"side": "applicant", "name": "王小花", "residence_org": "dz-lc"},
        {"side": "respondent", "name": "赵大成", "residence_org": "dz-lc"}])
    number = wall["number"]
    pairs = search.number_pairs(number)
    kept = max(pairs)
    common = frozenset(pairs - {kept}) | {"王小"}
    monkeypatch.setattr(search, "_common_pairs", lambda session: common)
    assert search._asked(None, pairs) == [kept]
    assert search._asked(None, {"王小"}) == ["王小"]  # all common: all asked
    assert ids(village, number) == [wall["id"]]
    assert ids(village, number[-5:]) == [wall["id"]]
    assert ids(village, "王小花") == [wall["id"]]
    assert ids(village, "张三") == [ditch["id"]]
    assert ids(village, number[:-1] + "X") == []


def test_a_search_of_a_number_asks_for_its_triples_or_its_one_pair_and_finds_what_a_scan_would(system, people):
    """Migration 0025: PostgreSQL's index holds the triples of characters of each number besides its
    pairs; a search of three or more characters asks for its triples, one of two characters for its
    pair (SQLite: the tails, as before). The auditors' search and the cases list find, for tails,
    middles, pairs and whole numbers, what LIKE over every case's number finds."""
    from engine.store import Case

    assert search.number_triples("MED-2026-004621") >= {"#med", "#-00", "#004", "#046", "#462", "#621"}
    assert search.number_triples("MED-2026-004621") & search.number_pairs("MED-2026-004621") == set()
    assert search.searched_number_terms("04621") == {"#046", "#462", "#621"}
    assert search.searched_number_terms("46") == {"#46"}
    assert search.searched_number_terms("MED") == {"#med"}
    intake, village = people["intake"], people["village"]
    made = [intake.register()["id"] for _ in range(12)]
    auditor = system.services.actor_for_token(people["auditor"].token)
    with system.db.read() as s:
        numbers = dict(s.execute(select(Case.id, Case.number)).all())
    newest = numbers[made[-1]]
    asked = {newest[-6:], newest[-4:], newest[-3:], newest[-2:], newest[-5:-2], newest[-7:-3], newest,
             newest[-1] + newest[-1], "-20", newest[:3], newest[:2], newest[-3:] + "9", "999", "9x"}
    for q in sorted(asked):
        expected = sorted((i for i, n in numbers.items() if q in n), reverse=True)
        found = system.services.audit.search(auditor, number=q, limit=100)
        assert [c["id"] for c in found.items] == expected and found.total == len(expected), q
        assert ids(village, q) == expected, q
    if system.db.is_postgres:
        with system.db.read() as s:
            terms = s.scalar(text(f"SELECT {search.FUNCTION}(number, search_text) FROM case_record WHERE id = :i"),
                             {"i": made[-1]})
        assert set(search.number_triples(newest)) <= set(terms) and set(search.number_pairs(newest)) <= set(terms)


@pytest.mark.parametrize("first_batch", [500, 1])
def test_a_text_search_of_a_reader_of_few_cases_finds_what_a_scan_would(system, people, monkeypatch, first_batch):
    """Readers of a few cases (a village's mediators, one of whom handled cases that went up to the
    town) and of many search past the newest window (PostgreSQL), page by page: each finds what a scan
    of every case it may read finds, in the same order; also with batches of candidates of one
    (growing fourfold), smaller than what a reader's sources hold in their range of ids, so that
    those sources are read only part of the way and the candidates below are probed."""

    from engine.store import Case
    from usecases import cases as cases_module
    from usecases.relations import OrgTree, readable_cases_sql

    monkeypatch.setattr(search, "WINDOW", 2)
    monkeypatch.setattr(cases_module, "FIRST_BATCH", first_batch)
    services = system.services
    vmed, first = _sent_back_then_up(system, people)
    wall = people["intake"].register(summary="院墙倒塌砸坏邻居菜地")["id"]
    [people["intake"].register()["id"] for _ in range(3)]

    def scanned(actor, q: str) -> list[int]:
        with system.db.read() as s:
            where = [c for c in [readable_cases_sql(s, OrgTree.load(s), actor)] if c is not None]
            return list(s.scalars(select(Case.id).where(*where, services.cases._matches(actor, q))
                                  .order_by(Case.id.desc())))

    def paged(actor, q: str) -> list[int]:
        return _every_page(services, actor, q=q)

    for key in ("village", "village2", "other_village", "town", "county", "intake"):
        actor = services.actor_for_token(people[key].token)
        for q in ("纠纷", "张三", "院墙", "邻里纠纷", "不在"):
            assert paged(actor, q) == scanned(actor, q), (key, q)
    with system.db.read() as s:  # the mediator finds the cases it handled in the town by their text
        assert set(s.scalars(select(Case.jurisdiction).where(Case.id.in_(first[:2])))) == {"dz"}
    assert set(first[:2]) <= set(paged(vmed, "纠纷")) and wall not in paged(vmed, "纠纷")
    assert not set(first[:2]) & set(paged(services.actor_for_token(people["village2"].token), "纠纷"))


def test_a_search_decides_a_narrow_readers_candidates_from_its_sources_not_a_probe_each(system, people):
    """A village reader's candidates (the cases holding a name) are decided by the ids its sources
    hold within the candidates' range of ids (its village's cases, its own tasks' cases), read on
    their indexes: no statement probes each candidate's jurisdiction and tasks; only the unclaimed
    open steps of its unit are an EXISTS. What it finds is what a scan finds."""
    from engine.store import Case
    from usecases.relations import OrgTree, readable_cases_sql

    services = system.services
    registered = [people["intake"].register()["id"] for _ in range(4)]  # 张三 and 李四, in 柳村
    for key, expected in (("village", registered[::-1]), ("other_village", [])):
        actor = services.actor_for_token(people[key].token)
        seen: list[str] = []

        def capture(conn, cursor, statement, parameters, context, executemany, seen=seen):
            seen.append(statement)

        engine = system.db.read_engine
        event.listen(engine, "before_cursor_execute", capture)
        try:
            items, _next = services.cases.search(actor, q="张三")
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        with system.db.read() as s:
            scanned = list(s.scalars(select(Case.id).where(readable_cases_sql(s, OrgTree.load(s), actor),
                                                           services.cases._matches(actor, "张三"))
                                     .order_by(Case.id.desc())))
        assert [c["id"] for c in items] == scanned == expected, key
        probes = [sql for sql in seen if "completed_by" in sql and "EXISTS" in sql.upper()]
        assert probes == [], key
        assert any("human_task.completed_by = " in sql and "ORDER BY human_task.case_id DESC" in sql
                   for sql in seen), key


def _sent_back_then_up(system, people):
    """Four disputes registered; two mediated in the village and sent back by the court, then, 20 days
    on, up to the town (which the village mediator handled): (the village mediator, the four ids)."""
    from datetime import timedelta

    from tests.mediation.test_aging import open_task, version

    services = system.services
    vmed, court = (services.actor_for_token(people[k].token) for k in ("village", "court"))
    first = [people["intake"].register()["id"] for _ in range(4)]
    for case_id in first[:2]:
        services.tasks.complete(vmed, open_task(system, case_id, "mediate").id, {
            "result": "agreement", "agreement_form": "written", "difficulty": "general",
            "agreement_text": "疏通排水沟，费用各半"}, version(system, case_id))
        services.tasks.complete(vmed, open_task(system, case_id, "judicial_confirmation").id,
                                {"applied": True, "court": "清河县人民法院"}, version(system, case_id))
        services.cases.send_message(court, case_id, "court_confirmation", {"result": "rejected"})
    system.clock.advance(timedelta(days=20))
    assert system.sweep() >= 1
    return vmed, first


def _every_page(services, actor, **filters) -> list[int]:
    """The ids of the cases list's pages of two, read to the end."""
    seen, after = [], None
    while True:
        items, after = services.cases.search(actor, after=after, limit=2, **filters)
        seen += [c["id"] for c in items]
        if after is None:
            return seen


def test_migration_0025_can_be_undone_and_each_way_finds_the_same_cases(system, people):
    """Down to 0024 PostgreSQL's index holds the numbers' pairs only (the function of 0012, the index
    rebuilt over it); up again, the triples are back and a number's tail and pair find the case
    (SQLite: nothing changes either way)."""
    from tests.engine.test_event_kind_index import _downgrade

    case = people["intake"].register()
    number, village = case["number"], people["village"]

    def terms() -> set[str]:
        with system.db.read() as s:
            return set(s.scalar(text(f"SELECT {search.FUNCTION}(number, search_text) FROM case_record "
                                     "WHERE id = :i"), {"i": case["id"]}))

    def indexed() -> bool:
        with system.db.read() as s:
            return s.scalar(text("SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() "
                                 "AND indexname = :i"), {"i": search.INDEX}) == 1

    if system.db.is_postgres:
        assert search.number_triples(number) <= terms() and indexed()
    _downgrade(system, "0024_claimed")
    if system.db.is_postgres:
        assert terms() == search.text_terms("张三 李四 排水沟堵塞引发邻里纠纷") | search.number_pairs(number)
        assert indexed()
    system.upgrade()
    if system.db.is_postgres:
        assert search.number_triples(number) <= terms() and indexed()
    assert ids(village, number[-6:]) == [case["id"]] and ids(village, number[-2:]) == [case["id"]]
