"""`fengqiao` scenarios: what an operator types, what they read back, what the store then holds."""
from __future__ import annotations

import gc
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from engine.accounts import actor_for_token, actor_of, check_password
from engine.store import Case, CaseEvent, Definition, HolidayYear, HumanTask, OrgUnit, User
from tests.conftest import FIXTURES
from usecases import demo

REPO = Path(__file__).resolve().parents[2]
ISO_SHANGHAI = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?\+08:00$")
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def assert_user_error(outcome, *fragments: str, code: int = 1) -> None:
    """One line on stderr, Chinese before English, no traceback, and a non-zero exit."""
    assert outcome.code == code, (outcome.out, outcome.err)
    assert len(outcome.err_lines) == 1, outcome.err
    line = outcome.err_lines[0]
    assert "Traceback" not in outcome.err
    assert CHINESE.search(line), line
    english = line.find(" / ")
    assert english > 0 and CHINESE.search(line[:english]), line
    for fragment in fragments:
        assert fragment in line, line


def count(system, model) -> int:
    with system.db.read() as s:
        return s.scalar(select(func.count()).select_from(model))


def broken_bpmn() -> str:
    """A process whose sequence flow points at an end event that is not there."""
    return """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_broken"
                  targetNamespace="http://fengqiao.example/tests">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="Flow_to_nowhere" sourceRef="start" targetRef="End_missing"/>
  </bpmn:process>
</bpmn:definitions>
"""


def calendar_2027(**changes) -> dict:
    data = {
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知（测试数据）",
        "holidays": [
            {"name": "元旦", "from": "2027-01-01", "to": "2027-01-03"},
            {"name": "国庆节", "from": "2027-10-01", "to": "2027-10-07"},
        ],
        "workdays": ["2027-09-25", "2027-10-09"],
    }
    data.update(changes)
    return data


# ------------------------------------------------------------------------------ init

def test_init_demo_creates_the_county_once_and_prints_each_password_once(fengqiao, system):
    first = fengqiao("init", "--demo")
    assert first.code == 0, first.err
    assert "timed  v1  新版本 / new" in first.out
    passwords = {}
    for user in demo.USERS:
        match = re.search(rf"^\s+{user.username}\s+(\S+)\s", first.out, re.M)
        assert match, f"{user.username} not listed:\n{first.out}"
        passwords[user.username] = match.group(1)
    with system.db.read() as s:
        for username, password in passwords.items():
            stored = s.scalar(select(User).where(User.username == username))
            assert check_password(stored.password_hash, password), username
        units = {u.code: u for u in s.execute(select(OrgUnit.code, OrgUnit.level, OrgUnit.parent))}
        users = {u.username: u for u in s.execute(select(User.username, User.roles, User.org_unit))}
    assert [u.code for u in units.values() if u.level == "county"] == [demo.COUNTY]
    towns = [u for u in units.values() if u.level == "town"]
    assert len(towns) == 3
    for town in towns:
        assert len([u for u in units.values() if u.parent == town.code]) == 3
    assert any("易地搬迁" in u.note for u in demo.UNITS if u.level == "village")
    assert {role for u in users.values() for role in u.roles} == {
        "intake", "mediator", "court_liaison", "petition_officer", "leader", "justice_officer", "auditor", "admin"}
    mediator_levels = {units[u.org_unit].level for u in users.values() if "mediator" in u.roles}
    assert mediator_levels == {"village", "town", "county"}
    justice_levels = {units[u.org_unit].level for u in users.values() if "justice_officer" in u.roles}
    assert justice_levels == {"town", "county"}

    second = fengqiao("init", "--demo")
    assert second.code == 0, second.err
    assert "演示县已存在" in second.out and "exists" in second.out
    assert "timed  v1  未变 / unchanged" in second.out
    for password in passwords.values():
        assert password not in second.out + second.err
    assert count(system, OrgUnit) == len(demo.UNITS)
    assert count(system, User) == len(demo.USERS)


def test_init_with_an_empty_bpmn_folder_deploys_nothing(fengqiao, monkeypatch, tmp_path, system):
    (tmp_path / "bpmn" / "forms").mkdir(parents=True)
    monkeypatch.setenv("FENGQIAO_BPMN_DIR", str(tmp_path / "bpmn"))
    outcome = fengqiao("init")
    assert outcome.code == 0, outcome.err
    assert "未部署流程" in outcome.out and "nothing deployed" in outcome.out
    assert count(system, Definition) == 0


def test_a_database_that_cannot_be_opened_is_one_line(fengqiao, monkeypatch, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", f"sqlite:///{tmp_path / 'a-file' / 'fengqiao.db'}")
    assert_user_error(fengqiao("init"), "无法打开数据库", "cannot open the database")


def test_bad_arguments_are_reported_in_chinese_too(fengqiao):
    assert_user_error(fengqiao(), "命令参数有误", code=2)
    assert_user_error(fengqiao("clock"), "命令参数有误", code=2)
    assert_user_error(fengqiao("user", "add", "someone", "--org", "county"), "--role", code=2)


# ------------------------------------------------------------------------------ org, user, token

def test_an_admin_builds_a_town_and_adds_a_mediator(fengqiao, system):
    assert fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county").code == 0
    assert fengqiao("org", "add", "qh-dz", "--name", "东镇", "--level", "town", "--parent", "qh").code == 0
    added = fengqiao("user", "add", "med1", "--role", "mediator", "--role", "intake", "--org", "qh-dz",
                     "--name", "李调解", "--password-stdin", stdin="correct horse\n")
    assert added.code == 0, added.err
    assert "med1" in added.out
    officer = fengqiao("user", "add", "officer1", "--role", "petition_officer", "--org", "qh", "--civil-servant",
                       "--password-stdin", stdin="another secret\n")
    assert officer.code == 0, officer.err
    with system.db.read() as s:
        med, off = (s.execute(select(User.roles, User.org_unit, User.display_name, User.password_hash,
                                     User.civil_servant).where(User.username == name)).one()
                    for name in ("med1", "officer1"))
        town = s.execute(select(OrgUnit.name, OrgUnit.level, OrgUnit.parent).where(OrgUnit.code == "qh-dz")).one()
    assert tuple(town) == ("东镇", "town", "qh")
    assert med.roles == ["mediator", "intake"] and med.org_unit == "qh-dz" and med.display_name == "李调解"
    assert check_password(med.password_hash, "correct horse")
    assert not med.civil_servant and off.civil_servant


def test_a_password_typed_twice_must_match(fengqiao, monkeypatch, system):
    fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county")
    typed = iter(["first try 1", "first try 2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    assert_user_error(fengqiao("user", "add", "med1", "--role", "mediator", "--org", "qh"), "不一致", "do not match")
    typed = iter(["good password", "good password"])
    assert fengqiao("user", "add", "med1", "--role", "mediator", "--org", "qh").code == 0
    with system.db.read() as s:
        assert check_password(s.scalar(select(User.password_hash).where(User.username == "med1")), "good password")


def test_mistyped_org_units_and_users_change_nothing(fengqiao, monkeypatch, system):
    fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county")
    assert_user_error(fengqiao("org", "add", "lc", "--name", "柳村", "--level", "village", "--parent", "nowhere"),
                      "上级", "parent")
    assert_user_error(fengqiao("org", "add", "x", "--name", "某地", "--level", "province"), "级别", "level")

    def no_prompt(prompt=""):
        raise AssertionError("asked for a password for a user that cannot be created")
    monkeypatch.setattr("getpass.getpass", no_prompt)
    assert_user_error(fengqiao("user", "add", "med1", "--role", "mediatr", "--org", "qh"), "角色", "role")
    assert_user_error(fengqiao("user", "add", "med1", "--role", "mediator", "--org", "nowhere"), "单位", "org")
    assert_user_error(fengqiao("user", "add", "med1", "--role", "mediator", "--org", "qh", "--password-stdin",
                               stdin="short\n"), "密码", "password")
    assert count(system, OrgUnit) == 1
    assert count(system, User) == 0


def test_a_new_api_token_identifies_its_user(fengqiao, system):
    fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county")
    fengqiao("user", "add", "auditor1", "--role", "auditor", "--org", "qh", "--password-stdin", stdin="auditor pass\n")
    created = fengqiao("token", "create", "auditor1")
    assert created.code == 0, created.err
    token = created.out.strip()
    assert token.startswith("fq_") and "\n" not in token
    with system.db.read() as s:
        assert actor_for_token(s, token).username == "auditor1"
    assert fengqiao("token", "create", "auditor1").out.strip() != token
    assert_user_error(fengqiao("token", "create", "nobody"), "不存在", "no such user")


# ------------------------------------------------------------------------------ deploy

def test_deploying_the_same_bundle_twice_creates_one_version(fengqiao, tmp_path, system):
    first = fengqiao("deploy")
    assert first.code == 0, first.err
    assert first.out.strip() == "timed  v1  新版本 / new"
    second = fengqiao("deploy", str(FIXTURES / "bpmn"))
    assert second.code == 0, second.err
    assert second.out.strip() == "timed  v1  未变 / unchanged"

    changed = (FIXTURES / "bpmn" / "timed.bpmn").read_text(encoding="utf-8").replace("限时答复", "限时答复（修订）")
    (tmp_path / "timed.bpmn").write_text(changed, encoding="utf-8")
    third = fengqiao("deploy", str(tmp_path / "timed.bpmn"))
    assert third.code == 0, third.err
    assert third.out.strip() == "timed  v2  新版本 / new"
    assert count(system, Definition) == 2


def test_a_broken_bundle_names_file_line_and_element_and_deploys_nothing(fengqiao, tmp_path, system):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "timed.bpmn").write_bytes((FIXTURES / "bpmn" / "timed.bpmn").read_bytes())
    (bundle / "broken.bpmn").write_text(broken_bpmn(), encoding="utf-8")
    outcome = fengqiao("deploy", str(bundle))
    assert_user_error(outcome)
    assert re.fullmatch(r"错误 / error: .*broken\.bpmn:6 \[Flow_to_nowhere\]: .+ / .+", outcome.err_lines[0]), \
        outcome.err
    assert outcome.out == ""
    assert count(system, Definition) == 0


def test_deploying_a_path_that_is_not_there(fengqiao, tmp_path):
    assert_user_error(fengqiao("deploy", str(tmp_path / "nowhere")), "不存在", "no such file")


# ------------------------------------------------------------------------------ clock and sweep

@pytest.mark.parametrize("args", [["show"], ["set", "2026-10-01T09:00:00+08:00"], ["advance", "15d"], ["reset"]])
@pytest.mark.parametrize("flag", [None, "0"])
def test_the_clock_refuses_without_simulation(fengqiao, monkeypatch, args, flag):
    if flag is None:
        monkeypatch.delenv("FENGQIAO_SIMULATED_CLOCK")
    else:
        monkeypatch.setenv("FENGQIAO_SIMULATED_CLOCK", flag)
    outcome = fengqiao("clock", *args)
    assert_user_error(outcome, "模拟时钟未开启", "FENGQIAO_SIMULATED_CLOCK=1", code=2)
    assert outcome.out == ""


def test_a_trainer_sets_advances_shows_and_resets_the_clock(fengqiao):
    assert fengqiao("clock", "set", "2026-09-18T09:00:00+08:00").code == 0
    assert fengqiao("clock", "show").out.strip() == "2026-09-18T09:00:00+08:00"
    assert fengqiao("clock", "set", "2026-09-18T01:30:00Z").code == 0
    assert fengqiao("clock", "show").out.strip() == "2026-09-18T09:30:00+08:00"
    advanced = fengqiao("clock", "advance", "15d")
    assert advanced.code == 0 and "2026-10-03T09:30:00+08:00" in advanced.out
    fengqiao("clock", "advance", "1d12h")
    assert fengqiao("clock", "show").out.strip() == "2026-10-04T21:30:00+08:00"

    assert_user_error(fengqiao("clock", "advance", "two weeks"), "时长", "duration")
    assert_user_error(fengqiao("clock", "set", "2026-10-01 09:00"), "时区", "offset")
    assert_user_error(fengqiao("clock", "set", "next monday"), "时间", "time")
    assert fengqiao("clock", "show").out.strip() == "2026-10-04T21:30:00+08:00"

    # Moving back (fired deadlines stay fired) must be asked for in so many words.
    assert_user_error(fengqiao("clock", "set", "2026-09-01T09:00:00+08:00"), "--backwards", "--backwards")
    assert fengqiao("clock", "show").out.strip() == "2026-10-04T21:30:00+08:00"
    assert fengqiao("clock", "set", "2026-09-01T09:00:00+08:00", "--backwards").code == 0
    assert fengqiao("clock", "show").out.strip() == "2026-09-01T09:00:00+08:00"

    assert fengqiao("clock", "reset").code == 0
    shown = fengqiao("clock", "show")
    assert ISO_SHANGHAI.match(shown.out.strip()), shown.out
    real = datetime.fromisoformat(shown.out.strip())
    assert abs(real - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert "真实时间" in shown.err


def start_timed_case(fengqiao, system, days: int = 3):
    """A mediator registers a case that must be answered within `days` days."""
    fengqiao("org", "add", "qh", "--name", "清河县", "--level", "county")
    fengqiao("user", "add", "med1", "--role", "mediator", "--org", "qh", "--password-stdin", stdin="password1\n")
    with system.db.read() as s:
        mediator = actor_of(s.scalar(select(User).where(User.username == "med1")))
    result = system.engine.start_case("timed", {"days": days}, mediator)
    with system.db.read() as s:
        return s.execute(select(Case.id, Case.number).where(Case.id == result.case_id)).one()


def test_a_sweep_after_the_clock_moves_fires_the_overdue_answer_once(fengqiao, system):
    assert fengqiao("init").code == 0
    fengqiao("clock", "set", "2026-09-18T09:00:00+08:00")  # Friday; 3 days end Monday 21st, 23:59:59
    case = start_timed_case(fengqiao, system, days=3)
    assert fengqiao("sweep").out.strip() == "已触发 0 个到期事项 / fired 0 due deadline(s)"

    fengqiao("clock", "advance", "3d14h")  # Monday 23:00: due in an hour
    assert fengqiao("sweep").out.startswith("已触发 0 ")
    fengqiao("clock", "advance", "1h")
    swept = fengqiao("sweep")
    assert swept.code == 0, swept.err
    assert swept.out.strip() == "已触发 1 个到期事项 / fired 1 due deadline(s)"
    assert fengqiao("sweep").out.startswith("已触发 0 ")
    with system.db.read() as s:
        steps = {t.name: t.status for t in s.scalars(select(HumanTask).where(HumanTask.case_id == case.id))}
        kinds = list(s.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
    assert steps["supervise"] == "ready" and steps["respond"] != "ready"
    assert kinds.count("deadline_breached") == 1


# ------------------------------------------------------------------------------ audit

def test_audit_verify_finds_an_edited_event(fengqiao, system):
    fengqiao("init")
    fengqiao("clock", "set", "2026-09-18T09:00:00+08:00")
    first = start_timed_case(fengqiao, system)
    second = system.engine.start_case("timed", {"days": 5}, first_actor(system))
    fengqiao("clock", "advance", "5d")
    fengqiao("sweep")

    ok = fengqiao("audit", "verify")
    assert ok.code == 0, ok.out + ok.err
    assert "正常 / ok" in ok.out and "2 case chain(s)" in ok.out
    assert "1 case chain(s)" in fengqiao("audit", "verify", first.number).out

    with system.db.write() as s:  # someone edits the history behind the application's back
        s.execute(update(CaseEvent).where(CaseEvent.case_id == first.id, CaseEvent.seq == 2)
                  .values(data={"step": "respond", "note": "从未发生 / never happened"}))
    broken = fengqiao("audit", "verify")
    assert broken.code == 1
    assert f"案件 {first.id}（{first.number}）第 2 条事件" in broken.out
    assert f"case {first.id} ({first.number}) event seq 2" in broken.out
    assert "篡改" in broken.out and "edited" in broken.out
    assert fengqiao("audit", "verify", str(first.id)).code == 1
    assert fengqiao("audit", "verify", str(second.case_id)).code == 0
    missing = fengqiao("audit", "verify", "MED-2026-999999")  # not found is a usage error, not a broken chain
    assert missing.code == 2 and "不存在" in missing.err and "no such case" in missing.err
    assert fengqiao("audit", "verify", "9999").code == 2


def test_pack_moves_closed_histories_into_one_row_each_and_audit_verify_still_holds(fengqiao, system):
    fengqiao("init")
    fengqiao("clock", "set", "2026-09-18T09:00:00+08:00")
    closed = start_timed_case(fengqiao, system)
    still_open = system.engine.start_case("timed", {"days": 5}, first_actor(system))
    with system.db.read() as s:
        task_id = s.scalar(select(HumanTask.id).where(HumanTask.case_id == closed.id, HumanTask.status == "ready"))
    system.engine.complete_task(task_id, {}, first_actor(system))  # answered in time: the case closes

    packed = fengqiao("pack")
    assert packed.code == 0, packed.out + packed.err
    assert "1 个已结案件" in packed.out and "1 closed case(s)" in packed.out
    with system.db.read() as s:
        assert s.scalar(select(Case.status).where(Case.id == closed.id)) != "open"
        assert s.scalar(select(func.count()).select_from(CaseEvent).where(CaseEvent.case_id == closed.id)) == 0
        assert s.scalar(select(func.count()).select_from(CaseEvent)
                        .where(CaseEvent.case_id == still_open.case_id)) > 0
    assert "0 closed case(s), 0 event(s)" in fengqiao("pack").out  # nothing new
    assert fengqiao("audit", "verify").code == 0
    assert fengqiao("pack", "--limit", "0").code != 0


def first_actor(system):
    with system.db.read() as s:
        return actor_of(s.scalar(select(User).where(User.username == "med1")))


# ------------------------------------------------------------------------------ calendar

def test_importing_next_years_holiday_notice(fengqiao, tmp_path, system):
    notice = tmp_path / "2027.json"
    notice.write_text(json.dumps(calendar_2027(), ensure_ascii=False), encoding="utf-8")
    outcome = fengqiao("calendar", "import", str(notice))
    assert outcome.code == 0, outcome.err
    assert "2027" in outcome.out
    assert "2 个假期共 10 天，2 个调休上班日" in outcome.out
    assert "2 holidays, 10 days off, 2 make-up working days" in outcome.out

    from workflows.registry import build_system
    from engine.config import Settings
    fresh = build_system(Settings.from_env())
    try:
        fresh.upgrade()  # loads the imported years
        assert not fresh.calendar.is_working_day(date(2027, 10, 4))
        assert fresh.calendar.is_working_day(date(2027, 10, 9))  # a Saturday made a working day
        assert not fresh.calendar.is_estimated(date(2027, 10, 4))
    finally:
        fresh.close()


def test_a_running_process_takes_up_an_imported_year_at_its_next_sweep(fengqiao, tmp_path, system):
    """The server (here `system`) keeps running while an admin imports, and imports again, a year's notice."""
    system.sweep_all()
    assert system.calendar.is_estimated(date(2027, 10, 4))
    notice = tmp_path / "2027.json"
    notice.write_text(json.dumps(calendar_2027(), ensure_ascii=False), encoding="utf-8")
    assert fengqiao("calendar", "import", str(notice)).code == 0
    system.sweep_all()
    assert not system.calendar.is_estimated(date(2027, 10, 4))
    assert system.calendar.is_working_day(date(2027, 10, 9))
    # A corrected notice, imported at the same (simulated) instant, replaces it too.
    notice.write_text(json.dumps(calendar_2027(workdays=["2027-09-25"]), ensure_ascii=False), encoding="utf-8")
    assert fengqiao("calendar", "import", str(notice)).code == 0
    system.sweep_all()
    assert not system.calendar.is_working_day(date(2027, 10, 9))


def test_a_bad_calendar_file_is_refused_and_nothing_stored(fengqiao, tmp_path, system):
    misspelt = calendar_2027()
    misspelt["holiday"] = misspelt.pop("holidays")
    (tmp_path / "misspelt.json").write_text(json.dumps(misspelt, ensure_ascii=False), encoding="utf-8")
    assert_user_error(fengqiao("calendar", "import", str(tmp_path / "misspelt.json")), "日历数据无效",
                      "invalid calendar data")

    weekday_workday = calendar_2027(workdays=["2027-10-04"])
    (tmp_path / "weekday.json").write_text(json.dumps(weekday_workday), encoding="utf-8")
    assert_user_error(fengqiao("calendar", "import", str(tmp_path / "weekday.json")), "日历数据无效")

    (tmp_path / "truncated.json").write_text('{"year": 2027, "holidays": [', encoding="utf-8")
    assert_user_error(fengqiao("calendar", "import", str(tmp_path / "truncated.json")), "JSON",
                      "truncated.json:1:")
    assert_user_error(fengqiao("calendar", "import", str(tmp_path / "missing.json")), "不存在", "no such")
    assert count(system, HolidayYear) == 0


# ------------------------------------------------------------------------------ serve

def test_serve_initialises_and_hands_the_app_to_a_server(fengqiao, monkeypatch, system):
    served = {}

    def fake_run_simple(host, port, app, **options):
        served.update(host=host, port=port, app=app, options=options)
    monkeypatch.setitem(sys.modules, "waitress", None)  # the built-in server path, whatever is installed
    monkeypatch.setattr("werkzeug.serving.run_simple", fake_run_simple)
    outcome = fengqiao("serve", "--host", "127.0.0.1", "--port", "5055", "--demo")
    assert outcome.code == 0, outcome.err
    assert "http://127.0.0.1:5055/" in outcome.out
    assert (served["host"], served["port"], served["options"]["threaded"]) == ("127.0.0.1", 5055, True)
    assert served["app"].test_client().get("/login").status_code == 200
    assert count(system, User) == len(demo.USERS)
    # what the process built before serving is out of the collector's full passes
    assert gc.get_freeze_count() > 0
    gc.unfreeze()


# ------------------------------------------------------------------------------ as a program

def test_the_program_runs_outside_pytest(cli_env, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO), "FENGQIAO_DATABASE_URL": cli_env,
           "FENGQIAO_SIMULATED_CLOCK": "1", "FENGQIAO_BPMN_DIR": str(FIXTURES / "bpmn")}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "web.cli", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=120)

    init = run("init", "--demo")
    assert init.returncode == 0, init.stderr
    assert "timed  v1" in init.stdout and "admin" in init.stdout
    set_clock = run("clock", "set", "2026-10-01T08:00:00+08:00")
    assert set_clock.returncode == 0, set_clock.stderr
    assert run("clock", "show").stdout.strip() == "2026-10-01T08:00:00+08:00"
    missing = run("deploy", str(tmp_path / "nowhere"))
    assert missing.returncode == 1
    assert "Traceback" not in missing.stderr and "错误 / error" in missing.stderr
    refused = subprocess.run([sys.executable, "-m", "web.cli", "clock", "show"], cwd=REPO,
                             env={**env, "FENGQIAO_SIMULATED_CLOCK": "0"}, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "FENGQIAO_SIMULATED_CLOCK=1" in refused.stderr


def test_the_servers_log_keeps_spiffworkflows_chatter_out(monkeypatch):
    """SpiffWorkflow logs every task's change of state at INFO: a quarter of a busy server's log."""
    import logging

    from web.cli.common import log_to_stderr
    monkeypatch.setattr(logging.root, "handlers", [])
    log_to_stderr()
    assert logging.getLogger("spiff.task").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("spiff.workflow").getEffectiveLevel() >= logging.WARNING
    assert logging.getLogger("engine.sweep").getEffectiveLevel() == logging.INFO
