"""What every page around its content shows: who is signed in, the areas their roles work in, the
counts a page hands to the navigation, the language switch, and a footer with the API document."""
from __future__ import annotations

from flask import Blueprint, render_template_string

from tests.pages.app import page_app
from tests.pages.conftest import PageUser


def test_each_role_sees_the_areas_it_works_in(ui, browser_at):
    ui.login("officer1")
    page = ui.page("/")
    for link in ('href="/tasks"', 'href="/cases/new?type=petition"', 'href="/petitions/board"'):
        assert link in page
    assert 'href="/audit"' not in page
    auditor = browser_at("10.4.0.1")
    auditor.login("auditor1")
    page = auditor.page("/")
    assert 'href="/audit"' in page and 'href="/tasks"' not in page and 'href="/cases/new' not in page


def test_a_page_can_show_counts_in_the_navigation_and_marks_say_their_words(system):
    app = page_app(system)
    bp = Blueprint("counted", __name__)

    @bp.get("/counted")
    def counted():
        return render_template_string(
            '{% extends "base.html" %}{% block content %}<span class="mark-overdue">逾期</span>{% endblock %}',
            nav_counts={"tasks": 3})

    app.register_blueprint(bp)
    ui = PageUser(app)
    ui.login("vmed1")
    page = ui.page("/counted")
    assert ('我的待办 <span class="badge"><span class="visually-hidden">(</span>3'
            '<span class="visually-hidden">)</span></span>') in page
    assert '<a href="/counted"' not in page and "逾期" in page


def test_every_page_has_a_skip_link_the_language_switch_sign_out_and_the_api_document(ui):
    page = ui.page("/login")
    assert '<a class="skip-link" href="#main">跳到正文</a>' in page and '<main id="main"' in page
    assert 'href="/login?lang=en"' in page and "English" in page and 'href="/api/v1/openapi.json"' in page
    assert "退出登录" not in page  # nobody to sign out yet
    ui.login("vmed1")
    page = ui.page("/")
    assert '<form class="sign-out" method="post" action="/logout">' in page
    assert 'name="csrf_token"' in page[page.index('class="sign-out"'):]
