"""Use cases on tasks: the worklist, a task with its form, claiming, assigning, completing, extending."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select

from engine.application import Actor
from engine.errors import Conflict, InvalidInput
from engine.store import Case, Deadline, HumanTask

from . import authorization as authz
from . import views
from .base import UseCases, check_id, task_row
from .relations import task_relations, workable_branches_sql

MAX_TEXT = 2000
WARNINGS = ("normal", "warning", "overdue")
PAGE = 50
COUNTED = 1000  # a worklist page counts the tasks up to this many past its start ("more than" beyond)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # stands in for no due date when sorting (those go last)


@dataclass(frozen=True)
class WorklistPage:
    items: list[dict[str, Any]]
    total: int       # all the tasks the filters match, on every page
    page: int
    pages: int
    steps: list[tuple[str, str]]  # (step key, title) of the listed steps, as far as counted, for the filter
    more: bool = False  # more tasks than `total` (counted up to COUNTED past the page's start)


class Tasks(UseCases):
    def __init__(self, system, cases):
        super().__init__(system)
        self.cases = cases  # the case view after each command

    # ------------------------------------------------------------------ reading
    def worklist(self, actor: Actor, case_id: int | None = None) -> list[dict[str, Any]]:
        """Every task the actor may work (of one case, with `case_id`), in the worklist's order."""
        items, after = self.worklist_after(actor, case_id, limit=500)
        while after is not None:
            more, after = self.worklist_after(actor, case_id, after=after, limit=500)
            items.extend(more)
        return items

    def worklist_after(self, actor: Actor, case_id: int | None = None, *, after: int | None = None,
                       limit: int = PAGE) -> tuple[list[dict[str, Any]], int | None]:
        """A page of the tasks the actor may work (their own, or unclaimed ones of their roles in their
        unit), soonest due first (then by id; tasks without a due date last), and the `next` cursor:
        the id of the page's last task when more follow. Each way of working a task is read on its own
        index in this order, so a page costs the same however many tasks the county has."""
        if case_id is not None:
            check_id(case_id, "case")
        if after is not None:
            check_id(after, "after")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 500:
            raise InvalidInput("limit 应为 1 到 500 / limit must be 1 to 500", fields={"limit": "1–500"})
        now = self.now()
        with self.db.read() as session:
            cursor = None
            if after is not None:
                row = session.execute(select(HumanTask.due_at).where(HumanTask.id == after)).first()
                cursor = (row[0], after) if row is not None else (None, after)
            rows, more = [], True
            while len(rows) <= limit and more:
                batch = self._workable(session, actor, case_id, cursor, limit + 1 - len(rows))
                more = len(batch) == limit + 1 - len(rows)
                for t, number, case_type in batch:
                    cursor = (t.due_at, t.id)
                    if authz.allowed("task.complete", actor, task_relations(actor, task_row(t)),
                                     case_type=case_type, step=t.name):
                        rows.append((t, number, case_type))
            more, rows = len(rows) > limit, rows[:limit]
            deadlines = views.pending_deadlines(session, {t.case_id for t, _, _ in rows})
            items = [views.task_view(t, now, deadlines.get((t.case_id, t.name)), case_number=number,
                                     titles=self.app(case_type).form_schema(t.name), app=self.app(case_type))
                     for t, number, case_type in rows]
            return items, (rows[-1][0].id if more and rows else None)

    @staticmethod
    def _workable(session, actor: Actor, case_id: int | None, cursor, count: int):
        """The next `count` workable tasks after `cursor` (due_at, id) in the worklist's order: each
        branch of workable_branches_sql, its dated and undated tasks apart, read in index order, merged."""
        found = []
        for branch in workable_branches_sql(actor):
            for dated in (True, False):
                if cursor is not None and cursor[0] is None and dated:
                    continue  # past every dated task already
                query = (select(HumanTask, Case.number, Case.type).join(Case, Case.id == HumanTask.case_id)
                         .where(branch).limit(count))
                if case_id is not None:
                    query = query.where(HumanTask.case_id == case_id)
                if dated:
                    query = query.where(HumanTask.due_at.is_not(None)).order_by(HumanTask.due_at, HumanTask.id)
                    if cursor is not None:
                        due, last = cursor
                        query = query.where(HumanTask.due_at >= due,
                                            or_(HumanTask.due_at > due, HumanTask.id > last))
                else:
                    # (due_at, id), though every due_at here is NULL: PostgreSQL takes only an equality
                    # as fixing an index column, so ordered by id alone it read the unit's every undated
                    # task, joined each to its case and sorted them (600 for the county's petition
                    # officers at 1,000,000 cases: 2,437 buffers, against 213 in the index's order)
                    query = query.where(HumanTask.due_at.is_(None)).order_by(HumanTask.due_at, HumanTask.id)
                    if cursor is not None and cursor[0] is None:
                        query = query.where(HumanTask.id > cursor[1])
                found.extend(session.execute(query).all())
        found.sort(key=lambda r: (r[0].due_at is None, r[0].due_at or _EPOCH, r[0].id))
        return found[:count]

    def worklist_page(self, actor: Actor, *, step: str | None = None, level: str | None = None,
                      warning: str | None = None, page: int = 1, per_page: int = PAGE) -> WorklistPage:
        """A page of the actor's worklist, soonest due first, filtered by step, level and warning, each
        task with its case's number and parties' names (as the actor may see them)."""
        if warning not in (None, *WARNINGS):
            raise InvalidInput("warning 应为 normal、warning 或 overdue / warning must be normal, warning or overdue",
                               fields={"warning": "未知的期限状态 / unknown warning level"})
        if level not in (None, "village", "town", "county"):
            raise InvalidInput("level 应为 village、town 或 county / level must be village, town or county",
                               fields={"level": "未知的层级 / unknown level"})
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= 100000:
            raise InvalidInput("页码应为正整数 / the page must be a positive whole number",
                               fields={"page": "应为正整数 / must be a positive whole number"})
        now = self.now()
        deadline = Deadline.__table__.alias("d")
        offset = (page - 1) * per_page
        with self.db.read() as session:
            filters, joined = [], warning in ("warning", "normal")
            if step:
                filters.append(HumanTask.name == step)
            if level:
                filters.append(HumanTask.level == level)
            if warning == "overdue":
                filters.append(HumanTask.due_at <= now)
            elif warning == "warning":
                filters.append(and_(HumanTask.due_at > now, deadline.c.warning_at <= now))
            elif warning == "normal":
                filters.append(or_(HumanTask.due_at.is_(None),
                                   and_(HumanTask.due_at > now,
                                        or_(deadline.c.warning_at.is_(None), deadline.c.warning_at > now))))

            branches = workable_branches_sql(actor)
            # To count, the claimed tasks' branch (the first) with its roles kept off the index: SQLite's
            # statistics (most tasks have no assignee) would otherwise read it from every ready task of
            # the role in the county (ix_task_unit_queue) instead of the actor's own (ix_task_assignee_queue).
            counted = [and_(HumanTask.assignee == actor.username, HumanTask.status == "ready",
                            (HumanTask.role + "").in_(sorted(actor.roles))), *branches[1:]] if branches else []

            def of(branch, *columns):
                query = select(*columns).where(branch, *filters)
                if joined:
                    query = query.outerjoin(deadline, and_(deadline.c.case_id == HumanTask.case_id,
                                                           deadline.c.kind == HumanTask.name,
                                                           deadline.c.status == "pending"))
                return query

            # Each way of working a task on its own index, in the worklist's order, up to this page's end.
            found = []
            for branch in branches:
                query = of(branch, HumanTask.id, HumanTask.due_at).limit(offset + per_page)
                dated = session.execute(query.where(HumanTask.due_at.is_not(None))
                                        .order_by(HumanTask.due_at, HumanTask.id)).all()
                found.extend(dated)
                if len(dated) < offset + per_page:  # the undated come after every dated task
                    found.extend(session.execute(query.where(HumanTask.due_at.is_(None))  # as in _workable
                                                 .order_by(HumanTask.due_at, HumanTask.id)))
            found.sort(key=lambda r: (r[1] is None, r[1] or _EPOCH, r[0]))
            ids = [task_id for task_id, _due in found[offset:offset + per_page]]
            # How many: each branch counted up to COUNTED tasks past this page's start, so a count
            # costs the same however long the worklist grows; past that the page says "more than".
            window = offset + max(COUNTED, per_page)
            total = sum(session.scalar(select(func.count()).select_from(
                of(branch, HumanTask.id).limit(window + 1).subquery())) or 0 for branch in counted)
            more = total > window
            total = min(total, window)
            # The steps to filter by, of the same bounded window of each branch (every step of a list
            # that is counted to its end). Grouped outside the limited read: a GROUP BY name over the
            # branch itself makes SQLite walk every ready task of the county in ix_task_done's name
            # order (status is its first column) instead of the branch's own index.
            steps: dict[str, str] = {}
            for branch in counted:
                listed = select(HumanTask.name, HumanTask.title).where(branch).limit(window + 1).subquery()
                for name, title in session.execute(select(listed.c.name, func.min(listed.c.title))
                                                   .group_by(listed.c.name)):
                    steps[name] = min(title, steps.get(name, title))
            rows = session.execute(
                select(HumanTask, Case.number, Case.type, Case.data, Case.withheld_from, deadline.c.warning_at)
                .join(Case, Case.id == HumanTask.case_id)
                .outerjoin(deadline, and_(deadline.c.case_id == HumanTask.case_id, deadline.c.kind == HumanTask.name,
                                          deadline.c.status == "pending"))
                .where(HumanTask.id.in_(ids))).all() if ids else []
            order = {task_id: i for i, task_id in enumerate(ids)}
            rows.sort(key=lambda r: order[r[0].id])
            items = []
            for t, number, case_type, data, withheld, warn_at in rows:
                app = self.app(case_type)
                view = views.task_view(t, now, None, case_number=number, titles=app.form_schema(t.name), app=app)
                view["warning_level"] = views.warning_level(now, t.due_at, warn_at)
                view["case_type"] = case_type
                hidden = bool(actor.org_unit and actor.org_unit in (withheld or []))
                view["parties"] = None if hidden else app.party_names(data or {})
                view["may"] = self._may(actor, t, case_type)
                items.append(view)
        pages = max(1, -(-total // per_page), page + 1 if more else 1)
        return WorklistPage(items, total, page, pages, sorted(steps.items()), more)

    def count(self, actor: Actor) -> int:
        """How many tasks the actor may work now (the number in the navigation): a count per way of
        working a task, each on its own index."""
        with self.db.read() as session:
            return sum(session.scalar(select(func.count()).select_from(HumanTask).where(branch)) or 0
                       for branch in workable_branches_sql(actor))

    def get(self, actor: Actor, task_id: int) -> dict[str, Any]:
        """A task with its form (JSON Schema), if the actor may read its case."""
        now = self.now()
        with self.db.read() as session:
            task, case, _relations, _ = self.visible_task(session, actor, task_id)
            form = self.app(case.type).form_schema(task.name) or {}
            deadline = views.pending_deadlines(session, [task.case_id]).get((task.case_id, task.name))
            view = views.task_view(task, now, deadline, form=form, case_number=case.number, app=self.app(case.type))
            view["may"] = self._may(actor, task, case.type) if task.status == "ready" else {}
            return view

    def _may(self, actor: Actor, task: HumanTask, case_type: str) -> dict[str, bool]:
        """What the actor may do with a ready task, for the pages."""
        mine = task_relations(actor, task_row(task))
        may = {use_case.split(".")[1]: authz.allowed(use_case, actor, mine, case_type=case_type, step=task.name)
               for use_case in ("task.claim", "task.unclaim", "task.assign", "task.complete", "task.extend")}
        may["claim"] = may["claim"] and task.assignee != actor.username
        may["unclaim"] = may["unclaim"] and task.assignee is not None
        may["extend"] = may["extend"] and task.name in self.app(case_type).extendable_steps
        return may

    # ------------------------------------------------------------------ commands
    def _authorize(self, actor: Actor, task_id: int, use_case: str) -> None:
        """The task must be visible (else not found) and ready (else a conflict), and the table must allow it."""
        with self.db.read() as session:
            task, case, _, _ = self.visible_task(session, actor, task_id)
            if task.status != "ready":
                raise Conflict("该任务已办结或已取消 / the task is no longer ready")
            relations = task_relations(actor, task_row(task))
            if (use_case == "task.claim" and task.assignee and task.assignee != actor.username
                    and authz.COLLEAGUE in relations):  # they could have claimed it: someone was quicker
                raise Conflict(f"该任务已由 {task.assignee} 认领 / already claimed by {task.assignee}")
            authz.require(use_case, actor, relations, case_type=case.type, step=task.name)

    def claim(self, actor: Actor, task_id: int) -> dict[str, Any]:
        self._authorize(actor, task_id, "task.claim")
        return self.cases.view_after(actor, self.engine.claim_task(task_id, actor))

    def unclaim(self, actor: Actor, task_id: int) -> dict[str, Any]:
        self._authorize(actor, task_id, "task.unclaim")
        return self.cases.view_after(actor, self.engine.unclaim_task(task_id, actor))

    def assign(self, actor: Actor, task_id: int, username: Any) -> dict[str, Any]:
        if not isinstance(username, str) or not username or len(username) > 64:
            raise InvalidInput("请指明用户 / the user is required", fields={"user": "必填 / required"})
        self._authorize(actor, task_id, "task.assign")
        return self.cases.view_after(actor, self.engine.assign_task(task_id, username, actor))

    def complete(self, actor: Actor, task_id: int, data: Any, version: Any) -> dict[str, Any]:
        """Complete a task with its form's data, at the case version the user read."""
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidInput("请提供读取时的案件版本号 version / the case version you read is required",
                               fields={"version": "必填，整数 / required, a whole number"})
        if not isinstance(data, dict):
            raise InvalidInput("数据（data）必须是 JSON 对象 / data must be a JSON object",
                               fields={"data": "应为对象 / must be an object"})
        self._authorize(actor, task_id, "task.complete")
        return self.cases.view_after(actor, self.engine.complete_task(task_id, data, actor, expected_version=version))

    def extend(self, actor: Actor, task_id: int, request: dict[str, Any]) -> dict[str, Any]:
        """Extend a task's deadline where the case type allows it (days, reason, and what else it asks)."""
        version = request.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
            raise InvalidInput("version 应为整数 / version must be a whole number", fields={"version": "应为整数"})
        self._authorize(actor, task_id, "task.extend")
        result = self.engine.extend_deadline(task_id, request.get("days"), request.get("reason"), actor,
                                             expected_version=version, request=request)
        return self.cases.view_after(actor, result)
