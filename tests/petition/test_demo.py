"""The demo county (`fengqiao init --demo`) shows the petition office a realistic morning."""
from sqlalchemy import select

from engine.accounts import actor_of, find_user
from engine.store import Case
from tests.conftest import definition_files, deploy_files, make_system
from tests.petition.conftest import BPMN
from usecases import demo


def test_the_demo_county_has_petitions_at_different_stages_with_owners_one_overdue_and_one_repeat(database_url):
    system = make_system(database_url, BPMN)
    try:
        deploy_files(system, definition_files(BPMN))
        with system.db.write() as session:
            demo.seed_demo(session, system.clock.now())

        lines = demo.seed_demo_cases(system)

        assert sum(line.startswith("XF-") for line in lines) == 6
        with system.db.read() as session:
            office = actor_of(find_user(session, "petition_officer"))
            ids = session.scalars(select(Case.id).where(Case.type == "petition").order_by(Case.id)).all()
        views = [system.services.cases.get(office, i) for i in ids]
        board = {row["leader"]: row for row in system.services.petitions.board(office)["items"]}
        stages = {v["data"]["stage"] for v in views}
        assert stages == {"handling", "acceptance", "review_window", "closed"}
        assert {v["owner_leader"] for v in views} == {"leader", "leader2", None}
        overdue = [v for v in views if v["warning_level"] == "overdue"]
        assert len(overdue) == 1 and "supervise" in [t["name"] for t in overdue[0]["tasks"]]
        repeats = [v for v in views if "repeat" in v["flags"]]
        assert len(repeats) == 1 and repeats[0]["repeat_of"] == views[0]["id"]
        assert [v["outcome"] for v in views if v["status"] == "closed"] == ["not_accepted"]
        assert board["leader"]["open"] == 1 and board["leader"]["due_within_7_days"] == 1
        assert board["leader2"]["open"] == 1 and board[None]["overdue"] == 1
    finally:
        system.close()
