"""Business calendar scenarios (DOMAIN §5 "Counting")."""

from datetime import date, datetime, timezone

import pytest

from engine.calendar import (
    ZONE,
    BusinessCalendar,
    CalendarDataError,
    Due,
    YearSchedule,
    estimate_year,
    load_bundled_schedules,
    parse_year_schedule,
    warning_at,
)


def sh(*args: int) -> datetime:
    """A wall-clock time in Asia/Shanghai."""
    return datetime(*args, tzinfo=ZONE)


def end_of(y: int, m: int, d: int) -> datetime:
    return sh(y, m, d, 23, 59, 59)


@pytest.fixture
def cal() -> BusinessCalendar:
    return BusinessCalendar(load_bundled_schedules())


def official_2026() -> dict:
    return {
        "year": 2026,
        "source": "国务院办公厅关于2026年部分节假日安排的通知",
        "holidays": [{"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"}],
        "workdays": ["2026-09-20", "2026-10-10"],
    }


# ---------------------------------------------------------------- calendar days


def test_petition_acceptance_registered_before_national_day_ends_after_the_holiday(cal):
    # Registered Fri 2026-09-18; day 15 is Oct 3, inside 国庆节 Oct 1-7.
    due = cal.due_after(sh(2026, 9, 18, 10, 30), 15)
    assert due == Due(at=end_of(2026, 10, 8), estimated=False)
    assert due.at.microsecond == 0 and due.at.tzinfo is ZONE


def test_village_mediation_ending_on_dragon_boat_rolls_to_monday(cal):
    # 10th day after Tue 2026-06-09 is Fri Jun 19, the first day of 端午节 (Jun 19-21).
    due = cal.due_after(sh(2026, 6, 9, 9, 0), 10)
    assert due.at == end_of(2026, 6, 22)
    assert not due.estimated


def test_end_day_on_an_ordinary_weekend_rolls_to_monday(cal):
    # Wed 2026-03-04 + 10 days = Sat Mar 14.
    assert cal.due_after(sh(2026, 3, 4, 15, 0), 10).at == end_of(2026, 3, 16)


def test_end_day_on_a_working_day_stays(cal):
    # Town-level mediation: Mon 2026-03-02 + 15 days = Tue Mar 17.
    assert cal.due_after(sh(2026, 3, 2, 8, 0), 15).at == end_of(2026, 3, 17)


def test_end_day_on_a_make_up_saturday_does_not_roll(cal):
    # Wed 2026-09-30 + 10 days = Sat Oct 10, an official make-up working day.
    assert cal.due_after(sh(2026, 9, 30, 16, 0), 10).at == end_of(2026, 10, 10)


def test_registration_late_evening_utc_counts_from_the_shanghai_date(cal):
    # 2026-06-08 17:00 UTC is already Jun 9, 01:00 in Shanghai. Counted from Jun 8
    # it would end Thu Jun 18; from Jun 9 it ends on Dragon Boat and rolls to Jun 22.
    due = cal.due_after(datetime(2026, 6, 8, 17, 0, tzinfo=timezone.utc), 10)
    assert due.at == end_of(2026, 6, 22)


def test_start_time_of_day_does_not_matter(cal):
    assert cal.due_after(sh(2026, 3, 2, 0, 0), 15) == cal.due_after(sh(2026, 3, 2, 23, 59), 15)


def test_2025_national_day_and_mid_autumn_combined_holiday(cal):
    # 2025: 国庆节、中秋节 Oct 1-8, Sat Oct 11 make-up. 30-day county mediation from
    # Mon 2025-09-08 ends on day 30 = Wed Oct 8 (holiday) -> Thu Oct 9.
    assert cal.due_after(sh(2025, 9, 8, 10, 0), 30).at == end_of(2025, 10, 9)


# ---------------------------------------------------------------- working days


def test_october_10_2026_saturday_is_a_working_day(cal):
    assert cal.is_working_day(date(2026, 10, 10))
    assert not cal.is_working_day(date(2026, 10, 11))  # the Sunday after is not
    assert not cal.is_working_day(date(2026, 10, 5))  # a Monday inside 国庆节
    assert cal.is_working_day(date(2026, 10, 9))


def test_working_days_across_spring_festival(cal):
    # Thu 2026-02-12 + 5 working days: Fri Feb 13 (1), make-up Sat Feb 14 (2),
    # 春节 Feb 15-23 off, Tue Feb 24 (3), Wed Feb 25 (4), Thu Feb 26 (5).
    due = cal.due_after(sh(2026, 2, 12, 11, 0), 5, working_days=True)
    assert due == Due(at=end_of(2026, 2, 26), estimated=False)


def test_working_days_skip_ordinary_weekends(cal):
    # Fri 2026-03-06 + 3 working days: Mon 9, Tue 10, Wed 11.
    assert cal.due_after(sh(2026, 3, 6, 9, 0), 3, working_days=True).at == end_of(2026, 3, 11)


# ---------------------------------------------------------------- estimated years


def test_2027_deadlines_are_estimated_and_spring_festival_is_off(cal):
    # No official 2027 data yet. Tue 2027-01-26 + 10 days = Fri Feb 5, 除夕 (lunar new
    # year is Sat Feb 6); Feb 5-8 are estimated 春节 days, so the period ends Tue Feb 9.
    due = cal.due_after(sh(2027, 1, 26, 10, 0), 10)
    assert due == Due(at=end_of(2027, 2, 9), estimated=True)
    assert cal.is_estimated(date(2027, 3, 1))
    assert not cal.is_estimated(date(2026, 12, 31))


def test_2027_estimate_holidays():
    estimate = estimate_year(2027)
    assert estimate.estimated and estimate.workdays == frozenset()
    assert {d for d, n in estimate.names.items() if n == "春节"} == {
        date(2027, 2, 5), date(2027, 2, 6), date(2027, 2, 7), date(2027, 2, 8)
    }
    assert estimate.names[date(2027, 4, 5)] == "清明节"
    assert estimate.names[date(2027, 6, 9)] == "端午节"
    assert estimate.names[date(2027, 9, 15)] == "中秋节"
    assert len(estimate.holidays) == 13


def test_deadline_reaching_into_an_unpublished_year_is_estimated(cal):
    # Tue 2026-12-22 + 10 days = 2027-01-01, estimated 元旦 -> Mon Jan 4 (Jan 2-3 weekend).
    assert cal.due_after(sh(2026, 12, 22, 9, 0), 10) == Due(end_of(2027, 1, 4), True)
    # Wed 2026-12-30 + 3 working days: Dec 31, then estimated 2027: Jan 4, Jan 5.
    assert cal.due_after(sh(2026, 12, 30, 9, 0), 3, working_days=True) == Due(end_of(2027, 1, 5), True)
    # A period that ends in 2026 is not estimated.
    assert not cal.due_after(sh(2026, 12, 1, 9, 0), 20).estimated


def test_importing_2027_replaces_the_estimate(cal):
    before = cal.due_after(sh(2027, 1, 26, 10, 0), 10)
    assert before.estimated
    # A hypothetical 2027 notice with a longer Spring Festival break.
    cal.add_year(parse_year_schedule({
        "year": 2027,
        "source": "国务院办公厅关于2027年部分节假日安排的通知",
        "holidays": [{"name": "春节", "from": "2027-02-05", "to": "2027-02-12"}],
        "workdays": ["2027-02-20"],
    }))
    after = cal.due_after(sh(2027, 1, 26, 10, 0), 10)
    assert after == Due(at=end_of(2027, 2, 15), estimated=False)
    assert not cal.is_estimated(date(2027, 2, 1))
    assert cal.is_working_day(date(2027, 2, 20))


def test_estimate_for_2026_matches_the_official_core_days(cal):
    official = cal.schedule_for(2026)
    estimate = estimate_year(2026)
    assert estimate.holidays <= official.holidays
    assert estimate.holidays == {
        date(2026, 1, 1),
        date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
        date(2026, 4, 5),
        date(2026, 5, 1), date(2026, 5, 2),
        date(2026, 6, 19),
        date(2026, 9, 25),
        date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3),
    }


def test_spring_festival_eve_when_the_twelfth_lunar_month_has_29_days():
    # Lunar 2024/12 had 29 days: 除夕 2025 was Jan 28, the day before new year Jan 29.
    assert estimate_year(2025).names[date(2025, 1, 28)] == "春节"
    assert date(2025, 1, 27) not in estimate_year(2025).holidays


@pytest.mark.parametrize("year,day", [
    (2020, 4), (2021, 4), (2022, 5), (2023, 5), (2024, 4), (2025, 4),
    (2026, 5), (2027, 5), (2028, 4), (2029, 4), (2030, 5), (2000, 4), (2099, 4), (1990, 5),
])
def test_qingming_solar_term(year, day):
    assert estimate_year(year).names[date(year, 4, day)] == "清明节"


def test_mid_autumn_on_national_day_keeps_both_names():
    # 2028: Mid-Autumn falls on Oct 3.
    assert estimate_year(2028).names[date(2028, 10, 3)] == "中秋节、国庆节"


def test_lunar_months_start_on_the_beijing_date_of_the_new_moon():
    # The new moon of September 1978 fell just after midnight Beijing time, so lunar
    # 8/1 was Sep 3 and 中秋节 Sep 17 (some lunar tables give Sep 2 / Sep 16).
    names = estimate_year(1978).names
    assert names[date(1978, 9, 17)] == "中秋节"
    assert date(1978, 9, 16) not in names


@pytest.mark.parametrize("year", [1900, 2100])
def test_estimate_outside_supported_years_is_refused(year):
    with pytest.raises(CalendarDataError, match="仅支持 1901–2099"):
        estimate_year(year)


# ---------------------------------------------------------------- data


def test_bundled_data_are_official():
    schedules = load_bundled_schedules()
    assert {2025, 2026} <= schedules.keys()
    s2026 = schedules[2026]
    assert not s2026.estimated
    assert s2026.source == "国务院办公厅关于2026年部分节假日安排的通知"
    assert s2026.names[date(2026, 10, 7)] == "国庆节"
    assert s2026.workdays == {
        date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28),
        date(2026, 5, 9), date(2026, 9, 20), date(2026, 10, 10),
    }
    assert len(s2026.holidays) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert len(schedules[2025].holidays) == 1 + 8 + 3 + 5 + 3 + 8


def test_parse_valid_document():
    schedule = parse_year_schedule(official_2026())
    assert schedule == YearSchedule(
        year=2026,
        holidays=frozenset(date(2026, 10, d) for d in range(1, 8)),
        workdays=frozenset({date(2026, 9, 20), date(2026, 10, 10)}),
        estimated=False,
        source="国务院办公厅关于2026年部分节假日安排的通知",
    )


def _broken(change) -> dict:
    doc = official_2026()
    change(doc)
    return doc


@pytest.mark.parametrize("doc,fragment", [
    (_broken(lambda d: d["holidays"][0].update({"to": "2026-13-01"})), "日期格式错误 '2026-13-01'"),
    (_broken(lambda d: d["holidays"][0].update({"from": "20261001"})), "日期格式错误"),
    (_broken(lambda d: d["holidays"][0].update({"from": "2025-10-01"})), "不在 2026 年"),
    (_broken(lambda d: d["holidays"][0].update({"from": "2026-10-08"})), "晚于结束日期"),
    (_broken(lambda d: d["workdays"].append("2026-10-03")), "同时是节假日"),
    (_broken(lambda d: d["workdays"].append("2026-10-09")), "不是周末"),
    (_broken(lambda d: d.pop("workdays")), "缺少字段 workdays"),
    (_broken(lambda d: d["holidays"][0].pop("name")), "缺少字段 name"),
    (_broken(lambda d: d.update({"holiday": []})), "未知字段 holiday"),
    (_broken(lambda d: d.update({"year": "2026"})), "年份必须是"),
    (_broken(lambda d: d["holidays"].append({"name": "中秋节", "from": "2026-10-07", "to": "2026-10-07"})), "重叠"),
])
def test_invalid_import_gives_a_chinese_error(doc, fragment):
    with pytest.raises(CalendarDataError) as info:
        parse_year_schedule(doc)
    message = str(info.value)
    assert message.startswith("日历数据无效：")
    assert fragment in message
    assert " / invalid calendar data: " in message


# ---------------------------------------------------------------- arguments and warning


def test_naive_start_and_non_positive_days_are_rejected(cal):
    with pytest.raises(ValueError):
        cal.due_after(datetime(2026, 3, 2, 9, 0), 10)
    with pytest.raises(ValueError):
        cal.due_after(sh(2026, 3, 2, 9, 0), 0)


def test_warning_two_thirds_of_the_way(cal):
    start = sh(2026, 6, 9, 9, 0)
    due = cal.due_after(start, 10)  # ends 2026-06-22 23:59:59
    warn = warning_at(start, due)
    assert warn == sh(2026, 6, 18, 10, 59, 59, 333333)
    assert warn.tzinfo is ZONE
    assert warning_at(start, due.at) == warn
    # Given in UTC, the answer is the same instant, shown in Shanghai time.
    assert warning_at(start.astimezone(timezone.utc), due) == warn
