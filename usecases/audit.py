"""Use cases of the auditors (DOMAIN.md §1: they read everything, change nothing, verify history):
verifying the hash chains, one case's or the whole store's in the background; finding cases by
number, party, category, unit, dates and outcome; a case's history with its verification; its case
file. Every read shows personal data as the case page does (ID numbers and phones masked, the
parties withheld from a unit complained about); exports read the same rows page by page."""
from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import String, and_, cast, func, not_, or_, select, update
from sqlalchemy.orm import aliased

from engine import history as case_history
from engine import privacy, search
from engine.application import Actor
from engine.audit import event_links, prev_hashes, verify_batch, verify_cases, verify_chain
from engine.calendar import ZONE, iso
from engine.errors import InvalidInput, NotFound
from engine.store import AuditRun, Case, CaseParty, Definition, LedgerEntry

from . import authorization as authz
from . import views
from .base import UseCases, check_id
from .cases import _ID_NUMBER, _PHONE, STATUSES
from .relations import OrgTree, readable_cases_sql
from .subsidies import Subsidies

PAGE = 50
EXPORT_PAGE = 1000  # cases read per statement while an export streams
MAX_TEXT = 100
VERIFY_BATCH = 500  # cases per transaction of a whole-store verification
BREAKS_KEPT = 100  # a run names this many broken chains; it counts them all
STALE_AFTER = timedelta(minutes=2)  # a running verification silent this long has died with its process
_CODE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass
class SearchPage:
    items: list[dict[str, Any]]
    total: int  # how many match, up to TOTAL_CAP
    total_capped: bool
    next_after: int | None  # the cursor of the next (older) page
    previous_before: int | None  # the cursor of the previous (newer) page
    filters: dict[str, Any]


TOTAL_CAP = 10_000  # counting beyond this costs a scan of the store; the page says "more than"
# What a search row shows, read as columns (never the workflow state).
_ROW_COLUMNS = (Case.id, Case.number, Case.type, Case.status, Case.outcome, Case.level, Case.jurisdiction,
                Case.data, Case.created_at, Case.closed_at, Case.withheld_from)


class Audit(UseCases):
    def __init__(self, system):
        super().__init__(system)
        # How a whole-store verification runs: in a thread of this process by default. Tests (and a
        # command line) may run it in place: `audit.runner = lambda work: work()`.
        self.runner: Callable[[Callable[[], None]], None] = _in_a_thread
        self.subsidies = Subsidies(system)

    # ------------------------------------------------------------------ verifying
    def verify(self, actor: Actor, case: int | str | None = None) -> dict[str, Any]:
        """Recompute every chain (or one case's, by id or number): ok, how many, and the first broken link."""
        authz.require("audit.verify", actor)
        with self.db.read() as session:
            case_ids = None
            if case is not None:
                case_ids = [self._case_id(session, case)]
            checked, broken = verify_cases(session, case_ids)
            number = session.scalar(select(Case.number).where(Case.id == broken.case_id)) if broken else None
        first = broken.as_dict() if broken else None
        if first is not None:
            first["number"] = number
        return {"ok": broken is None, "cases_checked": checked, "first_break": first}

    @staticmethod
    def _case_id(session, ref: int | str) -> int:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            case_id = check_id(int(ref), "case")
            found = session.scalar(select(Case.id).where(Case.id == case_id))
        else:
            found = session.scalar(select(Case.id).where(Case.number == ref))
        if found is None:
            raise NotFound(f"案件“{ref}”不存在 / no such case {ref!r}")
        return found

    def start_verification(self, actor: Actor) -> dict[str, Any]:
        """Start verifying every case's chain in the background, or answer the run under way (one at a
        time). The run's progress is a row any process can read (`verification`)."""
        authz.require("audit.verify", actor)
        now, real_now = self.now(), _real_now()
        with self.db.write() as session:
            if self.db.is_postgres:
                # One start at a time across processes (several web workers): the second waits here
                # until the first commits, then sees its run. SQLite's writers queue at BEGIN already.
                # The key names the schema: advisory locks are per database.
                session.execute(select(func.pg_advisory_xact_lock(func.hashtext(
                    func.concat("fengqiao.audit_run:", func.current_schema())))))
            running = session.scalars(select(AuditRun).where(AuditRun.status == "running")
                                      .order_by(AuditRun.id.desc())).first()
            if running is not None and not _stale(running, real_now):
                return _run_view(running, real_now)
            if running is not None:  # its process died: say so in the row too, and start afresh
                running.status, running.finished_at = "interrupted", now
            total = session.scalar(select(func.count()).select_from(Case)) or 0
            run = AuditRun(started_at=now, started_by=actor.username, status="running", cases_total=total,
                           cases_checked=0, cases_broken=0, last_case_id=0, breaks=[], heartbeat_at=real_now,
                           error="")
            session.add(run)
            session.flush()
            view = _run_view(run, real_now)
        self.runner(lambda: self._run(view["id"]))
        return view

    def verification(self, actor: Actor, run_id: int | None = None) -> dict[str, Any] | None:
        """A whole-store verification (the newest, or one by id) with its progress, or None."""
        authz.require("audit.verify", actor)
        with self.db.read() as session:
            query = select(AuditRun).order_by(AuditRun.id.desc())
            if run_id is not None:
                query = query.where(AuditRun.id == check_id(run_id, "run"))
            run = session.scalars(query.limit(1)).first()
            if run is None:
                if run_id is not None:
                    raise NotFound(f"校验记录 {run_id} 不存在 / verification {run_id} not found")
                return None
            view = _run_view(run, _real_now())
            numbers = dict(session.execute(select(Case.id, Case.number).where(
                Case.id.in_([b["case_id"] for b in view["breaks"]]))).all()) if view["breaks"] else {}
        for found in view["breaks"]:
            found["number"] = numbers.get(found["case_id"])
        return view

    def _run(self, run_id: int) -> None:
        """The work of a run: batch after batch of cases, each batch's progress committed."""
        try:
            while True:
                with self.db.read() as session:
                    after = session.scalar(select(AuditRun.last_case_id).where(AuditRun.id == run_id))
                    ids, breaks = verify_batch(session, after or 0, VERIFY_BATCH)
                with self.db.write() as session:
                    run = session.get(AuditRun, run_id)
                    if not ids:
                        run.status, run.finished_at = "done", self.now()
                        run.heartbeat_at = _real_now()
                        return
                    kept = list(run.breaks or [])
                    kept += [b.as_dict() for b in breaks][:max(0, BREAKS_KEPT - len(kept))]
                    session.execute(update(AuditRun).where(AuditRun.id == run_id).values(
                        last_case_id=ids[-1], cases_checked=AuditRun.cases_checked + len(ids),
                        cases_broken=AuditRun.cases_broken + len(breaks), breaks=kept,
                        heartbeat_at=_real_now()))
        except Exception as problem:
            with self.db.write() as session:
                session.execute(update(AuditRun).where(AuditRun.id == run_id).values(
                    status="failed", finished_at=self.now(), heartbeat_at=_real_now(),
                    error=f"{type(problem).__name__}: {problem}"[:2000]))
            raise

    # ------------------------------------------------------------------ searching
    def search_choices(self, actor: Actor) -> dict[str, list[str]]:
        """What the search form offers: the case types and their categories."""
        authz.require("audit.search", actor)
        with self.db.read() as session:
            types = sorted(set(session.scalars(select(Definition.process_key).distinct())))
        categories: list[str] = []
        for case_type in types:
            for code in _categories(self.app(case_type)):
                if code not in categories:
                    categories.append(code)
        return {"types": types, "categories": categories}

    def search(self, actor: Actor, *, after: Any = None, before: Any = None, limit: int = PAGE,
               **filters: Any) -> SearchPage:
        """A page of the cases matching the filters, newest first, with how many match in all."""
        authz.require("audit.search", actor)
        chosen = self._filters(filters)
        for name, value in (("after", after), ("before", before)):
            if value is not None:
                check_id(value, name)
        with self.db.read() as session:
            tree = OrgTree.load(session)
            condition = self._condition(session, tree, actor, chosen)
            query = select(*_ROW_COLUMNS).where(*condition)
            if before is not None:  # the page before: the oldest `limit` of those newer than the cursor
                rows = list(reversed(session.execute(query.where(Case.id > before).order_by(Case.id)
                                                     .limit(limit + 1)).all()))
                newer = len(rows) > limit
                rows = rows[-limit:] if newer else rows
                older = bool(rows) and session.scalar(select(Case.id).where(*condition, Case.id < rows[-1].id)
                                                      .limit(1)) is not None
            else:
                if after is not None:
                    query = query.where(Case.id < after)
                rows = session.execute(query.order_by(Case.id.desc()).limit(limit + 1)).all()
                older = len(rows) > limit
                rows = rows[:limit]
                newer = after is not None and bool(rows) and session.scalar(
                    select(Case.id).where(*condition, Case.id > rows[0].id).limit(1)) is not None
            total = session.scalar(select(func.count()).select_from(
                select(Case.id).where(*condition).limit(TOTAL_CAP + 1).subquery())) or 0
            items = [self._row(actor, case) for case in rows]
        return SearchPage(items, min(total, TOTAL_CAP), total > TOTAL_CAP,
                          items[-1]["id"] if older and items else None,
                          items[0]["id"] if newer and items else None, chosen)

    def search_rows(self, actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every case matching the filters, newest first, as `search` shows them: read page by page
        (each page its own short read), so an export of 100,000 rows never holds them all."""
        authz.require("audit.export", actor)
        authz.require("audit.search", actor)
        chosen = self._filters(filters)
        return self._rows(actor, chosen)

    def _rows(self, actor: Actor, chosen: dict[str, Any]) -> Iterator[dict[str, Any]]:
        cursor, withheld_by = None, {}
        with self.db.read() as session:  # the units once: the condition is the same for every page
            condition = self._condition(session, OrgTree.load(session), actor, chosen)
        while True:
            with self.db.read() as session:
                query = select(*_ROW_COLUMNS).where(*condition).order_by(Case.id.desc()).limit(EXPORT_PAGE)
                if cursor is not None:
                    query = query.where(Case.id < cursor)
                page = [self._row(actor, case, withheld_by) for case in session.execute(query)]
            if not page:
                return
            yield from page
            cursor = page[-1]["id"]

    def _filters(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """The search's filters, checked: a value a person typed wrong is said beside its field."""
        known = {"number", "party", "category", "unit", "type", "status", "outcome", "registered_from",
                 "registered_to"}
        unknown = set(given) - known
        if unknown:
            raise TypeError(f"unknown search filters: {sorted(unknown)}")
        chosen: dict[str, Any] = {}
        errors: dict[str, str] = {}
        for name in ("number", "party"):
            value = given.get(name)
            if value in (None, ""):
                continue
            if not isinstance(value, str) or len(value.strip()) > MAX_TEXT:
                errors[name] = f"不超过 {MAX_TEXT} 个字 / at most {MAX_TEXT} characters"
            elif value.strip():
                chosen[name] = value.strip()
        for name in ("category", "unit", "type", "outcome"):
            value = given.get(name)
            if value in (None, ""):
                continue
            if not isinstance(value, str) or not (_CODE.match(value) or (name == "unit" and len(value) <= 64)):
                errors[name] = "未知的选项 / unknown choice"
            else:
                chosen[name] = value
        if given.get("status") not in (None, ""):
            if given["status"] not in STATUSES:
                errors["status"] = f"应为 {' | '.join(STATUSES)} / must be one of {' | '.join(STATUSES)}"
            else:
                chosen["status"] = given["status"]
        for name in ("registered_from", "registered_to"):
            value = given.get(name)
            if value in (None, ""):
                continue
            day = _day(value)
            if day is None:
                errors[name] = "日期应写成 2026-09-01 / write the date as 2026-09-01"
            else:
                chosen[name] = day
        if "registered_from" in chosen and "registered_to" in chosen \
                and chosen["registered_from"] > chosen["registered_to"]:
            errors["registered_to"] = "结束日期不能早于开始日期 / the end date is before the start date"
        if errors:
            raise InvalidInput("搜索条件有误，请修改后再搜索 / some search fields are wrong: correct them and search "
                               "again", fields=errors)
        return chosen

    def _condition(self, session, tree: OrgTree, actor: Actor, chosen: Mapping[str, Any]) -> list:
        """The search as SQL. Each filter on a column the case row keeps after its workflow state (SQLite
        stores those on overflow pages) or on another table is a set of ids found through an index (a
        party's name: the search index's candidates, each row then read once for its text), so a search
        never reads every case whole."""
        condition = []
        visible = readable_cases_sql(session, tree, actor)
        if visible is not None:
            condition.append(visible)
        found = aliased(Case, name="found")
        if "number" in chosen:
            number = _like(chosen["number"])
            if session.get_bind().dialect.name == "postgresql":  # on the row itself: GIN's bitmap, then LIKE
                condition.append(Case.number.like(f"%{number}%"))
                terms = search.row_condition(session, number, number=True) if number else None
                if terms is not None:
                    condition.append(terms)
            else:
                candidates = search.number_candidates(session, number) if number else select(found.id)
                condition.append(Case.id.in_(select(found.id).where(found.id.in_(candidates),
                                                                    found.number.like(f"%{number}%"))))
        if "party" in chosen:
            condition.append(_party_matches(session, actor, chosen["party"]))
        if "category" in chosen:
            condition.append(Case.id.in_(select(CaseParty.case_id).where(CaseParty.category == chosen["category"])))
        if "unit" in chosen:
            unit = chosen["unit"]
            if unit not in tree.units:
                raise InvalidInput("没有这个单位 / no such unit", fields={"unit": "未知的单位 / unknown unit"})
            condition.append(Case.jurisdiction.in_(sorted({unit} | tree.below(unit))))
        for name, column in (("type", Case.type), ("status", Case.status), ("outcome", Case.outcome)):
            if name in chosen:
                condition.append(column == chosen[name])
        dates = []
        if "registered_from" in chosen:
            dates.append(found.created_at >= _start_of(chosen["registered_from"]))
        if "registered_to" in chosen:
            dates.append(found.created_at < _start_of(chosen["registered_to"] + timedelta(days=1)))
        if dates:
            condition.append(Case.id.in_(select(found.id).where(*dates)))
        return condition

    def _row(self, actor: Actor, case, withheld_by: dict | None = None) -> dict[str, Any]:
        """A case as the search lists it: the parties' names with masked ID numbers and phones, or
        nothing of them for a unit they are withheld from. Only the people are masked (a case's data is
        large; what the row shows of it is the people), and whether they are withheld is decided once
        per case type and relation (`withheld_by`, kept by the caller across the rows of an export)."""
        relations = _identity_relations(actor, case)
        known = {} if withheld_by is None else withheld_by
        key = (case.type, frozenset(relations))
        if key not in known:
            known[key] = not authz.allowed("case.identity", actor, relations, case_type=case.type)
        withheld = known[key]
        data = case.data or {}
        return {"id": case.id, "number": case.number, "type": case.type, "status": case.status,
                "outcome": case.outcome, "level": case.level, "jurisdiction": case.jurisdiction,
                "category": data.get("category"), "created_at": iso(case.created_at),
                "closed_at": iso(case.closed_at), "identity_withheld": withheld,
                # people_in(masked(data)), but masking only what people_in keeps
                "parties": None if withheld else [privacy.masked(person) for person in people_in(data)]}

    # ------------------------------------------------------------------ one case
    def case_history(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """A case with its whole history, each event marked whether the chain holds up to it, and the
        verification of its chain (the first break, if any)."""
        authz.require("audit.history", actor)
        return self._history(actor, case_id)

    def case_file(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """What the printed case file (卷宗) holds: the case as its page shows it (masked), its history
        and the verification of its chain."""
        authz.require("audit.case_file", actor)
        return self._history(actor, case_id)

    def _history(self, actor: Actor, case_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            view = self._case_view(session, actor, case, relations)
            events = case_history.case_events(session, case.id)
            broken = verify_chain(case.id, list(events), case.last_event_seq, case.last_event_hash)
            holds = event_links(list(events), broken)
            shown = views.Privacy(self.app(case.type), withheld=view["identity_withheld"], unmasked=False)
            chained_to = prev_hashes(events)
            history = [{"seq": e.seq, "at": iso(e.at), "actor": e.actor, "kind": e.kind, "data": shown(e.data),
                        "prev_hash": chained_to[e.seq], "hash": e.hash, "chain_ok": holds[e.seq]} for e in events]
            verification = {"ok": broken is None, "events_checked": len(history), "head_seq": case.last_event_seq,
                            "break": broken.as_dict() if broken else None}
        return {"case": view, "events": history, "verification": verification}

    def _case_view(self, session, actor: Actor, case: Case, relations: set[str]) -> dict[str, Any]:
        app = self.app(case.type)
        shown = views.Privacy(app, withheld=not authz.allowed("case.identity", actor, relations, case_type=case.type),
                              unmasked=False)
        view = views.case_view(session, case, app, self.now(), shown)
        view["parties"] = None if shown.withheld else people_in(view["data"])
        return view


    # ------------------------------------------------------------------ the subsidy ledger
    def ledger(self, actor: Actor, *, after: int | None = None, limit: int = PAGE, **filters: Any) -> dict[str, Any]:
        """The subsidy ledger (台账) filtered by mediator, unit, quarter and status, with its totals."""
        authz.require("audit.ledger", actor)
        return self.subsidies.ledger_report(actor, after=after, limit=limit, **filters)

    def ledger_mediators(self, actor: Actor) -> list[str]:
        """Who the ledger pays (the usernames of its entries' mediators), for the ledger's filter."""
        authz.require("audit.ledger", actor)
        with self.db.read() as session:
            return sorted(session.scalars(select(LedgerEntry.mediator).where(LedgerEntry.mediator.is_not(None))
                                          .distinct()))

    def ledger_rows(self, actor: Actor, **filters: Any) -> Iterator[dict[str, Any]]:
        """Every entry of the ledger's filter, for an export, read a page at a time."""
        authz.require("audit.ledger", actor)
        authz.require("audit.export", actor)
        return self.subsidies.ledger_rows(actor, **filters)

    def history_rows(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """A case's history for an export: as `case_history` shows it (one case's events are few)."""
        authz.require("audit.export", actor)
        return self.case_history(actor, case_id)


# ---------------------------------------------------------------------------------- helpers
def people_in(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The people of a case's (already masked) data: every list of records with a name (当事人,
    信访人), with the list's key, the side when there is one, and the masked ID number and phone."""
    found = []
    for key, value in (data or {}).items():
        if not isinstance(value, list):
            continue
        for item in value:
            if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                found.append({"list": key, "name": item["name"], "side": item.get("side"),
                              "id_number": item.get("id_number"), "phone": item.get("phone")})
    return found


def _categories(app) -> list[str]:
    schema = app.form_schema("register") or {}
    return list((schema.get("properties", {}).get("category") or {}).get("enum") or [])


def _identity_relations(actor: Actor, case: Case) -> set[str]:
    """What decides whether a reader sees who the parties are: whether their unit is complained about."""
    return {authz.COMPLAINED_ABOUT} if actor.org_unit and actor.org_unit in (case.withheld_from or []) else set()


def _party_matches(session, actor: Actor, q: str):
    """A whole phone or ID number (by their digests), or else a party's name (or a word of the summary);
    never for a unit the parties are withheld from (Art. 30)."""
    knows_parties = or_(Case.withheld_from.is_(None),
                        not_(cast(Case.withheld_from, String).like(f'%"{actor.org_unit}"%')))
    if _ID_NUMBER.match(q):
        person = select(CaseParty.case_id).where(CaseParty.person_key == privacy.person_key(q))
    elif _PHONE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
        person = select(CaseParty.case_id).where(CaseParty.phone_key == privacy.phone_key(q))
    else:  # the search index's candidates (engine/search.py), checked on the text itself
        text = _like(q)
        if session.get_bind().dialect.name == "postgresql":  # on the row itself, as the number above
            terms = search.row_condition(session, text) if len(text) >= 2 else None
            return and_(knows_parties, Case.search_text.like(f"%{text}%"), *([terms] if terms is not None else []))
        # SQLite: the LIKE on the row the page reads anyway, its ids the candidates' list (read whole on
        # the terms' index, ids only): one look-up of a row a candidate, and the page, newest first,
        # stops at its last row. A set of the matches' ids (`found`) read every candidate's row to
        # build it, then again for the page: both grew with the name's cases in the store.
        like = Case.search_text.like(f"%{text}%")
        if len(text) >= 2:
            return and_(knows_parties, like, Case.id.in_(search.text_candidates(session, text)))
        return and_(knows_parties, like)
    return and_(knows_parties, Case.id.in_(person))


def _like(text: str) -> str:
    return text.replace("%", "").replace("_", "")


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def _start_of(day: date) -> datetime:
    """The first instant of a day in the county (Asia/Shanghai)."""
    return datetime.combine(day, time(0), tzinfo=ZONE)


def _real_now() -> datetime:
    # The run's heartbeat is real time: whether its thread still lives has nothing to do with the
    # simulated clock of training and tests.
    return datetime.now(UTC)


def _stale(run: AuditRun, now: datetime) -> bool:
    return run.status == "running" and now - run.heartbeat_at > STALE_AFTER


def _run_view(run: AuditRun, now: datetime) -> dict[str, Any]:
    status = "interrupted" if _stale(run, now) else run.status
    total = max(run.cases_total, run.cases_checked)
    return {"id": run.id, "status": status, "started_at": iso(run.started_at), "started_by": run.started_by,
            "cases_total": total, "cases_checked": run.cases_checked, "cases_broken": run.cases_broken,
            "percent": 100 if status == "done" else (run.cases_checked * 100 // total if total else 0),
            "breaks": [dict(b) for b in run.breaks or []], "finished_at": iso(run.finished_at),
            "error": run.error, "ok": status == "done" and run.cases_broken == 0}


def _in_a_thread(work: Callable[[], None]) -> None:
    threading.Thread(target=work, name="fengqiao-audit-verify", daemon=True).start()
