"""Business calendar: working days, statutory holidays and deadline counting.

Deadlines follow Civil Procedure Law Art. 85 (DOMAIN §5 "Counting"): the starting
day is not counted; a period of N days ends at 23:59:59 Asia/Shanghai on the Nth day
after the start and, if that day is a holiday or rest day, on the next working day.
A period may instead be counted in working days (工作日).

Working days follow the State Council's yearly holiday notice, which is published each
November or December and therefore arrives as data. One JSON document per year::

    {
      "year": 2026,
      "source": "国务院办公厅关于2026年部分节假日安排的通知",
      "holidays": [
        {"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"}
      ],
      "workdays": ["2026-09-20", "2026-10-10"]
    }

- ``year``: integer, 1901–2099.
- ``source``: non-empty string, the title of the notice the data was taken from.
- ``holidays``: list of ranges, each with a non-empty ``name`` and inclusive ``from``
  and ``to`` dates (``YYYY-MM-DD``) inside ``year``; ranges may not overlap. A range
  covers every day off of that holiday, weekend days included.
- ``workdays``: list of ``YYYY-MM-DD`` dates inside ``year``: the make-up working days
  (调休上班), each a Saturday or Sunday and not inside a holiday range. May be empty.

No other keys are accepted, so that a misspelt key is reported instead of ignored.
The bundled years live in ``engine/calendar_data/<year>.json``.

A year without data is estimated from the national holiday regulation
(全国年节及纪念日放假办法, as revised effective 2025): weekends plus the statutory
holiday days, without make-up days; deadlines that consult such a year are marked
``estimated`` until the year's data is loaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from importlib import resources
from types import MappingProxyType
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from lunar_python import Lunar, Solar

ZONE = ZoneInfo("Asia/Shanghai")

MIN_YEAR = 1901
MAX_YEAR = 2099  # the range the lunar and solar-term estimates were checked over

_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DAY_END = time(23, 59, 59)


class CalendarDataError(ValueError):
    """Invalid calendar data or an unsupported year. Message: Chinese, then English."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        self.message_zh = message_zh
        self.message_en = message_en
        super().__init__(f"{message_zh} / {message_en}")


def _invalid(zh: str, en: str) -> CalendarDataError:
    return CalendarDataError(f"日历数据无效：{zh}", f"invalid calendar data: {en}")


@dataclass(frozen=True)
class YearSchedule:
    """Non-weekday rules of one year; weekends are implied and not listed."""

    year: int
    holidays: frozenset[date]  # every day inside an official holiday range
    workdays: frozenset[date]  # make-up working days on weekends (调休上班)
    estimated: bool
    names: Mapping[date, str] = field(default_factory=dict, compare=False)
    source: str | None = None

    def __post_init__(self) -> None:
        # Normalise so that a schedule built by hand is as immutable as a parsed one.
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "workdays", frozenset(self.workdays))
        object.__setattr__(self, "names", MappingProxyType(dict(self.names)))


@dataclass(frozen=True)
class Due:
    at: datetime  # aware, Asia/Shanghai, 23:59:59 of the last day
    estimated: bool  # some year consulted had no official data


# ---------------------------------------------------------------- parsing


def _check_year(year: Any) -> int:
    if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
        raise _invalid(
            f"年份必须是 {MIN_YEAR}–{MAX_YEAR} 之间的整数，而不是 {year!r}",
            f"year must be an integer between {MIN_YEAR} and {MAX_YEAR}, not {year!r}",
        )
    return year


def _parse_date(value: Any, year: int, where_zh: str, where_en: str) -> date:
    # date.fromisoformat also takes forms like "20261001"; the format asks for one.
    try:
        if not isinstance(value, str) or not _DATE_RE.fullmatch(value):
            raise ValueError
        parsed = date.fromisoformat(value)
    except ValueError:
        raise _invalid(
            f"{where_zh}日期格式错误 {value!r}（应为 YYYY-MM-DD）",
            f"{where_en}: bad date {value!r} (expected YYYY-MM-DD)",
        ) from None
    if parsed.year != year:
        raise _invalid(
            f"{where_zh}日期 {value} 不在 {year} 年",
            f"{where_en}: date {value} is not in {year}",
        )
    return parsed


def _check_keys(obj: Any, required: set[str], where_zh: str, where_en: str) -> None:
    if not isinstance(obj, dict):
        raise _invalid(f"{where_zh}应为对象", f"{where_en}: expected an object")
    missing = sorted(required - obj.keys())
    if missing:
        raise _invalid(
            f"{where_zh}缺少字段 {', '.join(missing)}",
            f"{where_en}: missing field(s) {', '.join(missing)}",
        )
    unknown = sorted(map(str, obj.keys() - required))
    if unknown:
        raise _invalid(
            f"{where_zh}含有未知字段 {', '.join(unknown)}",
            f"{where_en}: unknown field(s) {', '.join(unknown)}",
        )


def parse_year_schedule(obj: dict) -> YearSchedule:
    """Validate one year's JSON document (format in the module docstring)."""
    _check_keys(obj, {"year", "source", "holidays", "workdays"}, "文档", "document")
    year = _check_year(obj["year"])
    source = obj["source"]
    if not isinstance(source, str) or not source.strip():
        raise _invalid("source 必须是非空字符串（通知标题）", "source must be a non-empty string (the notice title)")

    if not isinstance(obj["holidays"], list):
        raise _invalid("holidays 应为列表", "holidays must be a list")
    names: dict[date, str] = {}
    for i, item in enumerate(obj["holidays"], start=1):
        where_zh, where_en = f"holidays 第 {i} 项", f"holidays item {i}"
        _check_keys(item, {"name", "from", "to"}, where_zh, where_en)
        name = item["name"]
        if not isinstance(name, str) or not name.strip():
            raise _invalid(f"{where_zh}名称必须是非空字符串", f"{where_en}: name must be a non-empty string")
        first = _parse_date(item["from"], year, f"{where_zh} from ", f"{where_en} from")
        last = _parse_date(item["to"], year, f"{where_zh} to ", f"{where_en} to")
        if first > last:
            raise _invalid(
                f"{where_zh}起始日期 {first} 晚于结束日期 {last}",
                f"{where_en}: from {first} is after to {last}",
            )
        for n in range((last - first).days + 1):
            day = first + timedelta(days=n)
            if day in names:
                raise _invalid(
                    f"{where_zh}与“{names[day]}”在 {day} 重叠",
                    f"{where_en} overlaps {names[day]!r} on {day}",
                )
            names[day] = name.strip()

    if not isinstance(obj["workdays"], list):
        raise _invalid("workdays 应为列表", "workdays must be a list")
    workdays: set[date] = set()
    for i, value in enumerate(obj["workdays"], start=1):
        where_zh, where_en = f"workdays 第 {i} 项", f"workdays item {i}"
        day = _parse_date(value, year, f"{where_zh}", where_en)
        if day in names:
            raise _invalid(
                f"{where_zh} {day} 同时是节假日“{names[day]}”",
                f"{where_en}: {day} is also a holiday ({names[day]})",
            )
        if day.weekday() < 5:
            raise _invalid(
                f"{where_zh} {day} 不是周末，无需调休上班",
                f"{where_en}: {day} is not a weekend day, so it cannot be a make-up working day",
            )
        workdays.add(day)

    return YearSchedule(
        year=year,
        holidays=frozenset(names),
        workdays=frozenset(workdays),
        estimated=False,
        names=names,
        source=source.strip(),
    )


def load_bundled_schedules() -> dict[int, YearSchedule]:
    """Every ``engine/calendar_data/*.json`` shipped with the package, by year."""
    schedules: dict[int, YearSchedule] = {}
    folder = resources.files(__package__) / "calendar_data"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".json"):
            continue
        try:
            schedule = parse_year_schedule(json.loads(entry.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise _invalid(f"{entry.name} 不是有效的 JSON：{exc}", f"{entry.name} is not valid JSON: {exc}") from exc
        if entry.name != f"{schedule.year}.json":
            raise _invalid(
                f"文件 {entry.name} 的年份是 {schedule.year}",
                f"file {entry.name} holds year {schedule.year}",
            )
        schedules[schedule.year] = schedule
    return schedules


# ---------------------------------------------------------------- estimation


def _date(solar: Solar) -> date:
    return date(solar.getYear(), solar.getMonth(), solar.getDay())


def _qingming(year: int) -> date:
    # The solar term 清明 (April 4-6, Beijing time) always falls inside lunar year
    # ``year``, so it is in that lunar year's solar-term table.
    return _date(Lunar.fromYmd(year, 1, 1).getJieQiTable()["清明"])


def _lunar(year: int, month: int, day: int) -> date:
    return _date(Lunar.fromYmd(year, month, day).getSolar())  # never the leap month


def estimate_year(year: int) -> YearSchedule:
    """Statutory holiday days of ``year`` from the regulation, without make-up days."""
    if type(year) is not int or not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarDataError(
            f"无法估算 {year!r} 年的节假日：仅支持 {MIN_YEAR}–{MAX_YEAR} 年",
            f"cannot estimate holidays for {year!r}: only {MIN_YEAR}-{MAX_YEAR} are supported",
        )
    spring = _lunar(year, 1, 1)
    days: list[tuple[date, str]] = [
        (date(year, 1, 1), "元旦"),
        # The eve (除夕) is the last day of lunar month 12, the 29th or the 30th,
        # so take the day before the new year instead of a fixed lunar date.
        (spring - timedelta(days=1), "春节"),
        (spring, "春节"),
        (spring + timedelta(days=1), "春节"),
        (spring + timedelta(days=2), "春节"),
        (_qingming(year), "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (_lunar(year, 5, 5), "端午节"),
        (_lunar(year, 8, 15), "中秋节"),
        (date(year, 10, 1), "国庆节"),
        (date(year, 10, 2), "国庆节"),
        (date(year, 10, 3), "国庆节"),
    ]
    names: dict[date, str] = {}
    for day, name in days:
        # Mid-Autumn can fall on Oct 1-3; keep both names.
        names[day] = f"{names[day]}、{name}" if day in names else name
    return YearSchedule(
        year=year,
        holidays=frozenset(names),
        workdays=frozenset(),
        estimated=True,
        names=names,
        source="估算：全国年节及纪念日放假办法",
    )


# ---------------------------------------------------------------- calendar


class BusinessCalendar:
    """Working days from official data where loaded, estimates elsewhere."""

    def __init__(self, schedules: Mapping[int, YearSchedule] | None = None) -> None:
        self._schedules: dict[int, YearSchedule] = {}
        for year, schedule in (schedules or {}).items():
            if year != schedule.year:
                raise ValueError(f"schedule for {schedule.year} given under key {year}")
            self._schedules[year] = schedule

    @classmethod
    def bundled(cls) -> BusinessCalendar:
        return cls(load_bundled_schedules())

    def add_year(self, schedule: YearSchedule) -> None:
        """Load a year's data; it replaces the data or estimate held so far."""
        self._schedules[schedule.year] = schedule

    def schedule_for(self, year: int) -> YearSchedule:
        schedule = self._schedules.get(year)
        if schedule is None:
            # Cached in the same dict, so add_year simply overwrites the estimate.
            schedule = self._schedules[year] = estimate_year(year)
        return schedule

    def is_working_day(self, d: date) -> bool:
        schedule = self.schedule_for(d.year)
        if d in schedule.workdays:
            return True
        return d.weekday() < 5 and d not in schedule.holidays

    def is_estimated(self, d: date) -> bool:
        return self.schedule_for(d.year).estimated

    def due_after(self, start: datetime, days: int, *, working_days: bool = False) -> Due:
        """End of a period of ``days`` (calendar or working) days counted from ``start``."""
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware / 起算时间必须带时区")
        if type(days) is not int or days < 1:
            raise ValueError(f"days must be an integer >= 1, not {days!r} / 期限天数必须是不小于 1 的整数")
        day = start.astimezone(ZONE).date()  # the starting day itself is not counted
        consulted: set[int] = set()
        if working_days:
            counted = 0
            while counted < days:
                day += timedelta(days=1)
                consulted.add(day.year)
                counted += self.is_working_day(day)
        else:
            day += timedelta(days=days)
            consulted.add(day.year)
            while not self.is_working_day(day):
                day += timedelta(days=1)
                consulted.add(day.year)
        return Due(
            at=datetime.combine(day, _DAY_END, tzinfo=ZONE),
            estimated=any(self._schedules[y].estimated for y in consulted),
        )


def warning_at(start: datetime, due: datetime | Due) -> datetime:
    """Instant at which 2/3 of the period has passed (DOMAIN §5 warning level)."""
    end = due.at if isinstance(due, Due) else due
    if start.utcoffset() is None or end.utcoffset() is None:
        raise ValueError("start and due must be timezone-aware / 时间必须带时区")
    # Add in UTC: wall-clock arithmetic would be off across a DST change in start's zone.
    return (start.astimezone(timezone.utc) + (end - start) * 2 / 3).astimezone(ZONE)


def iso(at: datetime | None) -> str | None:
    """An instant as ISO 8601 in Asia/Shanghai (+08:00), as every read model shows times."""
    return at.astimezone(ZONE).isoformat() if at is not None else None
