"""Subsidy review through the pages (/subsidies), as the town justice office, the county bureau and a
mediator meet it: the case file beside the entry, review, approval, rejection with a reason, a
reversal shown on the entry it reverses, and the quarter's batch, refused before the quarter ends.

The world is the authorization matrix's (tests/api/test_authorization_matrix.py): EA is vmed1's
subsidy for a settled dispute at 柳村, reviewed by 东镇's justice office (jtown1); EB is xmed1's at 西镇.
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.accounts import actor_of, add_user, find_user
from tests.api.test_authorization_matrix import SECRETS, world  # noqa: F401
from tests.pages.conftest import PageUser


@pytest.fixture
def pages(world):  # noqa: F811  (pytest passes the fixture imported above)
    from web.app import create_app
    system = world["system"]
    with system.db.write() as s:
        add_user(s, "jcounty1", ["justice_officer"], "qh", "password1", now=system.clock.now())
    with system.db.read() as s:
        world["actors"]["jcounty1"] = actor_of(find_user(s, "jcounty1"))
    app = create_app(services=system.services)

    def person(username):
        user = PageUser(app)
        assert user.login(username, "password1").status_code in (302, 303)
        return user
    world["person"] = person
    return world


def status_of(pages, key):
    (entry,) = [e for e in pages["system"].services.subsidies.list(pages["actors"]["admin1"])[0]
                if e["id"] == pages["entries"][key]]
    return entry["status"]


def test_the_town_office_sees_its_entry_with_the_case_file_beside_it_and_reviews_it(pages):
    town = pages["person"]("jtown1")
    ea, eb = pages["entries"]["EA"], pages["entries"]["EB"]
    listing = town.page("/subsidies")
    assert "待审核" in listing and f"第 {ea} 号" in listing and f"第 {eb} 号" not in listing
    page = town.page(f"/subsidies?entry={ea}")
    for words in ("案卷", "书面调解协议书", "一般", "已履行", "卷宗清单", "50.00 元", "审核通过", "驳回"):
        assert words in page, words
    assert f'action="/subsidies/{ea}/approve"' not in page  # approving is the county's
    assert not [s for s in SECRETS if s in page]  # masked as on the case page
    assert town.get(f"/subsidies?entry={eb}").status_code == 404  # another town's: as if missing
    answer = town.submit(f"/subsidies/{ea}/review", {"note": "卷宗齐全"}, form_page=f"/subsidies?entry={ea}")
    assert answer.status_code == 303
    assert status_of(pages, "EA") == "reviewed"
    assert "已审核" in town.page(answer.headers["Location"])
    # The town may not approve: the county bureau does (403 page, nothing changed).
    refused = town.submit(f"/subsidies/{ea}/approve", {"note": ""}, form_page="/subsidies")
    assert refused.status_code == 403 and status_of(pages, "EA") == "reviewed"


def test_the_county_approves_rejects_with_a_reason_and_reverses_after_a_spot_check(pages):
    services, actors = pages["system"].services, pages["actors"]
    ea, eb = pages["entries"]["EA"], pages["entries"]["EB"]
    services.subsidies.review(actors["jtown1"], ea)
    county = pages["person"]("jcounty1")
    queue = county.page("/subsidies")
    assert "待批准" in queue and f"第 {ea} 号" in queue and f"第 {eb} 号" not in queue  # EB is not reviewed yet
    assert county.submit(f"/subsidies/{ea}/approve", {"note": ""}, form_page="/subsidies").status_code == 303
    assert status_of(pages, "EA") == "approved"
    # A rejection without a reason comes back with the message beside the field; nothing changes.
    empty = county.submit(f"/subsidies/{eb}/reject", {"reason": "  "}, form_page="/subsidies")
    assert empty.status_code == 400 and "请填写理由" in empty.get_data(as_text=True)
    assert status_of(pages, "EB") == "accrued"
    rejected = county.submit(f"/subsidies/{eb}/reject", {"reason": "调解笔录缺当事人签字"}, form_page="/subsidies")
    assert rejected.status_code == 303 and status_of(pages, "EB") == "rejected"
    assert "调解笔录缺当事人签字" in county.page(f"/subsidies?status=rejected&entry={eb}")
    # A reversal needs its reason too, and is then shown on the entry it reverses.
    kept = county.submit(f"/subsidies/{ea}/reverse", {"reason": ""}, form_page="/subsidies")
    assert kept.status_code == 400
    assert county.submit(f"/subsidies/{ea}/reverse", {"reason": "抽查发现协议系伪造"},
                         form_page="/subsidies").status_code == 303
    page = county.page(f"/subsidies?status=all&entry={ea}")
    assert "已冲销" in page and "抽查发现协议系伪造" in page and "-50.00 元" in page
    # A second reversal of the same entry is a conflict said in words.
    again = county.submit(f"/subsidies/{ea}/reverse", {"reason": "再次冲销"}, form_page="/subsidies")
    assert again.status_code == 409 and "已被冲销" in again.get_data(as_text=True)


def test_the_batch_is_refused_before_the_quarter_ends_and_made_once_after(pages):
    system, services, actors = pages["system"], pages["system"].services, pages["actors"]
    ea = pages["entries"]["EA"]
    services.subsidies.review(actors["jtown1"], ea)
    services.subsidies.approve(actors["jcounty1"], ea)
    county = pages["person"]("jcounty1")
    quarter = "2026Q3"  # the world's entries were recorded in September 2026
    before = county.page(f"/subsidies/batch?quarter={quarter}")
    assert "尚未结束" in before and "2026年10月1日" in before and "50.00 元" in before
    refused = county.submit("/subsidies/batch", {"quarter": quarter}, form_page=f"/subsidies/batch?quarter={quarter}")
    assert refused.status_code == 409 and "尚未结束" in refused.get_data(as_text=True)
    assert status_of(pages, "EA") == "approved"
    system.clock.set(datetime(2026, 10, 2, 1, 0, tzinfo=UTC))
    made = county.submit("/subsidies/batch", {"quarter": quarter}, form_page=f"/subsidies/batch?quarter={quarter}")
    assert made.status_code == 303
    page = county.page(made.headers["Location"])
    assert "共 1 条，合计 50.00 元" in page and "已生成" in page
    assert status_of(pages, "EA") == "paid"
    # Asked again, the batch made before is shown, unchanged.
    again = county.submit("/subsidies/batch", {"quarter": quarter}, form_page=f"/subsidies/batch?quarter={quarter}")
    assert "此前已生成" in county.page(again.headers["Location"])
    # The town office makes no batches.
    assert pages["person"]("jtown1").get(f"/subsidies/batch?quarter={quarter}").status_code == 403


def test_a_mediator_sees_only_their_own_entries_and_no_actions(pages):
    vmed = pages["person"]("vmed1")
    ea, eb = pages["entries"]["EA"], pages["entries"]["EB"]
    page = vmed.page("/subsidies")
    assert f"第 {ea} 号" in page and f"第 {eb} 号" not in page
    own = vmed.page(f"/subsidies?entry={ea}")
    assert "案卷" in own and "书面调解协议书" in own
    assert f'action="/subsidies/{ea}/' not in own  # no buttons for the payee
    assert vmed.submit(f"/subsidies/{ea}/review", {"note": ""}, form_page="/subsidies").status_code == 403
    assert status_of(pages, "EA") == "accrued"
    assert pages["person"]("intake1").get("/subsidies").status_code == 403
