"""Signing in at /login: what a person sees, what the sign-in log keeps, and when the lock-out
stops someone guessing, on the simulated clock (SQLite and PostgreSQL)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text

from engine.errors import InvalidInput, Unauthenticated
from engine.store import SignInLog, User
from tests.pages.conftest import PASSWORD, minutes
from usecases.sign_in import LockedOut, SignIns

WRONG = "用户名或密码不正确"


def log_rows(system) -> list:
    with system.db.read() as session:
        return session.execute(select(SignInLog.at, SignInLog.username, SignInLog.client_address, SignInLog.ok,
                                      SignInLog.reason).order_by(SignInLog.id)).all()


def deactivate(system, username: str) -> None:
    with system.db.write() as session:
        session.scalar(select(User).where(User.username == username)).active = False


def set_display_name(system, username: str, name: str) -> None:
    with system.db.write() as session:
        session.scalar(select(User).where(User.username == username)).display_name = name


def test_a_village_mediator_signs_in_and_is_greeted_by_name_on_the_start_page(system, ui):
    set_display_name(system, "vmed1", "李调解")
    assert ui.get("/").headers["Location"] == "/login?next=/"
    response = ui.login("vmed1")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = ui.page("/")
    assert "您好，李调解" in page and "柳村" in page
    assert 'href="/tasks"' in page and 'href="/cases/new?type=mediation"' in page
    assert 'href="/cases/new?type=petition"' not in page  # a mediator does not register petitions
    [row] = log_rows(system)
    assert (row.username, row.client_address, row.ok, row.reason) == ("vmed1", "127.0.0.1", True, "ok")
    assert row.at == system.clock.now()


def test_a_wrong_password_an_unknown_user_and_a_deactivated_one_read_the_same_and_keep_the_name_typed(system, ui):
    deactivate(system, "med2")
    pages = []
    for username, password in (("vmed1", "wrong-password"), ("nobody", PASSWORD), ("med2", PASSWORD)):
        response = ui.login(username, password)
        assert response.status_code == 400
        page = response.get_data(as_text=True)
        assert WRONG in page and "错误：" in page  # said in words, not by a red border alone
        assert f'value="{username}"' in page
        assert 'value="' + password + '"' not in page  # the password is never sent back
        pages.append(page[page.index('<div class="error-summary"'):page.index("</form>")].replace(username, "NAME"))
    assert pages[0] == pages[1] == pages[2]  # nothing tells which of the three it was
    assert [(r.username, r.ok, r.reason) for r in log_rows(system)] == [
        ("vmed1", False, "wrong_password"), ("nobody", False, "unknown_user"), ("med2", False, "inactive")]
    assert ui.get("/").status_code == 302


def test_empty_fields_are_asked_for_and_not_counted_as_attempts(system, ui):
    page = ui.login("  ", "").get_data(as_text=True)
    assert "请输入用户名" in page and "请输入密码" in page and 'href="#username"' in page
    assert log_rows(system) == []


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes_whatever_the_address(system, browser_at):
    for n in range(5):
        assert browser_at(f"10.0.0.{n + 1}").login("vmed1", f"guess{n}").status_code == 400
    person = browser_at("10.0.0.99")
    response = person.login("vmed1", PASSWORD)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "这个用户名登录失败次数过多" in page and "15 分钟后再试" in page
    assert person.get("/").status_code == 302  # not signed in
    assert browser_at("10.0.0.1").login("med1").status_code == 302  # the addresses are not locked

    system.clock.advance(minutes(10))
    assert "5 分钟后再试" in person.login("vmed1", PASSWORD).get_data(as_text=True)
    system.clock.advance(minutes(5))
    assert person.login("vmed1", PASSWORD).status_code == 302
    reasons = [r.reason for r in log_rows(system) if r.username == "vmed1"]
    assert reasons == ["wrong_password"] * 5 + ["locked_account", "locked_account", "ok"]


def test_five_failures_from_one_address_lock_that_address_for_every_user_name(system, browser_at):
    guesser = browser_at("192.0.2.7")
    for name in ("vmed1", "med1", "med2", "officer1", "admin"):
        guesser.login(name, "123456")
    page = guesser.login("auditor1", PASSWORD).get_data(as_text=True)
    assert "从您所在的网络地址登录失败次数过多" in page and "15 分钟后再试" in page
    assert browser_at("192.0.2.8").login("auditor1").status_code == 302  # the account itself is fine
    system.clock.advance(minutes(15))
    assert guesser.login("auditor1").status_code == 302


def test_attempts_refused_during_a_lock_do_not_make_it_longer(system, ui):
    for _ in range(5):
        ui.login("vmed1", "wrong")
    for _ in range(5):
        system.clock.advance(minutes(2.5))
        assert ui.login("vmed1", "wrong").status_code == 429
    system.clock.advance(minutes(2.5))  # 15 minutes after the fifth failure
    assert ui.login("vmed1").status_code == 302


def test_a_correct_sign_in_forgives_the_accounts_earlier_typos(system, browser_at):
    for n in range(4):
        browser_at(f"10.1.0.{n}").login("vmed1", "typo")
    assert browser_at("10.1.0.50").login("vmed1").status_code == 302
    for n in range(4):
        browser_at(f"10.1.1.{n}").login("vmed1", "typo")
    assert browser_at("10.1.0.51").login("vmed1").status_code == 302
    for n in range(5):
        browser_at(f"10.1.2.{n}").login("vmed1", "typo")
    assert browser_at("10.1.0.52").login("vmed1").status_code == 429


def test_failures_spread_over_more_than_the_lock_period_do_not_lock(system, ui):
    for _ in range(4):
        ui.login("vmed1", "typo")
    system.clock.advance(minutes(16))
    ui.login("vmed1", "typo")
    assert ui.login("vmed1").status_code == 302


def test_the_limits_come_from_the_settings(database_url):
    from tests.conftest import FIXTURES, make_system, seed_people
    system = make_system(database_url, FIXTURES / "bpmn", signin_max_failures=2, signin_lock_minutes=3)
    try:
        seed_people(system)
        sign_ins = SignIns(system)
        for _ in range(2):
            with pytest.raises(Unauthenticated, match=WRONG):
                sign_ins.sign_in("vmed1", "typo", "10.0.0.1")
        with pytest.raises(LockedOut) as locked:
            sign_ins.sign_in("vmed1", PASSWORD, "10.0.0.1")
        assert (locked.value.minutes_left, locked.value.scope) == (3, "account")
        assert "3 分钟后再试" in locked.value.message and "try again in 3 minutes" in locked.value.message
        system.clock.advance(timedelta(minutes=2, seconds=1))
        with pytest.raises(LockedOut) as locked:
            sign_ins.sign_in("vmed1", PASSWORD, "10.0.0.1")
        assert locked.value.minutes_left == 1
        system.clock.advance(timedelta(seconds=59))
        assert sign_ins.sign_in("vmed1", PASSWORD, "10.0.0.1").username == "vmed1"
    finally:
        system.close()


def test_a_deactivated_user_is_shut_out_at_the_next_click(system, ui):
    ui.login("vmed1")
    assert ui.get("/").status_code == 200
    deactivate(system, "vmed1")
    response = ui.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "您的账号已停用" in ui.page("/login")
    with pytest.raises(Unauthenticated):
        SignIns(system).actor_for("vmed1")


def test_auditors_read_the_sign_in_log_newest_first(system, browser_at):
    browser_at("10.2.0.1").login("vmed1", "typo")
    system.clock.advance(minutes(1))
    since = system.clock.now()
    browser_at("10.2.0.2").login("<script>alert(1)</script>", "x")
    system.clock.advance(minutes(1))
    browser_at("10.2.0.3").login("auditor1")
    sign_ins = SignIns(system)
    rows = sign_ins.recent()
    assert [(r["username"], r["client_address"], r["ok"], r["reason"]) for r in rows] == [
        ("auditor1", "10.2.0.3", True, "ok"),
        ("<script>alert(1)</script>", "10.2.0.2", False, "unknown_user"),
        ("vmed1", "10.2.0.1", False, "wrong_password")]
    assert rows[0]["at"] == system.clock.now().isoformat()
    assert [r["username"] for r in sign_ins.recent(after=since)] == ["auditor1"]
    assert len(sign_ins.recent(limit=1)) == 1


def test_a_chosen_language_is_kept_for_the_user_and_only_zh_or_en_can_be_chosen(system, ui):
    sign_ins = SignIns(system)
    sign_ins.set_language("vmed1", "en")
    assert sign_ins.signed_in_user("vmed1").language == "en"
    with pytest.raises(InvalidInput):
        sign_ins.set_language("vmed1", "fr")
    ui.login("vmed1")
    assert "Hello, vmed1" in ui.page("/")
    assert '<html lang="en"' in ui.page("/")


def test_the_sign_in_migration_adds_its_table_and_column_and_can_be_undone(system):
    from alembic import command
    from alembic.config import Config
    from pathlib import Path
    import engine.db

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(engine.db.__file__).parent / "migrations"))
    with system.db.write_engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0002")
    with system.db.write_engine.connect() as conn:
        with pytest.raises(Exception):
            conn.execute(text("SELECT count(*) FROM sign_in_log"))
    system.upgrade()
    with system.db.read() as session:
        assert session.scalar(select(User.language).where(User.username == "vmed1")) is None
        assert session.scalar(text("SELECT count(*) FROM sign_in_log")) == 0


def test_a_demo_user_signs_in_with_the_password_printed_for_them(database_url):
    from tests.conftest import FIXTURES, make_system
    from tests.pages.app import page_app
    from tests.pages.conftest import PageUser
    from usecases.demo import seed_demo

    system = make_system(database_url, FIXTURES / "bpmn")
    try:
        with system.db.write() as session:
            accounts = {a.username: a for a in seed_demo(session, system.clock.now())}
        ui = PageUser(page_app(system))
        village = accounts["mediator_village"]
        assert ui.login(village.username, village.password).headers["Location"] == "/"
        page = ui.page("/")
        assert f"您好，{village.display_name}" in page and village.org_name in page
    finally:
        system.close()
