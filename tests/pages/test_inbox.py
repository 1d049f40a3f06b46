"""通知 (/inbox): the reminders a person was sent, newest first, with the unread count beside 通知 in
the navigation of every page, mark read, mark all read, and a link to the task or case."""
from __future__ import annotations

import re

import pytest

from notifications.dispatcher import OutboxDispatcher
from tests.deadlines.conftest import _notification_log_in_tmp, a_county  # noqa: F401
from tests.notifications.test_channels import overdue_village_case
from tests.pages.app import page_app
from tests.pages.conftest import PageUser


@pytest.fixture
def county(database_url):
    with a_county(database_url) as system:
        yield system


@pytest.fixture
def app(county):
    return page_app(county)


def signed_in(app, username: str) -> PageUser:
    person = PageUser(app)
    assert person.login(username, "password1").status_code == 302
    return person


def nav_badge(html: str) -> str | None:
    """The count shown beside 通知 in the navigation, or None."""
    found = re.search(r'<a href="/inbox"[^>]*>通知 <span class="badge">.*?(\d+) 条未读', html, re.DOTALL)
    return found.group(1) if found else None


def test_the_reminder_shows_in_the_inbox_with_its_count_and_a_link_to_the_task(county, app):
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    vmed = signed_in(app, "vmed1")
    home = vmed.page("/")
    assert nav_badge(home) == "1"
    page = vmed.page("/inbox")
    assert "您有 1 条未读通知" in page and "逾期提醒" in page and "TIMED-2026-000001" in page
    (href,) = re.findall(r'<a class="button button-link" href="([^"]+)">去办理此事项</a>', page)
    assert re.fullmatch(r"/tasks/\d+", href)  # this site's own address, not the e-mail's absolute link
    assert vmed.get(href).status_code == 200
    # Someone else's inbox is their own.
    head = signed_in(app, "town_head")
    assert "督办提醒" in head.page("/inbox") and "逾期提醒" not in head.page("/inbox")


def test_mark_read_and_mark_all_read(county, app):
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    vmed = signed_in(app, "vmed1")
    (item_id,) = re.findall(r"/inbox/(\d+)/read", vmed.page("/inbox"))
    done = vmed.submit(f"/inbox/{item_id}/read", {"next": "/inbox"}, form_page="/inbox")
    assert done.status_code == 302 and done.headers["Location"].endswith("/inbox")
    page = vmed.page("/inbox")
    assert "没有未读通知" in page and "已读" in page and nav_badge(page) is None
    assert "没有未读通知" in vmed.page("/inbox?unread=1") and "TIMED-2026-000001" not in vmed.page("/inbox?unread=1")
    # Another person cannot mark it (it answers as for a missing one) and their count is unchanged.
    head = signed_in(app, "town_head")
    assert head.submit(f"/inbox/{item_id}/read", {}, form_page="/inbox").status_code == 302
    assert nav_badge(head.page("/")) == "1"
    assert "全部标为已读" in head.page("/inbox")
    assert head.submit("/inbox/read-all", {"next": "/inbox"}, form_page="/inbox").status_code == 302
    page = head.page("/inbox")
    assert "没有未读通知" in page and nav_badge(page) is None


def test_the_inbox_needs_a_sign_in_and_a_form_token(county, app):
    anonymous = PageUser(app)
    assert "/login" in anonymous.get("/inbox").headers["Location"]
    vmed = signed_in(app, "vmed1")
    assert vmed.submit("/inbox/read-all", {}, with_token=False).status_code == 400


def test_the_inbox_in_english(county, app):
    overdue_village_case(county)
    OutboxDispatcher.for_system(county).dispatch()
    vmed = signed_in(app, "vmed1")
    page = vmed.page("/inbox?lang=en")
    assert "You have 1 unread notifications." in page and "Mark as read" in page and "Work on this task" in page
    assert re.search(r'href="/inbox"[^>]*>Notifications <span class="badge">.*?1 unread', page, re.DOTALL)
