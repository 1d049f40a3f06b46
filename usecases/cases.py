"""Use cases on cases: register, read, search, history, unmask, messages, ownership and backlog."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, Mapping

from sqlalchemy import String, and_, cast, exists, false, literal, not_, or_, select, true, union_all
from sqlalchemy.sql import operators

from engine import privacy, search
from engine.application import Actor
from engine.calendar import iso
from engine.command import CommandResult
from engine.errors import InvalidInput, NotFound
from engine.store import Case, CaseParty, Definition, HumanTask

from . import authorization as authz
from . import views
from .base import UseCases, check_id
from .relations import OrgTree, readable_case_sources, readable_cases_sql, readable_units, task_case_ids

LEVELS = ("village", "town", "county")
STATUSES = ("open", "closed")
FLAGS = ("repeat", "group", "final_matter", "backlog")
MAX_QUERY = 100
_PHONE = re.compile(r"^\+?[\d\s-]{7,20}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise InvalidInput(f"{name} 应为 {'、'.join(allowed)} 之一 / {name} must be one of {', '.join(allowed)}",
                           fields={name: f"应为 {' | '.join(allowed)} / must be one of {' | '.join(allowed)}"})
    return value


class Cases(UseCases):
    # ------------------------------------------------------------------ registering
    def register(self, actor: Actor, case_type: Any, data: Any) -> dict[str, Any]:
        """Register a case; the registrant keeps (masked) read access and gets a receipt."""
        if not isinstance(case_type, str) or not case_type:
            raise InvalidInput("请指明案件类型 / the case type is required", fields={"type": "必填 / required"})
        if not isinstance(data, dict):
            raise InvalidInput("数据（data）必须是 JSON 对象 / data must be a JSON object",
                               fields={"data": "应为对象 / must be an object"})
        self._require_deployed(case_type)
        authz.require("case.register", actor, case_type=case_type)
        result = self.engine.start_case(case_type, data, actor)
        view = self.view_after(actor, result)
        view["receipt"] = self._receipt(view)
        return view

    def _require_deployed(self, case_type: str) -> None:
        with self.db.read() as session:
            if session.scalar(select(Definition.id).where(Definition.process_key == case_type).limit(1)) is None:
                raise InvalidInput(f"未知的案件类型“{case_type}” / unknown case type {case_type!r}",
                                   fields={"type": "未知的案件类型 / unknown case type"})

    def _receipt(self, view: Mapping[str, Any]) -> dict[str, Any]:
        """What the clerk prints for the party: number, level, unit and the first due date."""
        due = min((d["due_at"] for d in view.get("deadlines") or [] if d.get("due_at")), default=None)
        with self.db.read() as session:
            unit_name = OrgTree.load(session).name(view.get("jurisdiction"))
        return {"number": view.get("number"), "level": view.get("level"), "jurisdiction": view.get("jurisdiction"),
                "jurisdiction_name": unit_name, "due_at": due, "registered_at": view.get("created_at")}

    def register_forms(self) -> dict[str, dict[str, Any] | None]:
        """Public (the API's OpenAPI document needs no sign-in): each deployed case type with the
        JSON Schema of its register form (None when it has none), which `register` checks data against."""
        with self.db.read() as session:
            types = sorted(set(session.scalars(select(Definition.process_key).distinct())))
        return {case_type: self.engine.application(case_type, remember=False).form_schema("register")
                for case_type in types}

    # ------------------------------------------------------------------ reading
    def form(self, actor: Actor, case_type: str, step: str) -> dict[str, Any] | None:
        """The JSON Schema of a step's form (`register`, a step key, or `message_<name>`), for the pages."""
        authz.require("people.read", actor)
        if not isinstance(case_type, str) or not isinstance(step, str):
            return None
        return self.engine.application(case_type, remember=False).form_schema(step)

    def get(self, actor: Actor, case_id: int) -> dict[str, Any]:
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            return self._view(session, actor, case, relations, unmasked=False)

    def _view(self, session, actor: Actor, case: Case, relations: set[str], *, unmasked: bool) -> dict[str, Any]:
        app = self.app(case.type)
        shown = views.Privacy(app, withheld=not authz.allowed("case.identity", actor, relations, case_type=case.type),
                              unmasked=unmasked)
        view = views.case_view(session, case, app, self.now(), shown)
        view["may"] = self._abilities(actor, case, relations)
        return view

    @staticmethod
    def _abilities(actor: Actor, case: Case, relations: set[str]) -> dict[str, bool]:
        """What the reader may do with the case, for the pages (the API ignores it)."""
        may = {"unmask": authz.allowed("case.unmask", actor, relations, case_type=case.type)}
        for use_case in ("case.set_owner", "case.mark_backlog"):
            may[use_case.split(".")[1]] = (authz.applies(use_case, case.type)
                                           and authz.allowed(use_case, actor, relations, case_type=case.type))
        messages = [key[len("message."):] for key, rows in authz.TABLE.items()
                    if key.startswith("message.") and key != "message.*" and case.type in rows]
        may["messages"] = [m for m in messages if authz.allowed(f"message.{m}", actor, relations, case_type=case.type)]
        return may

    def view_after(self, actor: Actor, result: CommandResult) -> dict[str, Any]:
        """The fresh case view after a command; only what the command returned if the actor may not read it."""
        try:
            return self.get(actor, result.case_id)
        except NotFound:
            return {"id": result.case_id, "version": result.version, "status": result.status}

    def unmasked(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """The case with unmasked ID numbers and phones, for its handlers; the look is recorded first."""
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            authz.require("case.unmask", actor, relations, case_type=case.type)
            fields = privacy.personal_fields(case.data or {})
        self.engine.record_event(case_id, "pii_viewed", {"fields": fields}, actor)
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            return self._view(session, actor, case, relations, unmasked=True)

    def history(self, actor: Actor, case_id: int) -> list[dict[str, Any]]:
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            app = self.app(case.type)
            shown = views.Privacy(app, withheld=not authz.allowed("case.identity", actor, relations,
                                                                  case_type=case.type), unmasked=False)
            return views.events(session, case.id, shown)

    def search(self, actor: Actor, *, type: Any = None, status: Any = None, level: Any = None, owner: Any = None,
               overdue: bool = False, q: Any = None, after: int | None = None, limit: int = 50,
               flag: Any = None, due_within_days: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the cases the actor may read, newest first, by the filters; `next` is the cursor.

        `q` finds a case by its number, a party's or petitioner's name, a word of its summary, or a
        whole phone or ID number; never by who the parties are for a unit their identity is withheld from."""
        status = _choice("status", status, STATUSES)
        level = _choice("level", level, LEVELS)
        flag = _choice("flag", flag, FLAGS)
        if after is not None:
            check_id(after, "after")
        if q is not None and (not isinstance(q, str) or len(q) > MAX_QUERY):
            raise InvalidInput(f"搜索词不超过 {MAX_QUERY} 个字 / the search is at most {MAX_QUERY} characters",
                               fields={"q": f"不超过 {MAX_QUERY} 字 / at most {MAX_QUERY} characters"})
        now = self.now()
        with self.db.read() as session:
            if type not in (None, ""):
                if not isinstance(type, str) or (type not in self.engine.applications and session.scalar(
                        select(Definition.id).where(Definition.process_key == type).limit(1)) is None):
                    raise InvalidInput(f"未知的案件类型“{type}” / unknown case type {type!r}",
                                       fields={"type": "未知的案件类型 / unknown case type"})
            tree = OrgTree.load(session)
            where = []
            sources = readable_case_sources(session, tree, actor)
            if sources is not None:  # checked per case with probes; a list is driven by `sources`
                where.append(readable_cases_sql(session, tree, actor))
            for column, value in ((Case.type, type), (Case.status, status), (Case.level, level), (Case.owner, owner)):
                if value:
                    where.append(column == value)
            if overdue:
                # an overdue pending deadline or open step: the soonest of them, kept on the case
                where.append(Case.overdue_at <= now)
            if flag:
                where.append(self._has_flag(flag, now))
            if due_within_days:
                where.append(_task_due(after=now, now=now + timedelta(days=due_within_days)))
            if after:
                where.append(Case.id < after)
            query = select(Case).order_by(Case.id.desc()).limit(limit + 1)
            if q and q.strip():
                ids = _found(session, where, self._matches(actor, q.strip()), q.strip(), limit + 1, after,
                             sources)
            elif overdue:
                ids = _overdue_ids(session, tree, actor, sources, where, limit + 1)
            elif sources is not None and (sources[0] or sources[1]):
                # each way the actor may read cases on its own index, newest first, merged: the case's
                # own columns, and the cases of the actor's tasks by the tasks' (who, case_id) indexes
                on_case, on_task = sources
                rest = where[1:]
                found = {i for branch in on_case for i in session.scalars(
                    select(Case.id).where(branch, *rest).order_by(Case.id.desc()).limit(limit + 1))}
                for condition in on_task:
                    newest = _task_case_ids(session, condition, after, limit + 1)
                    # a task's case exists: without other filters its first batch is the branch's page
                    found |= _checked(session, rest, true(), newest, limit + 1) if rest else set(next(newest, []))
                ids = sorted(found, reverse=True)[:limit + 1]
            elif sources is not None:
                ids = []
            else:
                ids = None
                query = query.where(*where)
            if ids is not None:
                query = query.where(Case.id.in_(ids))
            rows = session.scalars(query).all()
            more = len(rows) > limit
            rows = rows[:limit]
            items = [views.case_summary(self.app(c.type), c, now) for c in rows]
        return items, (items[-1]["id"] if more and items else None)

    @staticmethod
    def _matches(actor: Actor, q: str):
        like = f"%{q.replace('%', '').replace('_', '')}%"
        by_number = Case.number.like(like)
        # Who the parties are is searched only where the searcher may know it (Art. 30).
        knows_parties = or_(Case.withheld_from.is_(None),
                            not_(cast(Case.withheld_from, String).like(f'%"{actor.org_unit}"%')))
        person = [Case.search_text.like(like)]
        if _PHONE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
            person.append(exists().where(CaseParty.case_id == Case.id, CaseParty.phone_key == privacy.phone_key(q)))
        if _ID_NUMBER.match(q):
            person.append(exists().where(CaseParty.case_id == Case.id, CaseParty.person_key == privacy.person_key(q)))
        return or_(by_number, and_(knows_parties, or_(*person)))

    def _has_flag(self, flag: str, now):
        # Flags are a JSON list of lowercase codes: its text holds "code" exactly when the list does.
        stored = cast(Case.flags, String).like(f'%"{flag}"%')
        if flag != "backlog":
            return stored
        derived = [and_(Case.type == key, Case.status == "open",
                        Case.created_at < now - timedelta(days=app.rules.backlog_days))
                   for key, app in self.engine.applications.items() if hasattr(getattr(app, "rules", None),
                                                                              "backlog_days")]
        return or_(stored, *derived)

    def diagram(self, actor: Actor, case_id: int) -> dict[str, Any]:
        """What the case page draws: the BPMN file of the case's own definition version, and the ids
        of the steps passed and open now."""
        with self.db.read() as session:
            case, _, _ = self.visible_case(session, actor, case_id)
            definition = session.get(Definition, case.definition_id)
            files = definition.files or {}
            marker = f'id="{definition.process_key}"'
            name = next((n for n, text in files.items() if n.lower().endswith(".bpmn") and marker in text),
                        next((n for n in files if n.lower().endswith(".bpmn")), None))
            done, current = self.engine.progress(session, case.id)
            return {"process_key": definition.process_key, "version": definition.version,
                    "bpmn": files.get(name) if name else None, "done": done,
                    "current": current if case.status == "open" else set()}

    def same_parties(self, actor: Actor, data: Any) -> dict[str, Any]:
        """Open cases of the same people (by ID number) as a form being registered: those the actor may
        read by number, and how many others there are (never which, nor where)."""
        numbers = sorted(set(_id_numbers(data)))
        if not numbers:
            return {"cases": [], "others": 0}
        keys = [privacy.person_key(n) for n in numbers]
        with self.db.read() as session:
            tree = OrgTree.load(session)
            query = (select(Case).where(Case.status == "open", exists().where(
                CaseParty.case_id == Case.id, CaseParty.person_key.in_(keys))).order_by(Case.id.desc()).limit(50))
            found = session.scalars(query).all()
            visible = readable_cases_sql(session, tree, actor)
            readable = set(session.scalars(select(Case.id).where(Case.id.in_([c.id for c in found]), visible))) \
                if visible is not None and found else {c.id for c in found}
            cases = [{"id": c.id, "number": c.number, "type": c.type, "jurisdiction": c.jurisdiction,
                      "jurisdiction_name": tree.name(c.jurisdiction)} for c in found if c.id in readable]
            return {"cases": cases, "others": len(found) - len(cases)}

    # ------------------------------------------------------------------ commands on a case
    def send_message(self, actor: Actor, case_id: int, name: Any, data: Any) -> dict[str, Any]:
        """Deliver a message (a court's answer, a withdrawal, a review request) to a case that waits for it."""
        if not isinstance(data, dict):
            raise InvalidInput("消息数据必须是 JSON 对象 / message data must be a JSON object",
                               fields={"data": "应为对象 / must be an object"})
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            use_case = authz.message_use_case(case.type, name) if isinstance(name, str) else None
            if use_case is None:
                raise NotFound(f"此类案件没有“{name}”消息 / cases of this kind take no message {name!r}")
            authz.require(use_case, actor, relations, case_type=case.type)
        return self.view_after(actor, self.engine.send_message(case_id, name, data, actor))

    def set_owner(self, actor: Actor, case_id: int, leader: Any, reason: Any = None) -> dict[str, Any]:
        """Assign or change the case's owner (包案领导), with the reason; an audited event."""
        app = self._authorized(actor, case_id, "case.set_owner")
        result = self.engine.change_case(case_id, actor, lambda change: app.set_owner(change, leader, reason))
        return self.view_after(actor, result)

    def mark_backlog(self, actor: Actor, case_id: int, reason: Any, leader: Any = None) -> dict[str, Any]:
        """Mark the case as backlog (信访积案), naming its owner if it has none yet."""
        app = self._authorized(actor, case_id, "case.mark_backlog")
        result = self.engine.change_case(case_id, actor, lambda change: app.mark_backlog(change, reason, leader or None))
        return self.view_after(actor, result)

    def _authorized(self, actor: Actor, case_id: int, use_case: str):
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            authz.require(use_case, actor, relations, case_type=case.type)
            return self.app(case.type)


def _id_numbers(value: Any):
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "id_number" and isinstance(item, str) and item.strip():
                yield item.strip().upper()
            else:
                yield from _id_numbers(item)
    elif isinstance(value, list):
        for item in value:
            yield from _id_numbers(item)


CAP = search.COMMON  # a term with more cases than this is common: the search reads it newest first
FIRST_BATCH = 500   # candidates checked at a time, growing fourfold up to LAST_BATCH
LAST_BATCH = 8000


def _found(session, where: list, matches, q: str, wanted: int, after: int | None,
           sources: tuple[list, list] | None = None) -> list[int]:
    """The ids of the newest `wanted` cases that meet `where` and `matches` (the search's own
    condition on the case's columns), found through the search index (engine/search.py): by the
    number's tails, by the rarest pair of characters of the text, and by the parties' phone or ID
    digests; each source's candidates are checked with the same conditions, so the result is what a
    scan of every case would find. A search of one character reads the cases newest first.

    `sources` (readable_case_sources, with `where[0]` the reader's visibility): the candidates of the
    text are narrowed to those the reader may read by the ids each source holds within a batch's
    range of ids (`_readable_of`), instead of probing each candidate's visibility."""
    text = q.replace("%", "").replace("_", "")
    if len(text) < 2:
        return list(session.scalars(select(Case.id).where(*where, matches).order_by(Case.id.desc()).limit(wanted)))
    found: set[int] = set()
    # The number: a search that begins one of its tails (PostgreSQL: has every triple of it, or its pair).
    by_number = search.number_candidates(session, text, after)
    tails = list(session.scalars(by_number.limit(CAP + 1)))  # a case may have the search in two tails
    numbered = sorted(set(tails), reverse=True)
    if len(tails) <= CAP:
        found |= _checked(session, where, matches, iter([numbered]), wanted)
    else:  # common in numbers (a year): the newest cases have it
        found |= set(session.scalars(select(Case.id).where(*where, matches, Case.number.like(f"%{text}%"))
                                     .order_by(Case.id.desc()).limit(wanted)))
    # The text: every case whose text holds the search has its rarest pair of characters (SQLite) or
    # every pair of it (PostgreSQL).
    candidates = search.newest_with_text(session, text, after, FIRST_BATCH, LAST_BATCH)
    if sources is not None:
        found |= _checked(session, where[1:], matches, _readable_of(session, sources, where[0], candidates), wanted)
    else:
        found |= _checked(session, where, matches, candidates, wanted)
    # A whole phone or ID number: by its digest.
    keys = _party_keys(q)
    if keys is not None:
        found |= set(session.scalars(select(Case.id).where(*where, matches, Case.id.in_(keys))
                                     .order_by(Case.id.desc()).limit(wanted)))
    return sorted(found, reverse=True)[:wanted]


def _readable_of(session, sources: tuple[list, list], visible, batches):
    """The ids of each batch (newest first) of cases the reader may read, in the batch's order. A
    search's candidates are the newest cases holding its text, mostly in a narrow range of ids when
    the text is common among recent cases (a seeded name: 417 cases at 1,000,000, 416 of them among
    the newest 2,000), while a village reader may read one case in 300: probing each candidate's
    visibility (its jurisdiction, then an EXISTS per way of its tasks) read ~11 buffers a candidate
    on PostgreSQL. So each source on the case row and each of the reader's own tasks (completed_by,
    assignee) is read newest first from the batch's newest id down on its (who, id) or (who, case_id)
    index, at most as many entries as the batch has candidates (all in one statement); the
    candidates above where every such read ended are decided by those ids; the unclaimed open steps
    of the reader's unit (on the unit's queue, in no case order) are read whole once when they are no
    more than a batch, else probed by an EXISTS for the batch's undecided candidates. Those below where a read ended (a rare
    text's few candidates spread over the years) are probed with `visible`, as before."""
    on_case, on_task = sources
    ranged = [(Case.id, branch) for branch in on_case]
    ranged += [(HumanTask.case_id, condition) for condition in on_task if _by_user(condition)]
    others = [condition for condition in on_task if not _by_user(condition)]
    known: set[int] | None = None if others else set()  # the case ids of all of `others`, once read
    for batch in batches:
        if not batch:
            continue
        low, high, bound = min(batch), max(batch), len(batch)
        # one statement: each ranged source's newest `bound` ids in [low, high] (source k), and while
        # `known` is not, each of `others` up to bound + 1 (source -k - 1)
        parts = [select(literal(k).label("source"), column.label("id")).where(condition, column >= low, column <= high)
                 .order_by(column.desc()).limit(bound) for k, (column, condition) in enumerate(ranged)]
        if known is None:
            parts += [select(literal(-k - 1).label("source"), HumanTask.case_id.label("id")).where(condition)
                      .limit(bound + 1) for k, condition in enumerate(others)]
        read: dict[int, list[int]] = {}
        if parts:
            subqueries = [part.subquery() for part in parts]
            for source, case_id in session.execute(union_all(*(select(q.c.source, q.c.id) for q in subqueries))):
                read.setdefault(source, []).append(case_id)
        readable: set[int] = set()
        floor = low  # the candidates from here up are decided by the ranged sources' ids
        for k in range(len(ranged)):
            ids = read.get(k, [])
            readable.update(ids)
            if len(ids) >= bound:  # the source holds more here: known from its oldest id read up
                floor = max(floor, min(ids))
        if known is None and all(len(read.get(-k - 1, [])) <= bound for k in range(len(others))):
            known = {i for k in range(len(others)) for i in read.get(-k - 1, [])}
        below = [i for i in batch if i < floor]
        if below:
            readable.update(session.scalars(select(Case.id).where(Case.id.in_(below), visible)))
        if known is not None:
            readable.update(i for i in batch if i in known)
        else:
            rest = [i for i in batch if i >= floor and i not in readable]
            if rest:
                probes = [exists().where(HumanTask.case_id == Case.id, condition) for condition in others]
                readable.update(session.scalars(select(Case.id).where(Case.id.in_(rest), or_(*probes))))
        yield [i for i in batch if i in readable]


def _by_user(condition) -> bool:
    """A source of the reader's own tasks by who they are (`completed_by` or `assignee` = the user):
    an index by (who, case_id) reads it in case order."""
    left = getattr(condition, "left", None)
    return getattr(condition, "operator", None) is operators.eq and getattr(left, "key", None) in (
        "completed_by", "assignee") and getattr(left, "table", None) is HumanTask.__table__


def _overdue_ids(session, tree: OrgTree, actor: Actor, sources, where: list, wanted: int) -> list[int]:
    """The newest `wanted` ids of the overdue cases the reader may read (`where`: the readability
    condition first, then `overdue_at <= now` and the other filters), in at most two statements.

    First the reader's units' overdue cases: one range of ix_case_overdue_unit per unit, sorted (a
    town's are about one in twenty of the county's). When they fill the page, only cases newer than
    its last can join it, so the rest of the reader's visibility (what they registered or own, the
    cases of their own tasks) is asked of those alone, and of their tasks only those of such cases.
    Then one range of ix_case_overdue_by (the county's cases overdue now), filtered on the index by
    the visibility; the tasks' case ids read once, as one set. Ordered by `id + 0`: never the primary
    key walked backwards filtering every case (PostgreSQL's planner takes it where it thinks most
    cases match), and `id + 0 > x` is no range of it either."""
    rest = where[1:] if sources is not None else where

    def newest(query) -> list[int]:
        return list(session.scalars(query.order_by((Case.id + 0).desc()).limit(wanted)))

    units = readable_units(tree, actor)
    found = newest(select(Case.id).where(Case.jurisdiction.in_(sorted(units)), *rest)) if units else []
    since = found[-1] if len(found) >= wanted else None
    # newer than the page's last first: the visibility is asked of those only
    condition = [Case.id + 0 > since] if since is not None else []
    condition += rest if sources is None else [_readable_on_overdue(*sources, since=since), *rest]
    found += newest(select(Case.id).where(*condition))
    return sorted(set(found), reverse=True)[:wanted]


def _readable_on_overdue(on_case: list, on_task: list, since: int | None = None):
    """The reader's visibility for the overdue list's range: the case's own columns (in
    ix_case_overdue_by) or the case ids of the reader's own tasks (of cases newer than `since`), read
    once per statement as one set (`IN (SELECT … UNION ALL …)`: one look-up a case, not one per way
    of having a task). `id + 0`: so that SQLite does not read each branch apart on its own index (a
    "MULTI-INDEX OR", which its planner takes at a big store's statistics: every case the reader
    registered and every task they completed, looked up one by one) instead of the range."""
    branches = list(on_case)
    if on_task:
        if since is None:
            tasks = task_case_ids(on_task)
        else:
            # The reader's own tasks (completed_by, assignee): a range of their (who, case_id) index, of
            # the newer cases' tasks only (a reader's completed tasks grow with the years: 8,290 of a
            # town office's at 1,000,000 cases, read whole to keep the few newer). The unit's unclaimed
            # steps: `+ 0`, a filter on the unit's queue, never a range of ix_task_case over every task
            # of the newer cases.
            parts = [select(HumanTask.case_id).where(condition, HumanTask.case_id > since if _by_user(condition)
                                                     else HumanTask.case_id + 0 > since) for condition in on_task]
            tasks = union_all(*parts) if len(parts) > 1 else parts[0]
        branches.append((Case.id + 0).in_(tasks))
    return or_(*branches) if branches else false()


def _task_case_ids(session, condition, after: int | None, wanted: int):
    """Batches of the ids of the cases of the tasks that meet `condition`, newest first, read on the
    tasks' index by (who, case_id)."""
    return _batches(_distinct(_newest_ids(session, select(HumanTask.case_id).where(condition),
                                          HumanTask.case_id, after, wanted)), wanted)


def _newest_ids(session, query, column, after: int | None, wanted: int):
    """The values of `column` (a case id) of `query`'s rows, newest first, each once, read in batches
    growing fourfold from `wanted` up to LAST_BATCH."""
    size, last = max(wanted, 1), after
    while True:
        batch = query.distinct().order_by(column.desc()).limit(size)
        if last:
            batch = batch.where(column < last)
        found = list(session.scalars(batch))
        yield from found
        if len(found) < size:
            return
        last, size = found[-1], min(size * 4, LAST_BATCH)


def _distinct(ids):
    previous = None
    for i in ids:
        if i != previous:
            yield i
        previous = i


def _batches(ids, wanted: int):
    """The ids in lists of `wanted`, growing fourfold up to LAST_BATCH (for _checked)."""
    size, batch = max(wanted, 1), []
    for i in ids:
        batch.append(i)
        if len(batch) >= size:
            yield batch
            batch, size = [], min(size * 4, LAST_BATCH)
    if batch:
        yield batch


def _checked(session, where: list, matches, batches, wanted: int) -> set[int]:
    """The newest `wanted` of the candidates (batches of ids, newest first) that meet the conditions."""
    found: list[int] = []
    for batch in batches:
        for start in range(0, len(batch), LAST_BATCH):
            part = batch[start:start + LAST_BATCH]
            found += session.scalars(select(Case.id).where(Case.id.in_(part), *where, matches)
                                     .order_by(Case.id.desc()).limit(wanted - len(found)))
            if len(found) >= wanted:
                return set(found)
    return set(found)


def _party_keys(q: str):
    if _ID_NUMBER.match(q):
        return select(CaseParty.case_id).where(CaseParty.person_key == privacy.person_key(q))
    if _PHONE.match(q) and sum(ch.isdigit() for ch in q) >= 7:
        return select(CaseParty.case_id).where(CaseParty.phone_key == privacy.phone_key(q))
    return None


def _task_due(*, now, after=None):
    """An open step of the case due by `now` (and after `after`): a step whose deadline fired stays due."""
    condition = [HumanTask.case_id == Case.id, HumanTask.status == "ready", HumanTask.due_at.is_not(None),
                 HumanTask.due_at <= now]
    if after is not None:
        condition.append(HumanTask.due_at > after)
    return exists().where(*condition)


__all__ = ["Cases", "iso"]
