"""Accounts and tokens from the command line (issue 13.3): tokens with a name and an expiry that can be
listed and revoked; users listed, deactivated, reactivated and given a new password. A revoked or
expired token, and every token of a deactivated user, is refused at once; every change is an event
of the administrators' hash-chained log."""
from __future__ import annotations

from datetime import datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select, update

from engine import admin_events
from engine.accounts import actor_for_token, check_password
from engine.errors import Unauthenticated
from engine.store import AdminEvent, ApiToken, User
from tests.cli.test_cli import assert_user_error

START = "2026-09-01T09:00:00+08:00"


@pytest.fixture
def county(fengqiao):
    """A county with an auditor and a mediator, on the simulated clock at START."""
    assert fengqiao("clock", "set", START).code == 0
    assert fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county").code == 0
    for name, role in (("auditor1", "auditor"), ("med1", "mediator"), ("admin1", "admin")):
        made = fengqiao("user", "add", name, "--role", role, "--org", "qh", "--password-stdin", stdin="password1\n")
        assert made.code == 0, made.err
    return fengqiao


def actor_of_token(system, token: str, at: str = START):
    with system.db.read() as s:
        return actor_for_token(s, token, datetime.fromisoformat(at))


def refused(system, token: str, at: str = START) -> str:
    with pytest.raises(Unauthenticated) as e:
        actor_of_token(system, token, at)
    return e.value.message


def kinds(system) -> list[str]:
    with system.db.read() as s:
        return list(s.scalars(select(AdminEvent.kind).order_by(AdminEvent.seq)))


def test_a_token_has_a_name_and_expires_after_its_days(county, system):
    made = county("token", "create", "auditor1", "--days", "30", "--name", "审计系统")
    assert made.code == 0, made.err
    token = made.out.strip()
    assert token.startswith("fq_") and "\n" not in token  # the contract: stdout is the token alone
    assert "2026-10-01T09:00:00+08:00" in made.err
    assert actor_of_token(system, token, "2026-10-01T08:59:59+08:00").username == "auditor1"
    assert "过期" in refused(system, token, "2026-10-01T09:00:00+08:00")
    listed = county("token", "list", "auditor1")
    assert listed.code == 0
    (row,) = listed.out.splitlines()[1:]
    assert "审计系统" in row and "2026-10-01T09:00:00+08:00" in row and "有效 / active" in row
    county("clock", "advance", "30d")
    assert "已过期 / expired" in county("token", "list", "auditor1").out


def test_the_default_lifetime_is_90_days_or_fengqiao_token_days(county, system, monkeypatch):
    token = county("token", "create", "auditor1").out.strip()
    with system.db.read() as s:
        row = s.scalar(select(ApiToken))
        assert row.expires_at - row.created_at == timedelta(days=90) and row.name == ""
    monkeypatch.setenv("FENGQIAO_TOKEN_DAYS", "7")
    county("token", "create", "auditor1")
    with system.db.read() as s:
        newest = s.scalars(select(ApiToken).order_by(ApiToken.id.desc())).first()
        assert newest.expires_at - newest.created_at == timedelta(days=7)
    assert actor_of_token(system, token).username == "auditor1"
    monkeypatch.setenv("FENGQIAO_TOKEN_DAYS", "0")
    bad = county("token", "list", "auditor1")
    assert bad.code == 1 and "FENGQIAO_TOKEN_DAYS" in bad.err
    monkeypatch.delenv("FENGQIAO_TOKEN_DAYS")
    assert_user_error(county("token", "create", "auditor1", "--days", "0"), "天数", code=2)
    assert_user_error(county("token", "create", "nobody"), "不存在", "no such user")


def test_a_revoked_token_is_refused_at_once_and_others_keep_working(county, system):
    first = county("token", "create", "auditor1", "--name", "old").out.strip()
    second = county("token", "create", "auditor1", "--name", "new").out.strip()
    with system.db.read() as s:
        first_id = s.scalar(select(ApiToken.id).where(ApiToken.name == "old"))
    done = county("token", "revoke", str(first_id))
    assert done.code == 0 and str(first_id) in done.out
    assert "撤销" in refused(system, first)
    assert actor_of_token(system, second).username == "auditor1"
    assert "已撤销 / revoked" in county("token", "list", "auditor1").out
    assert_user_error(county("token", "revoke", str(first_id)), "已撤销", "already revoked", code=1)
    assert_user_error(county("token", "revoke", "987654321"), "不存在", "no token")
    assert_user_error(county("token", "revoke", "abc"), "令牌编号", code=2)
    assert kinds(system)[-3:] == ["token_created", "token_created", "token_revoked"]


def test_deactivating_a_user_refuses_every_token_at_once_and_activation_brings_them_back(county, system):
    token = county("token", "create", "med1").out.strip()
    done = county("user", "deactivate", "med1")
    assert done.code == 0, done.err
    assert "停用" in refused(system, token)
    listed = county("user", "list").out
    assert any(line.startswith("med1\t") and "已停用 / deactivated" in line for line in listed.splitlines())
    assert_user_error(county("user", "deactivate", "med1"), "已停用", "already deactivated")
    assert_user_error(county("token", "create", "med1"), "已停用", "deactivated")  # no new token either
    assert county("user", "activate", "med1").code == 0
    assert actor_of_token(system, token).username == "med1"
    assert_user_error(county("user", "activate", "med1"), "未停用", "is active")
    assert_user_error(county("user", "deactivate", "nobody"), "不存在", "no such user")
    assert kinds(system)[-3:] == ["token_created", "user_deactivated", "user_activated"]


def test_the_last_admin_cannot_be_deactivated(county, system):
    assert_user_error(county("user", "deactivate", "admin1"), "最后一位", "last active admin")
    county("user", "add", "admin2", "--role", "admin", "--org", "qh", "--password-stdin", stdin="password2\n")
    assert county("user", "deactivate", "admin1").code == 0


def test_a_password_is_reset_from_stdin_or_typed_twice(county, system, monkeypatch):
    done = county("user", "password", "med1", "--password-stdin", stdin="a brand new one\n")
    assert done.code == 0, done.err
    with system.db.read() as s:
        user = s.scalar(select(User).where(User.username == "med1"))
        assert check_password(user.password_hash, "a brand new one") and not check_password(user.password_hash,
                                                                                             "password1")
        assert user.credentials_version == 1
    assert_user_error(county("user", "password", "med1", "--password-stdin", stdin="short\n"), "密码", "password")
    typed = iter(["typed twice ok", "typed twice no"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert_user_error(county("user", "password", "med1"), "不一致", "do not match")

    def no_prompt(prompt=""):
        raise AssertionError("asked for the password of a user that does not exist")
    monkeypatch.setattr("getpass.getpass", no_prompt)
    assert_user_error(county("user", "password", "nobody"), "不存在", "no such user")
    assert kinds(system).count("password_reset") == 1


def test_every_change_is_in_one_verified_chain_and_an_edit_breaks_it(county, system):
    county("token", "create", "med1")
    county("user", "deactivate", "med1")
    county("user", "password", "auditor1", "--password-stdin", stdin="another pass\n")
    with system.db.read() as s:
        result = admin_events.verify(s)
        events = list(s.scalars(select(AdminEvent).order_by(AdminEvent.seq)))
        s.expunge_all()
    assert result.ok and result.checked == len(events) >= 8  # three users, the org unit, the clock, these
    assert [e.actor for e in events] == ["cli"] * len(events)
    assert [e.kind for e in events][-3:] == ["token_created", "user_deactivated", "password_reset"]
    assert all(later.prev_hash == earlier.hash for earlier, later in pairwise(events))
    with system.db.write() as s:
        s.execute(update(AdminEvent).where(AdminEvent.seq == len(events) - 1).values(subject="auditor1"))
    with system.db.read() as s:
        broken = admin_events.verify(s)
    assert not broken.ok and broken.broken_seq == len(events) - 1
    # Deleting the newest event is found too: the head keeps its seq and hash.
    with system.db.write() as s:
        s.execute(update(AdminEvent).where(AdminEvent.seq == len(events) - 1).values(subject="med1"))
        s.delete(s.scalar(select(AdminEvent).where(AdminEvent.seq == len(events))))
    with system.db.read() as s:
        tail = admin_events.verify(s)
    assert not tail.ok and tail.broken_seq is None and "末尾" in tail.reason
