"""Printing a case's standard papers (issue 14): which the reader may print now, and the paper itself
as HTML or PDF, each print recorded in the case's history as `document_printed`.

The papers, their wording and when each fits a case are data of the case types
(`workflows/documents/`); who may print, and who sees the parties in full, is the authorization table's
(`document.print`, `document.full_identity`). A paper shows the parties' ID numbers and phones in full
only when the parties sign it and the reader handles the case; the unit a petition complains about
prints nothing of it (信访工作条例第三十条).
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.application import Actor
from engine.calendar import iso
from engine.errors import NotFound
from engine.store import Case, HumanTask, User
from workflows import documents as papers

from . import authorization as authz
from . import views
from .base import UseCases
from .relations import OrgTree

FORMATS = ("html", "pdf")
DocumentUnavailable, PdfUnavailable = papers.DocumentUnavailable, papers.PdfUnavailable


class Documents(UseCases):
    def list(self, actor: Actor, case_id: int) -> list[dict[str, Any]]:
        """The papers of the case's type the actor may print, each with whether it fits the case now
        (and why not). Empty when they may print none. Records nothing."""
        with self.db.read() as session:
            case, relations, _ = self.visible_case(session, actor, case_id)
            if not authz.allowed("document.print", actor, relations, case_type=case.type):
                return []
            facts = _facts(case)
            return [{"kind": k.kind, "title": k.title, "title_en": k.title_en,
                     "signed_by_parties": k.signed_by_parties,
                     "unavailable": papers.unavailable_reason(k, facts)} for k in papers.kinds_of(case.type)]

    def render(self, actor: Actor, case_id: int, kind: Any, fmt: str = "html") -> dict[str, Any]:
        """The paper `kind` of the case: `{"kind", "title", "title_en", "body"}` (HTML of the paper, in
        Chinese) plus `"pdf"` (bytes) for fmt "pdf". NotFound for a case the actor may not read or print
        and for a kind its type has not; DocumentUnavailable (409) when the case's state has no such
        paper yet; PdfUnavailable when the PDF engine cannot run. A print is recorded once made."""
        if fmt not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}")
        with self.db.read() as session:
            case, relations, tree = self.visible_case(session, actor, case_id)
            if not authz.allowed("document.print", actor, relations, case_type=case.type):
                raise authz.not_found("case", case_id)  # the unit complained about: as if no such case
            found = papers.catalogue().get(kind) if isinstance(kind, str) else None
            if found is None or found.case_type != case.type:
                raise NotFound(f"没有“{kind}”这种文书 / no document {kind!r} for this kind of case")
            reason = papers.unavailable_reason(found, _facts(case))
            if reason:
                raise papers.DocumentUnavailable(reason)
            full = found.signed_by_parties and authz.allowed("document.full_identity", actor, relations,
                                                             case_type=case.type)
            body = self._body(session, tree, case, found, full)
            number = case.number
        settings = self.system.settings
        made = {"kind": found.kind, "title": found.title, "title_en": found.title_en, "body": body,
                "full_identity": full, "case_id": case_id, "number": number}
        if fmt == "pdf":
            made["pdf"] = papers.render_pdf(found.title, body, papers.stylesheet(settings.documents_dir))
        self.engine.record_event(case_id, "document_printed", {"kind": found.kind, "title": found.title,
                                                               "format": fmt, "full_identity": full}, actor)
        return made

    def stylesheet(self) -> str:
        """The papers' A4 stylesheet (the county's copy, if it has one); nothing personal in it."""
        return papers.stylesheet(self.system.settings.documents_dir)

    # ------------------------------------------------------------------------------------------
    def _body(self, session, tree: OrgTree, case: Case, kind: papers.DocumentKind, full: bool) -> str:
        app = self.app(case.type)
        shown = views.Privacy(app, withheld=False, unmasked=full)
        data = shown(case.data or {})
        steps_done: dict[str, dict[str, Any]] = {}
        for name, at, unit in session.execute(
                select(HumanTask.name, HumanTask.completed_at, HumanTask.org_unit)
                .where(HumanTask.case_id == case.id, HumanTask.status == "completed").order_by(HumanTask.id)):
            steps_done[name] = {"at": iso(at), "unit": unit}
        mediators = {m for m in ((data.get("agreement") or {}).get("mediators") or []) if isinstance(m, str)}
        people = {u: n or u for u, n in session.execute(
            select(User.username, User.display_name).where(User.username.in_(sorted(mediators))))} if mediators else {}
        settings = self.system.settings
        county = next((u for u in tree.units.values() if u.level == "county" and u.parent is None), None)
        issuer = papers.Issuer(county_name=settings.county_name or (county.name if county else ""),
                               seal_text=settings.seal_text,
                               unit_names={c: u.name for c, u in tree.units.items()},
                               unit_levels={c: u.level for c, u in tree.units.items()})
        row = {"number": case.number, "created_at": iso(case.created_at), "closed_at": iso(case.closed_at),
               "jurisdiction": case.jurisdiction, "level": case.level, "outcome": case.outcome}
        context = papers.paper_context(kind, case=row, data=data, forms=app.form_schema, issuer=issuer,
                                       people=people, steps_done=steps_done, printed_at=self.now(),
                                       full_identity=full)
        return papers.render_body(kind, context, settings.documents_dir)


def _facts(case: Case) -> papers.CaseFacts:
    return papers.CaseFacts(status=case.status, outcome=case.outcome, data=case.data or {})


__all__ = ["DocumentUnavailable", "Documents", "PdfUnavailable"]
