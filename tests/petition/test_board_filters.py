"""`GET /petitions/owners` narrowed by a flag and a unit, with the no-owner row's `needs_owner`: the
same shape as before, with fields added."""
from tests.petition.conftest import SUN_QI, ZHAO_LIU


def test_the_owner_board_counts_by_flag_and_unit_and_says_which_need_an_owner(people):
    office = people["officer"]
    group = office.register(petitioners=[dict(ZHAO_LIU), dict(SUN_QI)], residence_org="dz-sq", people_count=8,
                            category="expropriation", summary="征地补偿款未足额发放")
    plain = office.register()
    repeat = office.register(channel="letter", summary="再次反映")
    assert group["flags"] == ["group"] and "repeat" in repeat["flags"] and plain["flags"] == []
    assert office.set_owner(plain["id"], "leader_wang", reason="安排").status_code == 200

    def board(**params):
        response = office.get("/petitions/owners", **params)
        assert response.status_code == 200, response.get_json()
        return {row["leader"]: row for row in response.get_json()["items"]}

    everything = board()
    assert everything[None]["open"] == 2 and everything[None]["needs_owner"] == 2
    assert everything["leader_wang"]["open"] == 1 and "needs_owner" not in everything["leader_wang"]
    assert board(flag="group")[None]["open"] == 1 and board(flag="group")["leader_wang"]["open"] == 0
    assert board(flag="repeat")[None]["needs_owner"] == 1
    assert board(flag="final_matter")[None]["open"] == 0
    held = {c["jurisdiction"] for c in (group, plain, repeat)}
    assert held == {"qh"}  # the town is complained about: the county holds all three
    assert sum(r["open"] for r in board(unit="qh").values()) == 3
    assert sum(r["open"] for r in board(unit="xz").values()) == 0
    for bad in ({"unit": "nowhere"}, {"flag": "colour"}):
        assert office.get("/petitions/owners", **bad).status_code == 400
