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
