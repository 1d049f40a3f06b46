"""A petition the office decides to mediate (Petition Work Regulation Art. 33) opens a mediation
case (DOMAIN.md §2) linked to it: the petitioners are its applicants, the other side is named in the
decision. The mediation case routes itself to the right level from the parties' places of residence
(its triage); when it closes, the petition receives `mediation_closed` with its outcome."""
from __future__ import annotations

from typing import Any, Mapping

PARTY_FIELDS = ("name", "id_number", "phone", "household_address", "residence_org")


def register_data(petition_id: int, petition: Mapping[str, Any]) -> dict[str, Any]:
    """The mediation `register` form (DOMAIN.md §7) for a petition decided as `mediate`."""
    mediation = petition.get("mediation") or {}
    parties = []
    for p in petition.get("petitioners") or []:
        party = {"side": "applicant", "name": p.get("name"), "id_number": p.get("id_number"), "phone": p.get("phone"),
                 "household_address": p.get("address"), "residence_org": petition.get("residence_org")}
        parties.append({k: v for k, v in party.items() if v not in (None, "")})
    for r in mediation.get("respondents") or []:
        party = {"side": "respondent", **{k: r.get(k) for k in PARTY_FIELDS}}
        parties.append({k: v for k, v in party.items() if v not in (None, "")})
    summary = petition.get("summary") or ""
    if mediation.get("note"):
        summary = f"{summary}\n信访部门转调解说明：{mediation['note']}"
    return {"parties": parties, "category": petition.get("category"), "summary": summary,
            "source": "department_assignment", "risk_level": mediation.get("risk_level") or "green",
            "petition_case_id": petition_id}
