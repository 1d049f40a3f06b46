"""Use cases of an owner leader (包案领导, DOMAIN.md §3): the cases they own, with where each stands,
when its next step is due and their own progress report; and their morning digest as the scheduler
would send it today (engine/reminders.py builds both, so the screen and the message agree)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select

from engine.application import Actor
from engine.calendar import ZONE, iso
from engine.errors import InvalidInput
from engine.store import Case, HumanTask

from . import authorization as authz
from . import views
from .base import UseCases
from .relations import OrgTree

PAGE = 50


class Leader(UseCases):
    def owned(self, actor: Actor, *, page: int = 1, per_page: int = PAGE) -> dict[str, Any]:
        """The open cases the actor owns, the soonest due first: each with its stage, open steps (the
        actor's own progress report among them), the days left to the first due one, flags and unit."""
        authz.require("leader.cases", actor)
        if isinstance(page, bool) or not isinstance(page, int) or not 1 <= page <= 100000:
            raise InvalidInput("页码应为正整数 / the page must be a positive whole number",
                               fields={"page": "应为正整数 / must be a positive whole number"})
        now = self.now()
        today = now.astimezone(ZONE).date()
        with self.db.read() as session:
            tree = OrgTree.load(session)
            # Named literally (OPEN_CASE_SQL), so both stores read the partial index ix_case_owner_due.
            mine = (Case.owner == actor.username, Case.status == literal_column("'open'"))
            total = session.scalar(select(func.count()).select_from(Case).where(*mine)) or 0
            # The soonest due first, then those without a due step, each by id: the cases with a due
            # step as one range of the index, then the others as another.
            offset, due = (page - 1) * per_page, Case.next_due_at
            rows = session.execute(select(Case, due).where(*mine, due.is_not(None)).order_by(due, Case.id)
                                   .offset(offset).limit(per_page)).all()
            if len(rows) < per_page:
                with_due = offset + len(rows) if rows else session.scalar(
                    select(func.count()).select_from(Case).where(*mine, due.is_not(None))) or 0
                rows += session.execute(select(Case, due).where(*mine, due.is_(None)).order_by(Case.id)
                                        .offset(max(0, offset - with_due)).limit(per_page - len(rows))).all()
            ids = [c.id for c, _due in rows]
            ready: dict[int, list[HumanTask]] = {}
            if ids:
                for t in session.scalars(select(HumanTask).where(HumanTask.case_id.in_(ids), HumanTask.status == "ready")
                                         .order_by(HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)):
                    ready.setdefault(t.case_id, []).append(t)
            deadlines = views.pending_deadlines(session, ids)
            items = []
            for c, due in rows:
                app = self.app(c.type)
                steps = [views.task_view(t, now, deadlines.get((c.id, t.name)), case_number=c.number,
                                         titles=app.form_schema(t.name), app=app) for t in ready.get(c.id, [])]
                report = next((s for s in steps if s["name"] == "progress_report" and s["assignee"] == actor.username),
                              None)
                items.append({**views.case_summary(app, c, now), "jurisdiction_name": tree.name(c.jurisdiction),
                              "stage": (c.data or {}).get("stage"), "next_steps": steps,
                              "next_due": iso(due), "days_left": (due.astimezone(ZONE).date() - today).days
                              if due is not None else None,
                              "warning_level": views.worst_warning(s["warning_level"] for s in steps),
                              "report_task_id": report["id"] if report else None})
        pages = max(1, -(-total // per_page))
        return {"items": items, "total": total, "page": page, "pages": pages, "as_of": iso(now)}

    def digest(self, actor: Actor) -> dict[str, Any]:
        """The actor's morning digest as it stands now: owned cases due within the digest's days,
        overdue, and backlog, as engine/reminders.py writes it to the owner every working morning."""
        authz.require("leader.digest", actor)
        now = self.now()
        reminders = self.system.reminders
        with self.db.read() as session:
            lists = reminders.digest_lists(session.connection(), now, owner=actor.username).get(actor.username) \
                or {"due_soon": [], "overdue": [], "backlog": []}
        return {"owner": actor.username, "date": now.astimezone(ZONE).date().isoformat(), "as_of": iso(now),
                "due_days": reminders.digest_due.days, "backlog_days": reminders.backlog.days,
                **{f"{name}_count": len(items) for name, items in lists.items()}, **lists}
