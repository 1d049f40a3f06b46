"""The standard papers of a case (`/cases/<id>/documents/<kind>`, its PDF at `….pdf`) and the papers'
stylesheet. This module only translates: `services().documents` decides what may be printed, renders
it, makes the PDF and records the print (usecases/documents.py)."""
from __future__ import annotations

from flask import Blueprint, g, make_response, render_template, url_for
from markupsafe import Markup

from usecases.documents import DocumentUnavailable, PdfUnavailable

from .case_words import services

bp = Blueprint("documents", __name__)


def _unavailable(case_id: int, problem: DocumentUnavailable):
    return render_template("documents/unavailable.html", status=409, message=problem.message,
                           back=url_for("cases.case_page", case_id=case_id)), 409


@bp.get("/cases/<id:case_id>/documents/<kind>.pdf")
def pdf(case_id: int, kind: str):
    try:
        made = services().documents.render(g.actor, case_id, kind, "pdf")
    except DocumentUnavailable as problem:
        return _unavailable(case_id, problem)
    except PdfUnavailable as problem:
        return render_template("documents/no_pdf.html", status=503, message=problem.message,
                               back=url_for("documents.page", case_id=case_id, kind=kind)), 503
    response = make_response(made["pdf"])
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'attachment; filename="{made["number"]}-{made["kind"]}.pdf"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/cases/<id:case_id>/documents/<kind>")
def page(case_id: int, kind: str):
    try:
        made = services().documents.render(g.actor, case_id, kind, "html")
    except DocumentUnavailable as problem:
        return _unavailable(case_id, problem)
    response = make_response(render_template(
        "documents/page.html", case_id=case_id, number=made["number"], kind=made["kind"],
        paper_title=made["title"], body=Markup(made["body"]), full_identity=made["full_identity"]))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/documents/paper.css")
def paper_css():
    response = make_response(services().documents.stylesheet())
    response.headers["Content-Type"] = "text/css; charset=utf-8"
    return response


def document_links(case_id: int) -> list[dict]:
    """For the case page: the papers the user may print from the case now, with their addresses."""
    rows = []
    for paper in services().documents.list(g.actor, case_id):
        if paper["unavailable"]:
            continue
        rows.append({"title": paper["title"], "title_en": paper["title_en"],
                     "signed": paper["signed_by_parties"],
                     "href": url_for("documents.page", case_id=case_id, kind=paper["kind"]),
                     "pdf": url_for("documents.pdf", case_id=case_id, kind=paper["kind"])})
    return rows
