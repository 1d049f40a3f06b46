"""Finding a case the way a clerk does: by its number, a party's name, a word of its summary, or the
whole phone or ID number someone reads out, and only among the cases the clerk may read."""


def ids(person, q: str) -> list[int]:
    response = person.get("/cases", q=q)
    assert response.status_code == 200, response.get_json()
    return [c["id"] for c in response.get_json()["items"]]


def test_a_case_is_found_by_number_party_name_summary_word_phone_and_id_number(people):
    village = people["village"]
    ditch = people["intake"].register()
    wall = people["intake"].register(summary="院墙倒塌砸坏邻居菜地", parties=[
        {"side": "applicant", "name": "王小花", "phone": "13700137000", "residence_org": "dz-lc"},
        {"side": "respondent", "name": "赵大成", "residence_org": "dz-lc"}])

    assert ids(village, ditch["number"]) == [ditch["id"]]
    assert ids(village, "李四") == [ditch["id"]]            # a respondent's name
    assert ids(village, "赵大成") == [wall["id"]]
    assert ids(village, "菜地") == [wall["id"]]             # a word of the summary
    assert ids(village, "13800138000") == [ditch["id"]]     # the whole phone number, as typed
    assert ids(village, "138 0013 8000") == [ditch["id"]]
    assert ids(village, "11010519491231002X") == [ditch["id"]]
    assert ids(village, "1380013") == []                    # part of a number finds nothing
    assert ids(village, "纠纷") == [ditch["id"]]


def test_a_search_never_reaches_a_case_the_searcher_may_not_read(people):
    people["intake"].register()
    other = people["other_village"]
    assert ids(other, "张三") == [] and ids(other, "13800138000") == []


def test_unknown_filters_are_refused_like_an_unknown_status(people):
    village = people["village"]
    for params in ({"type": "bogus"}, {"level": "bogus"}, {"status": "bogus"}, {"overdue": "yes"}):
        refused = village.get("/cases", **params)
        assert refused.status_code == 400, params
        assert list(refused.get_json()["error"]["fields"]) == [next(iter(params))]
    assert village.get("/cases", type="mediation", level="village").status_code == 200
