"""A petition the office decides to mediate (Petition Work Regulation Art. 33) opens a mediation
case (DOMAIN.md §2) linked to it: the petitioners are its applicants; the other side is named in the
decision or, by default, is the unit the petition complains about. The mediation case routes itself
to the right level from the parties' places of residence (its triage), keeps the petitioners'
identity from the unit complained about as the petition does (the engine carries the linking case's
withheld units over), and when it closes the petition receives `mediation_closed` with its outcome."""
from __future__ import annotations

from typing import Any, Mapping

PARTY_FIELDS = ("name", "id_number", "phone", "household_address", "residence_org")


def register_data(petition_id: int, petition: Mapping[str, Any], units: Mapping[str, Any]) -> dict[str, Any]:
    """The mediation `register` form (DOMAIN.md §7) for a petition decided as `mediate`; `units` are the
    county's org units by code (with `name` and `level`)."""
    mediation = petition.get("mediation") or {}
    home = petition.get("residence_org")
    parties = []
    for p in petition.get("petitioners") or []:
        party = {"side": "applicant", "name": p.get("name"), "id_number": p.get("id_number"), "phone": p.get("phone"),
                 "household_address": p.get("address"), "residence_org": home}
        parties.append({k: v for k, v in party.items() if v not in (None, "")})
    respondents = list(mediation.get("respondents") or [])
    if not respondents and petition.get("respondent_unit") in units:
        unit = units[petition["respondent_unit"]]
        # A unit has no place of residence: it answers where the dispute is, in its own village if it is one.
        respondents = [{"name": unit.name, "residence_org": unit.code if unit.level == "village" else home}]
    for r in respondents:
        party = {"side": "respondent", **{k: r.get(k) for k in PARTY_FIELDS}}
        parties.append({k: v for k, v in party.items() if v not in (None, "")})
    summary = petition.get("summary") or ""
    if mediation.get("note"):
        summary = f"{summary}\n信访部门转调解说明：{mediation['note']}"
    return {"parties": parties, "category": petition.get("category"), "summary": summary,
            "source": "department_assignment", "risk_level": mediation.get("risk_level") or "green",
            "petition_case_id": petition_id}
