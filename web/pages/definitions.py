"""The deployed versions of each process, for administrators (`/admin/definitions`): every version with
when and by whom it was deployed, its content hash and its open and closed cases; one version drawn
by the case page's renderer; two versions compared, with each open case's answer to "can it move?",
and the form that moves them — a dry run first, then a confirmation.

This module only translates: every read and the migration are calls of `services.definitions` with
`g.actor`, which answer Forbidden for anyone but an admin.
"""
from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, abort, g, render_template, request
from markupsafe import Markup

from engine.errors import InvalidInput, NotFound
from usecases.authorization import ROLE_TITLES
from web.i18n import N_, _, localized

from .case_words import is_english, services, when
from .diagram import render_diagram

bp = Blueprint("definitions", __name__)

CHANGE_WORDS = {"name": N_("名称"), "id": N_("标识"), "kind": N_("元素类型"), "timer": N_("期限"),
                "form": N_("表单"), "role": N_("办理角色"), "script": N_("脚本"), "flow": N_("流向"),
                "event": N_("事件"), "properties": N_("属性"), "other": N_("其他")}
STATUS_WORDS = {"moved": N_("已迁移"), "would_move": N_("可以迁移"), "blocked": N_("不能迁移"),
                "skipped": N_("未迁移")}
NOTE_WORDS = {"closed": N_("已结案，不迁移"), "other_version": N_("不在原版本上")}
MAX_SHOWN = 500  # cases listed on the comparison page (all are counted)


def _version_args() -> tuple[Any, Any]:
    return request.values.get("from", "").strip(), request.values.get("to", "").strip()


def _stamp(item: dict) -> dict:
    return {**item, "deployed_at_text": when(item.get("deployed_at")), "hash_short": (item.get("content_hash") or "")[:12]}


@bp.get("/admin/definitions")
def versions():
    listing = services().definitions.list(g.actor)
    processes: dict[str, list[dict]] = {}
    for item in listing["items"]:
        processes.setdefault(item["key"], []).append(_stamp(item))
    return render_template("definitions/list.html", processes=processes,
                           decisions=[_stamp(d) for d in listing["decisions"]])


@bp.get("/admin/definitions/<key>/<int:version>")
def version(key: str, version: int):
    item = _stamp(services().definitions.get(g.actor, key, version))
    svg = None
    if item.get("bpmn"):
        lanes = {code: titles[1 if is_english() else 0] for code, titles in ROLE_TITLES.items()}
        drawn = str(render_diagram(item["bpmn"], lane_titles=lanes,
                                   title=_("{key} 流程图（第 {version} 版）", key=key, version=version)))
        size = re.search(r'data-width="(\d+)" data-height="(\d+)"', drawn)
        if size:  # natural size in a scrolling box, as on the case page
            drawn = drawn.replace('width="100%"', f'width="{size.group(1)}" height="{size.group(2)}"', 1)
        svg = Markup(drawn)
    others = [v for v in item["versions"] if v != version]
    return render_template("definitions/version.html", item=item, svg=svg, others=others,
                           roles={code: titles[1 if is_english() else 0] for code, titles in ROLE_TITLES.items()})


def _diff_page(key: str, from_version: Any, to_version: Any, *, result: dict | None = None,
               cases_text: str = "", errors: dict[str, str] | None = None, status: int = 200):
    diff = services().definitions.diff(g.actor, key, from_version, to_version, check_limit=MAX_SHOWN)
    return render_template("definitions/diff.html", diff=diff, result=result, cases_text=cases_text,
                           errors=errors or {}, change_words=CHANGE_WORDS, status_words=STATUS_WORDS,
                           note_words=NOTE_WORDS, when=when), status


@bp.get("/admin/definitions/<key>/diff")
def diff(key: str):
    from_version, to_version = _version_args()
    if not from_version or not to_version:
        services().definitions.list(g.actor, key)  # an admin's question, and a process that exists
        abort(400)
    return _diff_page(key, from_version, to_version)


def _case_refs(text: str) -> list[str] | None:
    refs = [part for part in re.split(r"[\s,，、]+", text or "") if part]
    return refs or None


@bp.post("/admin/definitions/<key>/migrate")
def migrate(key: str):
    """A dry run first (the button 试运行), then the same cases moved for real (确认迁移)."""
    from_version, to_version = _version_args()
    cases_text = request.form.get("cases", "")
    confirmed = request.form.get("confirm") == "1"
    try:
        result = services().definitions.migrate(g.actor, key, from_version, to_version,
                                                cases=_case_refs(cases_text), dry_run=not confirmed)
    except NotFound as exc:
        if not _case_refs(cases_text):
            raise
        return _diff_page(key, from_version, to_version, cases_text=cases_text,
                          errors={"cases": localized(exc.message)}, status=400)
    except InvalidInput as exc:
        errors = {name: localized(text) for name, text in (exc.fields or {}).items()} or {
            "cases": localized(exc.message)}
        return _diff_page(key, from_version, to_version, cases_text=cases_text, errors=errors, status=400)
    return _diff_page(key, from_version, to_version, result=result, cases_text=cases_text)
