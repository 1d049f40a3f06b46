"""The quarterly statistics (季度统计报表) of disputes and petitions, each figure one SQL aggregate.

What a figure means is a case type's knowledge, so it lives here (DOMAIN.md §2–§5): which step is the
mediation, which history event says an agreement was reached and in which form and at which level,
what a judicial confirmation or a court referral is, which outcomes are a failed mediation, which
step decides on a petition's acceptance and which one serves its opinion, what repeat and backlog
mean, what of the ledger was paid. The caller gives the quarter as instants ([start, end), Asia/
Shanghai) and the reader's scope as a SQL condition on Case (`visible`, None for the whole county),
and rolls the rows up by unit itself: every function answers (jurisdiction, …, count) rows, so a
case counts under the unit that holds it now, as the dashboard and the lists count it.

None loads a case; the backlog's turning points (§3: marked, or open past the backlog period) are
the only figure read per case, over the few petitions whose backlog could begin or end in the
quarter.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, case, exists, func, literal, literal_column, or_, select
from sqlalchemy.orm import Session

from engine.store import Case, CaseEvent, HumanTask, LedgerEntry, LedgerEvent

from . import dashboard_figures, petition_board, subsidy_ledger

MESSAGE_RECEIVED = "message_received"  # the engine's event of a message a case received
COURT_CONFIRMATION = "court_confirmation"  # the court's answer to an application for judicial confirmation

DISPUTE, PETITION = "mediation", "petition"
CATEGORIES = ("marriage_family", "neighbour", "housing_homestead", "contract", "business", "damages", "land_forest",
              "expropriation", "environment", "labour", "consumer", "medical", "traffic", "property_management",
              "other")
LEVELS = ("village", "town", "county")
AGREEMENT_FORMS = ("written", "oral")
# A dispute whose mediation ended without agreement: the parties refused it, or it went to court.
FAILED_OUTCOMES = ("refused", "court")
CHANNELS = ("letter", "visit", "online", "phone")
KINDS = ("complaint_request", "suggestion", "accusation")
MEDIATE, JUDICIAL_CONFIRMATION, REFER_TO_COURT = "mediate", "judicial_confirmation", "refer_to_court"
DECIDE_ACCEPTANCE, HANDLE = "decide_acceptance", "handle"
# The office's repeat flag, read as the petition board reads flags.
REPEAT = petition_board._stored_flag("repeat")


def _of_type(case_type: str):
    """The case type as a condition no index serves: a type matches most of the store, so the quarter's
    time range (ix_case_created, ix_task_done, the events of the quarter's cases) must drive the query;
    given `type = …`, SQLite's planner would read every case of the type instead."""
    return func.coalesce(Case.type, "") == case_type


def _category():
    return func.coalesce(Case.data["category"].as_string(), literal(dashboard_figures.UNCATEGORIZED))


def _scoped(query, visible):
    return query if visible is None else query.where(visible)


def _rows(session: Session, query) -> list[tuple]:
    return [tuple(r) for r in session.execute(query)]


# ------------------------------------------------------------------------------ disputes (§2)
def disputes_received(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(unit, category, cases registered in [start, end))."""
    category = _category().label("category_code")
    query = (select(Case.jurisdiction, category, func.count())
             .where(_of_type(DISPUTE), Case.created_at >= start, Case.created_at < end)
             .group_by(Case.jurisdiction, category))
    return _rows(session, _scoped(query, visible))


def _cases_with_step(session: Session, visible, step: str, start: datetime, end: datetime):
    category = _category().label("category_code")
    query = (select(Case.jurisdiction, category, func.count(func.distinct(Case.id)))
             .join(HumanTask, HumanTask.case_id == Case.id)
             .where(_of_type(DISPUTE), HumanTask.name == step, HumanTask.status == "completed",
                    HumanTask.completed_at >= start, HumanTask.completed_at < end)
             .group_by(Case.jurisdiction, category))
    return _rows(session, _scoped(query, visible))


def disputes_mediated(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(unit, category, cases with a mediation step finished in [start, end), at any level, any result)."""
    return _cases_with_step(session, visible, MEDIATE, start, end)


def _agreement_events():
    """Agreements of the quarter found from the mediation steps finished in it (ix_task_done), each
    joined to the history event its command wrote at the same instant (in the case's own range of
    the history, its key (case_id, seq)): the history has no index by time."""
    return and_(CaseEvent.case_id == HumanTask.case_id, CaseEvent.kind == "agreement_reached",
                CaseEvent.at == HumanTask.completed_at)


def _steps_done(step: str, start: datetime, end: datetime):
    return (HumanTask.name == step, HumanTask.status == "completed", HumanTask.completed_at >= start,
            HumanTask.completed_at < end)


def disputes_succeeded(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(unit, category, cases that reached an agreement in [start, end))."""
    category = _category().label("category_code")
    query = (select(Case.jurisdiction, category, func.count(func.distinct(Case.id)))
             .select_from(HumanTask).join(CaseEvent, _agreement_events()).join(Case, Case.id == HumanTask.case_id)
             .where(_of_type(DISPUTE), *_steps_done(MEDIATE, start, end))
             .group_by(Case.jurisdiction, category))
    return _rows(session, _scoped(query, visible))


def disputes_failed(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(unit, category, cases closed in [start, end) without agreement: refused, or sent to court)."""
    category = _category().label("category_code")
    query = (select(Case.jurisdiction, category, func.count())
             .where(Case.type == DISPUTE, Case.status == "closed", Case.outcome.in_(FAILED_OUTCOMES),
                    Case.closed_at >= start, Case.closed_at < end)
             .group_by(Case.jurisdiction, category))
    return _rows(session, _scoped(query, visible))


def agreements(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, str, str, int]]:
    """(unit, agreement form, level it was reached at, agreements reached in [start, end)). A case that
    agrees twice in the quarter (its confirmation refused by the court, then mediated again) counts
    two agreements."""
    form = CaseEvent.data["agreement_form"].as_string().label("agreement_form")
    level = CaseEvent.data["level"].as_string().label("agreement_level")
    query = (select(Case.jurisdiction, form, level, func.count())
             .select_from(HumanTask).join(CaseEvent, _agreement_events()).join(Case, Case.id == HumanTask.case_id)
             .where(_of_type(DISPUTE), *_steps_done(MEDIATE, start, end))
             .group_by(Case.jurisdiction, form, level))
    return _rows(session, _scoped(query, visible))


def confirmations(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, int, int]]:
    """(unit, judicial confirmations applied for, confirmed by the court), each in [start, end): the
    parties' application is the judicial-confirmation step finished with `applied` true, the court's
    answer the message `court_confirmation` with `result` confirmed."""
    # The application is found from its step (ix_task_done) and the event written with it.
    applied = (select(Case.jurisdiction, func.count())
               .select_from(HumanTask)
               .join(CaseEvent, and_(CaseEvent.case_id == HumanTask.case_id, CaseEvent.kind == "task_completed",
                                     CaseEvent.at == HumanTask.completed_at))
               .join(Case, Case.id == HumanTask.case_id)
               .where(_of_type(DISPUTE), *_steps_done(JUDICIAL_CONFIRMATION, start, end),
                      CaseEvent.data["step"].as_string() == JUDICIAL_CONFIRMATION,
                      CaseEvent.data[("data", "applied")].as_boolean().is_(True))
               .group_by(Case.jurisdiction))
    # The court's answers of the quarter from the messages received by time (ix_case_event_message_at,
    # a partial index: the kind is written as a literal), of the cases that applied before its end.
    applied_before = exists().where(HumanTask.case_id == CaseEvent.case_id, HumanTask.name == JUDICIAL_CONFIRMATION,
                                    HumanTask.status == "completed", HumanTask.completed_at < end)
    answers = (select(CaseEvent.case_id, func.count().label("answers"))
               .where(CaseEvent.kind == literal_column(f"'{MESSAGE_RECEIVED}'"), CaseEvent.at >= start,
                      CaseEvent.at < end, CaseEvent.data["name"].as_string() == COURT_CONFIRMATION,
                      CaseEvent.data[("data", "result")].as_string() == "confirmed", applied_before)
               .group_by(CaseEvent.case_id).subquery())
    confirmed = (select(Case.jurisdiction, func.sum(answers.c.answers))
                 .select_from(answers).join(Case, Case.id == answers.c.case_id)
                 .where(_of_type(DISPUTE))
                 .group_by(Case.jurisdiction))
    counts: dict[str | None, list[int]] = {}
    for index, query in enumerate((applied, confirmed)):
        for unit, count in session.execute(_scoped(query, visible)):
            counts.setdefault(unit, [0, 0])[index] += int(count or 0)
    return [(unit, a, c) for unit, (a, c) in counts.items()]


def court_referrals(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, int]]:
    """(unit, cases referred to court in [start, end): the referral step finished, 诉调对接)."""
    return [(unit, n) for unit, _category_code, n in _cases_with_step(session, visible, REFER_TO_COURT, start, end)]


def subsidy_paid(session: Session, visible, start: datetime, end: datetime) -> list[tuple[str, int, int]]:
    """(unit, ledger entries paid in [start, end), their amount in fen): subsidy and reversal entries
    of the unit's cases whose status became `paid` in the quarter (a payment batch, §4)."""
    kinds = (subsidy_ledger.SUBSIDY, subsidy_ledger.REVERSAL)
    query = (select(Case.jurisdiction, func.count(), func.sum(LedgerEntry.amount_fen))
             .join(LedgerEntry, LedgerEntry.case_id == Case.id)
             .join(LedgerEvent, LedgerEvent.entry_id == LedgerEntry.id)
             .where(LedgerEvent.status == dashboard_figures.PAID, LedgerEvent.at >= start, LedgerEvent.at < end,
                    LedgerEntry.kind.in_(kinds))
             .group_by(Case.jurisdiction))
    return [(unit, n, int(total or 0)) for unit, n, total in session.execute(_scoped(query, visible))]


# ------------------------------------------------------------------------------ petitions (§3)
def petitions_received(session: Session, visible, start: datetime, end: datetime
                       ) -> list[tuple[str, str, str, int, int]]:
    """(unit, channel, kind, petitions registered in [start, end), of them marked repeat)."""
    channel = Case.data["channel"].as_string().label("channel_code")
    kind = Case.data["kind"].as_string().label("kind_code")
    repeat = func.sum(case((REPEAT, 1), else_=0))
    query = (select(Case.jurisdiction, channel, kind, func.count(), repeat)
             .where(_of_type(PETITION), Case.created_at >= start, Case.created_at < end)
             .group_by(Case.jurisdiction, channel, kind))
    return [(u, c, k, n, int(r or 0)) for u, c, k, n, r in session.execute(_scoped(query, visible))]


def petition_steps_on_time(session: Session, visible, step: str, start: datetime, end: datetime
                           ) -> list[tuple[str, int, int]]:
    """(unit, petitions' `step` finished in [start, end), of them by their due time). The due time is
    the step's deadline as the calendar counts it (§5), moved by an approved extension."""
    on_time = func.sum(case((HumanTask.completed_at <= HumanTask.due_at, 1), else_=0))
    query = (select(Case.jurisdiction, func.count(), on_time)
             .join(HumanTask, HumanTask.case_id == Case.id)
             .where(_of_type(PETITION), HumanTask.name == step, HumanTask.status == "completed",
                    HumanTask.completed_at >= start, HumanTask.completed_at < end)
             .group_by(Case.jurisdiction))
    return [(u, n, int(ok or 0)) for u, n, ok in session.execute(_scoped(query, visible))]


def backlog_turns(session: Session, visible, start: datetime, end: datetime, now: datetime, *, backlog_days: int
                  ) -> list[tuple[str, int, int]]:
    """(unit, petitions that became backlog in [start, end), backlog petitions closed in it).

    A petition becomes backlog (积案) at the first of: the office marking it, or its being open for
    `backlog_days` days (§3). A backlog petition is resolved when it closes, having become backlog
    before. Nothing counts that happens after `now` (a quarter not over yet). Only the petitions whose backlog could begin or end in the quarter are read."""
    period = timedelta(days=backlog_days)
    marked = (select(CaseEvent.case_id, func.min(CaseEvent.at).label("marked_at"))
              .where(CaseEvent.kind == "backlog_marked").group_by(CaseEvent.case_id).subquery())
    query = (select(Case.jurisdiction, Case.created_at, Case.closed_at, marked.c.marked_at)
             .outerjoin(marked, marked.c.case_id == Case.id)
             .where(_of_type(PETITION),
                    or_(and_(Case.created_at >= start - period, Case.created_at < end - period),
                        and_(marked.c.marked_at >= start, marked.c.marked_at < end),
                        and_(Case.closed_at >= start, Case.closed_at < end))))
    counts: dict[str | None, list[int]] = {}
    for unit, created, closed, marked_at in session.execute(_scoped(query, visible)):
        became = became_backlog(created, closed, marked_at, period)
        row = counts.setdefault(unit, [0, 0])
        if became is not None and start <= became < end and became <= now:
            row[0] += 1
        if closed is not None and start <= closed < end and became is not None and became < closed:
            row[1] += 1
    return [(unit, opened, resolved) for unit, (opened, resolved) in counts.items() if opened or resolved]


def became_backlog(created: datetime, closed: datetime | None, marked: datetime | None,
                   period: timedelta) -> datetime | None:
    """When a petition became backlog: marked, or still open once `period` had passed; None if never."""
    aged = created + period
    if closed is not None and closed <= aged:
        aged = None
    found = [t for t in (marked, aged) if t is not None]
    return min(found) if found else None
