"""Deployed definitions: stored once per content hash, versioned per process, cached as live specs."""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Mapping

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .definitions import ProcessDefinition, spec_from_dict
from .store import Definition


@dataclass(frozen=True)
class DeployResult:
    process_key: str
    version: int
    created: bool  # False: the same content was already deployed
    kind: str = "process"  # or "decision": a DMN decision versioned on its own


def deploy(session: Session, definitions: Mapping[str, ProcessDefinition], *, now: datetime, actor: str) -> list[DeployResult]:
    """Store each process whose content is new as the next version; unchanged ones stay as they are."""
    results = []
    for key in sorted(definitions):
        d = definitions[key]
        existing = session.scalar(select(Definition.version).where(Definition.process_key == key,
                                                                   Definition.content_hash == d.content_hash))
        if existing is not None:
            results.append(DeployResult(key, existing, False))
            continue
        version = (session.scalar(select(func.max(Definition.version)).where(Definition.process_key == key)) or 0) + 1
        session.add(Definition(process_key=key, name=d.name or key, version=version, content_hash=d.content_hash,
                               spec=d.spec_dict, files=d.files, deployed_at=now, deployed_by=actor))
        session.flush()
        results.append(DeployResult(key, version, True))
    return results


def latest(session: Session, process_key: str) -> Definition | None:
    return session.scalar(select(Definition).where(Definition.process_key == process_key)
                          .order_by(Definition.version.desc()).limit(1))


class SpecCache:
    """Live SpiffWorkflow specs by definition id: a deployed definition never changes."""

    def __init__(self):
        self._specs: dict[int, tuple] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, definition_id: int) -> tuple:
        cached = self._specs.get(definition_id)
        if cached is None:
            spec_dict = session.scalar(select(Definition.spec).where(Definition.id == definition_id))
            cached = spec_from_dict(spec_dict)
            with self._lock:
                self._specs[definition_id] = cached
        return cached


# ---------------------------------------------------------------- decisions versioned on their own
from .definitions import CompiledDecision, Decision  # noqa: E402
from .store import DecisionDefinition  # noqa: E402


def deploy_decisions(session: Session, decisions: Mapping[str, Decision], *, now: datetime,
                     actor: str) -> list[DeployResult]:
    """Store each decision whose content is new as its next version (results have kind "decision")."""
    results = []
    for key in sorted(decisions):
        d = decisions[key]
        existing = session.scalar(select(DecisionDefinition.version).where(
            DecisionDefinition.decision_key == key, DecisionDefinition.content_hash == d.content_hash))
        if existing is not None:
            results.append(DeployResult(key, existing, False, "decision"))
            continue
        version = (session.scalar(select(func.max(DecisionDefinition.version))
                                  .where(DecisionDefinition.decision_key == key)) or 0) + 1
        session.add(DecisionDefinition(decision_key=key, name=d.name, version=version, content_hash=d.content_hash,
                                       file_name=d.file, source=d.text, deployed_at=now, deployed_by=actor))
        session.flush()
        results.append(DeployResult(key, version, True, "decision"))
    return results


@dataclass(frozen=True)
class DecisionResult:
    outputs: dict
    version: int


# Compiled tables by content hash: the same table is compiled once, whichever database it came from.
_compiled: dict[str, CompiledDecision] = {}
_compiled_lock = threading.Lock()


def decide(session: Session, key: str, inputs: Mapping) -> DecisionResult | None:
    """Evaluate the newest deployed version of decision `key`; None when it was never deployed."""
    row = session.execute(select(DecisionDefinition.version, DecisionDefinition.content_hash,
                                 DecisionDefinition.name, DecisionDefinition.file_name)
                          .where(DecisionDefinition.decision_key == key)
                          .order_by(DecisionDefinition.version.desc()).limit(1)).first()
    if row is None:
        return None
    compiled = _compiled.get(row.content_hash)
    if compiled is None:
        source = session.scalar(select(DecisionDefinition.source).where(
            DecisionDefinition.decision_key == key, DecisionDefinition.version == row.version))
        compiled = CompiledDecision(Decision(key, row.name, row.file_name, source))
        with _compiled_lock:
            _compiled[row.content_hash] = compiled
    return DecisionResult(compiled.evaluate(inputs), row.version)
