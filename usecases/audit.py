"""Use cases of the auditors: verifying the hash chains of the case histories."""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine.application import Actor
from engine.audit import verify_cases
from engine.errors import NotFound
from engine.store import Case

from . import authorization as authz
from .base import UseCases, check_id


class Audit(UseCases):
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
