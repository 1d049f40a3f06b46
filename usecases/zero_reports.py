"""Use cases of the monthly zero report (零上报, workflows/zero_report.py says the rules): a village's
mediator confirms a month without disputes in one click; the town and the county see, for a month,
which of their villages reported with cases, reported zero, or are missing (overdue after the 5th of
the next month); and the scheduler's sweep reminds the villages still missing and tells their towns.

Each confirmation is a row of `monthly_zero_report` and an event of the administrators' log
(engine/admin_events.py, kind `zero_report_confirmed`), in one transaction."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import admin_events
from engine.application import Actor
from engine.calendar import iso
from engine.errors import Conflict, Forbidden, InvalidInput
from engine.reminders import enqueue
from engine.store import MonthlyZeroReport, Setting, User
from engine.system import System
from workflows import zero_report as rules
from workflows.zero_report import Month

from . import authorization as authz
from .base import UseCases
from .relations import OrgTree

log = logging.getLogger(__name__)

EVENT_KIND = "zero_report_confirmed"
_MARKER = "zero_report.reminded:{month}:{stage}"  # a stage of a month's reminders was written


def unit_relations(tree: OrgTree, actor: Actor, unit: str) -> set[str]:
    """`in_unit` (the actor's own unit) or `unit_above` (a unit below the actor's)."""
    if actor.org_unit and unit == actor.org_unit:
        return {authz.IN_UNIT}
    if actor.org_unit and unit in tree.below(actor.org_unit):
        return {authz.UNIT_ABOVE}
    return set()


class ZeroReports(UseCases):
    def __init__(self, system: System):
        super().__init__(system)
        self._reminded: set[tuple[str, str]] = set()  # stages this process knows are written
        system.add_sweep_job("zero_reports", self.remind)

    # ---- reading ----------------------------------------------------------------------------------
    def overview(self, actor: Actor, *, month: str | None = None, unit: str | None = None) -> dict[str, Any]:
        """A month's reports of every village in `unit` (default: the actor's unit) and below: each
        reported with cases (its count), reported zero (by whom, when; void if a case came later), or
        missing, with whether the month is overdue and may still be reported."""
        now = self.now()
        chosen = Month.parse(month) if month else rules.month_to_remind(now)
        with self.db.read() as session:
            tree = OrgTree.load(session)
            code = unit or actor.org_unit or next((u.code for u in tree.units.values() if u.parent is None), None)
            if code not in tree.units:
                raise InvalidInput(f"单位“{code}”不存在 / no org unit {code!r}", fields={"unit": "不存在 / unknown"})
            if not authz.allowed("zero_report.read", actor, unit_relations(tree, actor, code)):
                raise Forbidden(authz.REFUSALS["zero_report.read"])
            scope = {code} | tree.below(code)
            villages = sorted((u for c, u in tree.units.items() if c in scope and u.level == "village"),
                              key=lambda u: (u.parent or "", u.code))
            codes = [v.code for v in villages]
            counts = rules.cases_by_village(session, chosen, codes)
            confirmed = {r.unit: r for r in session.execute(select(
                MonthlyZeroReport.unit, MonthlyZeroReport.reported_by, MonthlyZeroReport.reported_at).where(
                MonthlyZeroReport.month == str(chosen), MonthlyZeroReport.unit.in_(codes)))} if codes else {}
            names = dict(session.execute(select(User.username, User.display_name).where(
                User.username.in_({r.reported_by for r in confirmed.values()}))).all()) if confirmed else {}
        overdue = rules.is_overdue(chosen, now)
        rows = []
        for v in villages:
            zero = confirmed.get(v.code)
            cases = counts.get(v.code, 0)
            status = "cases" if cases else ("zero" if zero else "missing")
            rows.append({
                "code": v.code, "name": v.name, "town": v.parent, "town_name": tree.name(v.parent),
                "status": status, "cases": cases, "overdue": status == "missing" and overdue,
                "reported_by": zero.reported_by if zero else None,
                "reported_by_name": (names.get(zero.reported_by) or zero.reported_by) if zero else None,
                "reported_at": iso(zero.reported_at) if zero else None,
                "late": bool(zero and zero.reported_at >= chosen.overdue_from()),
                "void": bool(zero and cases),
            })
        open_now = chosen in rules.open_months(now)
        may_confirm = [r["code"] for r in rows if r["status"] == "missing" and open_now
                       and authz.allowed("zero_report.confirm", actor, unit_relations(tree, actor, r["code"]))]
        return {
            "month": str(chosen), "due_date": chosen.due_date().isoformat(), "overdue": overdue, "open": open_now,
            "future": chosen > Month.of(now), "as_of": iso(now),
            "unit": {"code": code, "name": tree.name(code), "level": tree.level(code)},
            "villages": rows, "missing": [r for r in rows if r["status"] == "missing"],
            "counts": {s: sum(1 for r in rows if r["status"] == s) for s in ("cases", "zero", "missing")},
            "may_confirm": may_confirm,
            "months": [str(m) for m in rules.open_months(now)],
        }

    def due(self, actor: Actor) -> list[dict[str, Any]]:
        """The months the actor's own village still has to report now and the actor may confirm: the
        month just ended, from the 1st of the next month (the start page's one-click button)."""
        if not actor.org_unit:
            return []
        now = self.now()
        month = rules.month_to_remind(now)
        with self.db.read() as session:
            tree = OrgTree.load(session)
            unit = actor.org_unit
            if tree.level(unit) != "village" or not authz.allowed("zero_report.confirm", actor, {authz.IN_UNIT}):
                return []
            if rules.cases_by_village(session, month, [unit]) or session.scalar(select(func.count()).where(
                    MonthlyZeroReport.unit == unit, MonthlyZeroReport.month == str(month))):
                return []
        return [{"unit": unit, "unit_name": tree.name(unit), "month": str(month),
                 "due_date": month.due_date().isoformat(), "overdue": rules.is_overdue(month, now)}]

    # ---- the one click ------------------------------------------------------------------------------
    def confirm(self, actor: Actor, unit: Any, month: Any) -> dict[str, Any]:
        """Confirm that `unit` (a village) had no dispute in `month`: refused for another village, for a
        month closed or not yet begun, when the month has cases, and when it was confirmed already."""
        if not isinstance(unit, str) or not unit:
            raise InvalidInput("请指明村（社区）/ name the village", fields={"unit": "必填 / required"})
        chosen = Month.parse(month)
        now = self.now()
        with self.db.write() as session:
            tree = OrgTree.load(session)
            if tree.level(unit) != "village":
                raise InvalidInput(f"“{unit}”不是本县的村（社区）/ {unit!r} is not a village of this county",
                                   fields={"unit": "应为村（社区）代码 / must be a village code"})
            authz.require("zero_report.confirm", actor, unit_relations(tree, actor, unit))
            last, current = rules.open_months(now)
            if chosen > current:
                raise Conflict(f"{chosen} 尚未开始，不能上报 / {chosen} has not begun: it cannot be reported yet")
            if chosen < last:
                raise Conflict(f"{chosen} 的上报已经结束（可上报 {last} 和 {current}）/ reporting {chosen} has closed "
                               f"(open: {last} and {current})")
            cases = rules.cases_by_village(session, chosen, [unit]).get(unit, 0)
            if cases:
                raise Conflict(f"{tree.name(unit)} {chosen} 登记了 {cases} 件矛盾纠纷，已按有案件上报，不能零上报 / "
                               f"{unit} registered {cases} dispute(s) in {chosen}: it has reported with cases")
            existing = session.scalar(select(MonthlyZeroReport).where(MonthlyZeroReport.unit == unit,
                                                                      MonthlyZeroReport.month == str(chosen)))
            if existing is not None:
                raise Conflict(_already(existing))
            event = admin_events.record(session, at=now, actor=actor.username, kind=EVENT_KIND, subject=unit,
                                        data={"month": str(chosen), "unit": unit})
            row = MonthlyZeroReport(unit=unit, month=str(chosen), reported_by=actor.username, reported_at=now,
                                    admin_event_seq=event.seq)
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # a colleague clicked at the same instant: theirs stands
                raise Conflict(f"{tree.name(unit)} {chosen} 已经上报 / {unit} has reported {chosen} already") from None
        return {"unit": unit, "unit_name": tree.name(unit), "month": str(chosen), "status": "zero",
                "reported_by": actor.username, "reported_at": iso(now), "admin_event_seq": event.seq,
                "late": now >= chosen.overdue_from()}

    # ---- the scheduler's reminders ------------------------------------------------------------------
    def remind(self, now: datetime) -> int:
        """Write the reminders of the month just ended that are due by now and not yet written (a sweep
        job: nothing to read once this process knows them written); returns how many were queued."""
        month = rules.month_to_remind(now)
        due = [(stage, day, who) for stage, day, who in rules.STAGES
               if now >= month.stage_from(day) and (str(month), stage) not in self._reminded]
        if not due:
            return 0
        queued = 0
        with self.db.write() as session:
            conn = session.connection()
            if self.db.is_postgres:  # one writer of these reminders at a time (per schema)
                conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(
                    func.concat("fengqiao.zero_report:", func.current_schema())))))
            markers = {stage: _MARKER.format(month=month, stage=stage) for stage, _day, _who in due}
            written = set(session.scalars(select(Setting.key).where(Setting.key.in_(list(markers.values())))))
            todo = [(stage, day, who) for stage, day, who in due if markers[stage] not in written]
            if todo:
                tree = OrgTree.load(session)
                villages = [c for c, u in tree.units.items() if u.level == "village"]
                reported = set(rules.cases_by_village(session, month, villages)) | set(session.scalars(
                    select(MonthlyZeroReport.unit).where(MonthlyZeroReport.month == str(month))))
                missing = [c for c in sorted(villages) if c not in reported]
                hours = self.system.reminders.hours
                village_stages = [s for s, _d, w in todo if w == "village"]
                for stage, day, who in todo:
                    if who == "village" and self._skip(stage, village_stages, month, hours):
                        continue
                    rows = (self._village_messages(conn, now, month, stage, missing, tree) if who == "village"
                            else self._town_messages(conn, now, month, stage, missing, tree))
                    enqueue(conn, rows)
                    queued += len(rows)
                for marker in markers.values():
                    if marker not in written:
                        session.add(Setting(key=marker, value=iso(now)))
        self._reminded.update((str(month), stage) for stage, _day, _who in due)
        if queued:
            log.info("queued %d reminder(s) of the zero report of %s", queued, month)
        return queued

    @staticmethod
    def _skip(stage: str, village_stages: list[str], month: Month, hours) -> bool:
        """One reminder to a village is enough when two would reach it together: the first when the last
        day's is due in the same sweep (nothing ran in between); the last day's when both are released
        on the same day (the 1st to the 5th one holiday stretch)."""
        if stage == rules.FIRST and rules.LAST_DAY in village_stages:
            return True
        if stage == rules.LAST_DAY and rules.FIRST not in village_stages:  # the first went out before
            first = hours.release(month.stage_from(1)).date()
            return hours.release(month.stage_from(rules.DUE_DAY)).date() == first
        return False

    def _link(self, month: Month, unit: str | None = None) -> str:
        base = self.system.settings.base_url.rstrip("/")
        return f"{base}/reports/zero?month={month}" + (f"&unit={unit}" if unit else "")

    def _village_messages(self, conn, now, month: Month, stage: str, missing: list[str], tree: OrgTree) -> list:
        reminders = self.system.reminders
        people = reminders.people(conn)
        staff = _staff(conn, missing, month)
        rows = []
        for village in missing:
            mediators = [u for u, roles in staff.get(village, []) if set(rules.VILLAGE_ROLES) & roles]
            payload = {"month": str(month), "stage": stage, "village": village, "village_name": tree.name(village),
                       "town": tree.units[village].parent, "due_date": month.due_date().isoformat(),
                       "link": self._link(month)}
            rows += reminders.messages(conn, now, "zero_report_due", f"zero:{month}:{stage}:{village}", payload,
                                       mediators, people=people)
        return rows

    def _town_messages(self, conn, now, month: Month, stage: str, missing: list[str], tree: OrgTree) -> list:
        reminders = self.system.reminders
        people = reminders.people(conn)
        by_town: dict[str, list[str]] = {}
        for village in missing:
            by_town.setdefault(tree.units[village].parent or "", []).append(village)
        staff = _staff(conn, list(by_town), month)
        rows = []
        for town, villages in sorted(by_town.items()):
            officers = [u for u, roles in staff.get(town, []) if set(rules.TOWN_ROLES) & roles]
            payload = {"month": str(month), "stage": stage, "town": town, "town_name": tree.name(town) or town,
                       "due_date": month.due_date().isoformat(), "missing_count": len(villages),
                       "missing": [{"code": v, "name": tree.name(v)} for v in villages],
                       "link": self._link(month, town)}
            rows += reminders.messages(conn, now, "zero_report_overdue", f"zero:{month}:{stage}:{town}", payload,
                                       officers, people=people)
        return rows


def _staff(conn, units: list[str], month: Month) -> dict[str, list[tuple[str, set[str]]]]:
    """The active users of some units whose accounts existed before `month` ended, with their roles: a
    person given an account later is not asked about a month before their time."""
    found: dict[str, list[tuple[str, set[str]]]] = {}
    if not units:
        return found
    for row in conn.execute(select(User.username, User.org_unit, User.roles).where(
            User.active.is_(True), User.org_unit.in_(units), User.created_at < month.end())
            .order_by(User.username)):
        found.setdefault(row.org_unit, []).append((row.username, set(row.roles or [])))
    return found


def _already(row: MonthlyZeroReport) -> str:
    return (f"{row.month} 已由 {row.reported_by} 于 {iso(row.reported_at)} 零上报 / {row.unit} reported {row.month} "
            f"(no dispute) already: {row.reported_by} at {iso(row.reported_at)}")
