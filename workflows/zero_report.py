"""The monthly zero report (零上报) of the village mediation committees: what a month is, which months
a village may still report, when a report is due and overdue, when the scheduler reminds whom, and
which villages had disputes in a month.

Every village mediation committee reports each month whether it had disputes. A village with at least
one mediation case registered in it during the month (the case's home village, `data.route.village`,
where registration routes it, whatever level it moved to since) has reported by that: its count
shows. A village with none confirms "本月无矛盾纠纷" in one click. Months are calendar months in
Asia/Shanghai, written `YYYY-MM`.

- A report is due by the end of the 5th of the next month; a village still without one on the 6th
  is overdue (逾期未报).
- A village may report the month just ended and the current month (its mediator may confirm on the
  last afternoon of a month), never a future month nor one before the month just ended: those are
  closed, and a missing one stays missing in the record.
- A confirmation is refused while the month has a case of the village; a case registered after the
  confirmation (later in the same month) voids it: the month then counts as reported with cases and
  the confirmation shows as void (已作废), its row and its event kept for the auditors.
- Reminders, each once: from the 1st of the next month (released at the first working hour) the
  mediators of each village still missing; on the 5th again the still missing ones (unless the 5th
  falls in the same holiday stretch, when both would go out together: then only the first); from the
  6th the town's mediators and justice officers, with the list of their villages still missing. Only
  people whose accounts existed before the month ended are asked about it (a county that starts using
  the system on the 1st is not chased for the month before).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.calendar import ZONE
from engine.errors import InvalidInput
from engine.store import Case

DISPUTE_TYPE = "mediation"
DUE_DAY = 5  # the report of a month is due by the end of this day of the next month
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")

# The reminders' stages, in order: (key, day of the next month from which it goes, who hears of it).
FIRST, LAST_DAY, OVERDUE = "first", "last_day", "overdue"
STAGES = ((FIRST, 1, "village"), (LAST_DAY, DUE_DAY, "village"), (OVERDUE, DUE_DAY + 1, "town"))
VILLAGE_ROLES = ("mediator",)
TOWN_ROLES = ("mediator", "justice_officer")


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: object, field: str = "month") -> Month:
        found = _MONTH.match(text) if isinstance(text, str) else None
        if not found or not 1900 <= int(found.group(1)) <= 9998:
            raise InvalidInput("月份应写作 YYYY-MM，如 2026-10 / the month must be written YYYY-MM, e.g. 2026-10",
                               fields={field: "应为 YYYY-MM / must be YYYY-MM"})
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Month:
        local = at.astimezone(ZONE)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def start(self) -> datetime:
        """Midnight of its first day in Asia/Shanghai."""
        return datetime(self.year, self.month, 1, tzinfo=ZONE)

    def end(self) -> datetime:
        return self.next().start()

    def due_date(self) -> date:
        """The last day to report it: the 5th of the next month."""
        return self.next().first_day().replace(day=DUE_DAY)

    def overdue_from(self) -> datetime:
        return datetime.combine(self.due_date() + timedelta(days=1), datetime.min.time(), tzinfo=ZONE)

    def stage_from(self, day: int) -> datetime:
        """Midnight of a day of the next month, in Asia/Shanghai."""
        return datetime.combine(self.next().first_day().replace(day=day), datetime.min.time(), tzinfo=ZONE)


def open_months(now: datetime) -> tuple[Month, Month]:
    """The months a village may report now: the one just ended and the current one."""
    current = Month.of(now)
    return current.previous(), current


def is_overdue(month: Month, now: datetime) -> bool:
    return now >= month.overdue_from()


def month_to_remind(now: datetime) -> Month:
    """The month whose reminders may be due now: the one just ended."""
    return Month.of(now).previous()


def cases_by_village(session: Session, month: Month, villages: Iterable[str]) -> dict[str, int]:
    """How many mediation cases were registered in each of `villages` during `month` (none: absent)."""
    wanted = list(villages)
    if not wanted:
        return {}
    home = Case.data[("route", "village")].as_string()
    rows = session.execute(select(home, func.count()).where(
        Case.type == DISPUTE_TYPE, Case.created_at >= month.start(), Case.created_at < month.end(),
        home.in_(wanted)).group_by(home))
    return {village: count for village, count in rows if village}
