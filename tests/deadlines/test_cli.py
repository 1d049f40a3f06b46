"""The operator's side: contact settings, the outbox, and a scheduler that stops cleanly."""
from __future__ import annotations


from tests.cli.conftest import fengqiao, cli_env, system  # noqa: F401 (fixtures)
from tests.deadlines.conftest import SchedulerProcess, outbox, seed_county, wait_for


def test_an_admin_sets_a_users_contacts_and_names_the_unit_head(fengqiao, system):
    seed_county(system)
    done = fengqiao("user", "set", "vmed1", "--channels", "inapp,sms", "--phone", "138 0013 8000", "--unit-head")
    assert done.code == 0, done.err
    assert "inapp,sms" in done.out and "13800138000" in done.out and "unit head" in done.out
    refused = fengqiao("user", "set", "vmed1", "--email", "not-an-address")
    assert refused.code == 1 and "email" in refused.err
    refused = fengqiao("user", "set", "vmed1", "--channels", "email")
    assert refused.code == 1 and "e-mail address" in refused.err
    assert fengqiao("user", "set", "nobody", "--no-unit-head").code == 1


def test_failed_messages_are_listed_and_sent_again(fengqiao, system):
    people = seed_county(system)
    fengqiao("clock", "set", "2026-09-01T09:00:00+08:00")
    system.engine.start_case("timed", {"days": 10, "jurisdiction": "qh-dz-lc"}, people["intake"])
    fengqiao("user", "set", "vmed1", "--channels", "email", "--email", "vmed1@liucun.example")
    fengqiao("clock", "set", "2026-09-14T09:00:00+08:00")
    assert "fired 1" in fengqiao("sweep").out
    with system.db.write() as s:  # the address is lost after it was chosen
        from engine.store import User
        s.execute(User.__table__.update().where(User.username == "vmed1").values(email=None))
    from notifications.dispatcher import OutboxDispatcher
    OutboxDispatcher.for_system(system).dispatch()
    listed = fengqiao("outbox", "list", "--status", "failed")
    (failed,) = [m for m in outbox(system) if m.status == "failed" and m.recipient == "vmed1"]
    assert listed.code == 0 and f"#{failed.id}" in listed.out and "has no e-mail address" in listed.out
    again = fengqiao("outbox", "retry", str(failed.id))
    assert again.code == 0 and "queued again" in again.out
    assert fengqiao("outbox", "retry", str(failed.id)).code == 1  # pending now, not failed


def test_the_scheduler_command_stops_on_sigterm_and_hands_the_lease_over(cli_env, system, tmp_path):
    seed_county(system)
    first = SchedulerProcess(cli_env, tmp_path, "first").start()
    first.stop()
    assert first.process.returncode == 0 and "scheduler stopped" in first.log()
    second = SchedulerProcess(cli_env, tmp_path, "second").start()
    try:  # the lease was released on the way out: the next one holds it at once (SQLite)
        wait_for(lambda: "sweeping" in second.log() or "PostgreSQL" in second.log(), 5, what="the lease")
    finally:
        second.stop()


def test_the_digest_time_is_checked_at_boot():
    import pytest

    from engine.config import Settings
    with pytest.raises(ValueError):
        Settings.from_env({"FENGQIAO_DIGEST_TIME": "8 o'clock"})
    with pytest.raises(ValueError):
        Settings.from_env({"FENGQIAO_SUPERVISORS": "petition=chief"})
    with pytest.raises(ValueError):
        Settings.from_env({"FENGQIAO_SMS_BACKEND": "http"})  # needs a URL
    assert Settings.from_env({"FENGQIAO_SUPERVISORS": "mediation=head;petition=role:petition_officer"}) \
        .supervisor_rules["petition"] == ("role", "petition_officer")
