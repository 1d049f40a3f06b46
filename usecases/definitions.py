"""Use cases of the administrators on deployed versions: listing them, comparing two, moving running
cases from one to another (DOMAIN.md §1: the admin keeps "workflow versions, rate tables").

A case keeps the version it started on; moving it is an explicit, audited act, one transaction per
case (engine/migration.py). Rate tables and decisions (DMN) keep versions of their own and are only
listed here: a migration moves open cases only, so a closed case's subsidy is never priced again.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import case as when_
from sqlalchemy import func, select

from engine.application import Actor
from engine.calendar import iso
from engine.errors import InvalidInput, NotFound
from engine.migration import CaseMigrations
from engine.store import Case, DecisionDefinition, Definition

from . import authorization as authz
from .base import UseCases, check_id

MAX_CHECKED = 10000  # open cases a comparison checks one by one (the rest are counted)


class Definitions(UseCases):
    def __init__(self, system):
        super().__init__(system)
        self.migrations = CaseMigrations(self.engine)

    # ------------------------------------------------------------------ reading
    def list(self, actor: Actor, process_key: str | None = None) -> dict[str, Any]:
        """Every deployed version of every process (or of one), newest first, with how many open and
        closed cases run on each; and the decision tables' own versions."""
        authz.require("definitions.read", actor)
        with self.db.read() as session:
            counts = self._case_counts(session)
            query = select(Definition.id, Definition.process_key, Definition.name, Definition.version,
                           Definition.content_hash, Definition.deployed_at, Definition.deployed_by)
            if process_key is not None:
                query = query.where(Definition.process_key == process_key)
            rows = session.execute(query.order_by(Definition.process_key, Definition.version.desc())).all()
            if process_key is not None and not rows:
                raise self._no_process(process_key)
            decisions = session.execute(select(
                DecisionDefinition.decision_key, DecisionDefinition.name, DecisionDefinition.version,
                DecisionDefinition.content_hash, DecisionDefinition.file_name, DecisionDefinition.deployed_at,
                DecisionDefinition.deployed_by).order_by(DecisionDefinition.decision_key,
                                                         DecisionDefinition.version.desc())).all()
        newest: dict[str, int] = {}
        for r in rows:
            newest.setdefault(r.process_key, r.version)
        items = [self._version_view(r, counts.get(r.id, (0, 0)), newest[r.process_key] == r.version) for r in rows]
        return {"items": items,
                "decisions": [{"key": d.decision_key, "name": d.name, "version": d.version,
                               "content_hash": d.content_hash, "file": d.file_name, "deployed_at": iso(d.deployed_at),
                               "deployed_by": d.deployed_by} for d in decisions]}

    def get(self, actor: Actor, process_key: str, version: Any) -> dict[str, Any]:
        """One version: what `list` says of it, its files, and the BPMN file to draw."""
        authz.require("definitions.read", actor)
        with self.db.read() as session:
            row = self._definition(session, process_key, version)
            counts = self._case_counts(session, [row.id]).get(row.id, (0, 0))
            newest = session.scalar(select(func.max(Definition.version)).where(Definition.process_key == process_key))
            view = self._version_view(row, counts, newest == row.version)
            files = row.files or {}
            marker = f'id="{process_key}"'
            name = next((n for n, text in files.items() if n.lower().endswith(".bpmn") and marker in text),
                        next((n for n in files if n.lower().endswith(".bpmn")), None))
            steps = self._steps(session, row.id)
            versions = list(session.scalars(select(Definition.version).where(
                Definition.process_key == process_key).order_by(Definition.version)))
        return {**view, "files": sorted(files), "bpmn": files.get(name) if name else None, "steps": steps,
                "versions": versions}

    def diff(self, actor: Actor, process_key: str, from_version: Any, to_version: Any,
             *, check_limit: int = MAX_CHECKED) -> dict[str, Any]:
        """What differs from one version to another, and for each open case on the first whether it can
        move as it stands (checked on a copy of its workflow: nothing changes)."""
        authz.require("definitions.read", actor)
        with self.db.read() as session:
            old, new = self._pair(session, process_key, from_version, to_version)
            alignment = self.migrations.alignment(session, old.id, new.id)
            open_ids = self._open_case_ids(session, old.id)
            now = self.now()
            cases = []
            for case_id in open_ids[:check_limit]:
                case = self.engine._load_case(session, case_id)
                cases.append(self.migrations.check_case(session, case, alignment, now).as_dict())
        return {"process_key": process_key, "from": old.version, "to": new.version, **alignment.as_dict(),
                "cases": cases, "open_cases": len(open_ids), "checked": len(cases),
                "movable": sum(1 for c in cases if c["can_move"]),
                "blocked": sum(1 for c in cases if not c["can_move"])}

    # ------------------------------------------------------------------ moving cases
    def migrate(self, actor: Actor, process_key: str, from_version: Any, to_version: Any, *,
                cases: Iterable[Any] | None = None, dry_run: bool = False) -> dict[str, Any]:
        """Move the open cases of one version (or the named ones) to another, each atomically (a few a
        transaction); a case that cannot move is left as it was and reported with the reason. A dry run
        changes nothing and says what would happen. Moving back is another migration, asked for."""
        authz.require("definitions.migrate", actor)
        if not isinstance(dry_run, bool):
            raise InvalidInput("dry_run 应为 true 或 false / dry_run must be true or false",
                               fields={"dry_run": "应为布尔值 / must be a boolean"})
        if cases is not None and not isinstance(cases, (list, tuple)):
            raise InvalidInput("cases 应为案件 id 或编号的列表 / cases must be a list of case ids or numbers",
                               fields={"cases": "应为列表 / must be a list"})
        with self.db.read() as session:
            old, new = self._pair(session, process_key, from_version, to_version)
            if cases is None:
                case_ids = self._open_case_ids(session, old.id)
            else:
                case_ids = self._named_cases(session, process_key, cases)
        outcomes = [o.as_dict() for o in self.migrations.migrate_cases(
            case_ids, old.id, new.id, actor, versions=(old.version, new.version), dry_run=dry_run)]
        count = {status: sum(1 for o in outcomes if o["status"] == status)
                 for status in ("moved", "would_move", "blocked", "skipped")}
        return {"process_key": process_key, "from": old.version, "to": new.version, "dry_run": dry_run,
                "cases": outcomes, **count}

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _no_process(process_key: Any) -> NotFound:
        return NotFound(f"流程“{process_key}”尚未部署 / process {process_key!r} is not deployed")

    def _definition(self, session, process_key: str, version: Any) -> Any:
        number = _version_number(version, "version")
        row = session.execute(select(Definition.id, Definition.process_key, Definition.name, Definition.version,
                                     Definition.content_hash, Definition.deployed_at, Definition.deployed_by,
                                     Definition.files)
                              .where(Definition.process_key == process_key, Definition.version == number)).first()
        if row is None:
            if session.scalar(select(Definition.id).where(Definition.process_key == process_key).limit(1)) is None:
                raise self._no_process(process_key)
            raise NotFound(f"流程“{process_key}”没有第 {number} 版 / process {process_key!r} has no version {number}")
        return row

    def _pair(self, session, process_key: str, from_version: Any, to_version: Any):
        from_version, to_version = _version_number(from_version, "from"), _version_number(to_version, "to")
        if from_version == to_version:
            raise InvalidInput("请选择两个不同的版本 / choose two different versions",
                               fields={"to": "与原版本相同 / the same as the version moved from"})
        return self._definition(session, process_key, from_version), self._definition(session, process_key, to_version)

    @staticmethod
    def _case_counts(session, ids: list[int] | None = None) -> dict[int, tuple[int, int]]:
        query = select(Case.definition_id, func.sum(when_((Case.status == "open", 1), else_=0)),
                       func.sum(when_((Case.status != "open", 1), else_=0))).group_by(Case.definition_id)
        if ids is not None:
            query = query.where(Case.definition_id.in_(ids))
        return {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in session.execute(query)}

    @staticmethod
    def _open_case_ids(session, definition_id: int) -> list[int]:
        return list(session.scalars(select(Case.id).where(Case.definition_id == definition_id, Case.status == "open")
                                    .order_by(Case.id)))

    @staticmethod
    def _named_cases(session, process_key: str, refs: Iterable[Any]) -> list[int]:
        """The cases named by id or number; each must exist and be of the process."""
        found, missing = [], []
        for ref in refs:
            if isinstance(ref, str) and ref.isdigit():
                ref = int(ref)
            if isinstance(ref, int) and not isinstance(ref, bool):
                check_id(ref, "case")
                row = session.execute(select(Case.id, Case.type).where(Case.id == ref)).first()
            elif isinstance(ref, str) and ref:
                row = session.execute(select(Case.id, Case.type).where(Case.number == ref)).first()
            else:
                raise InvalidInput("案件应以 id 或编号给出 / cases are given by id or number",
                                   fields={"cases": "应为 id 或编号 / ids or numbers"})
            if row is None or row.type != process_key:
                missing.append(str(ref))
            elif row.id not in found:
                found.append(row.id)
        if missing:
            raise NotFound(f"没有这些“{process_key}”案件：{', '.join(missing)} / no such {process_key} cases: "
                           f"{', '.join(missing)}")
        return found

    def _steps(self, session, definition_id: int) -> list[dict[str, Any]]:
        """The steps of a version people drew, with their kind, role, form and timer."""
        from engine import migration
        spec, _subs = self.engine.specs.get(session, definition_id)
        steps = []
        for ts in spec.task_specs.values():
            if not getattr(ts, "bpmn_id", None):
                continue
            timer = migration.timer_of(ts)
            steps.append({"id": ts.bpmn_id, "name": ts.bpmn_name or "", "kind": type(ts).__name__,
                          "role": getattr(ts, "lane", None) if getattr(ts, "manual", False) else None,
                          "form": migration.form_key(ts),
                          "timer": timer.expression if timer is not None else None})
        return sorted(steps, key=lambda s: s["id"])

    @staticmethod
    def _version_view(row, counts: tuple[int, int], newest: bool) -> dict[str, Any]:
        return {"key": row.process_key, "name": row.name, "version": row.version, "content_hash": row.content_hash,
                "deployed_at": iso(row.deployed_at), "deployed_by": row.deployed_by,
                "open_cases": counts[0], "closed_cases": counts[1], "newest": newest}


def _version_number(value: Any, name: str) -> int:
    if value is None or value == "":
        raise InvalidInput(f"请给出版本号 {name} / give the version {name}", fields={name: "必填 / required"})
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 2 ** 31 - 1:
        raise InvalidInput(f"{name} 应为版本号（正整数）/ {name} must be a version number (a positive whole number)",
                           fields={name: "应为正整数 / must be a positive whole number"})
    return value
