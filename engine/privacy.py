"""Personal data in what people read (DOMAIN.md §6; Petition Work Regulation Art. 30).

- ID numbers are shown as their first 6 and last 4 characters (`110101********1234`) and phones as
  their first 3 and last 4 (`138****5678`), in case views and histories, to everyone. A handler of
  the case (below) may ask for the unmasked values; each time is a `pii_viewed` event in the
  case's history, written by the engine's `record_pii_view` command before the values are shown.
  Masked by default even for handlers (PIPL Art. 6, minimal access): an unmasked view is a
  deliberate act, and the history then says who looked and when.
- The unit a petition complains about (its `respondent_unit`) never sees who petitioned or their
  materials, not even masked (Art. 30): its members see the matter, not the person, and may never
  unmask.

Masking works on field names wherever they occur in a case's data or its events, so it covers
every case type: `id_number` and `phone` anywhere; `petitioners`, `materials`, `address`,
`residence_org` and `earlier_petitions` (who and where the petitioner is, and what else they
petitioned about) for the respondent unit.
"""
from __future__ import annotations

import hashlib
from typing import Any, Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from .application import Actor
from .store import HumanTask

ID_KEYS = frozenset({"id_number"})
PHONE_KEYS = frozenset({"phone"})
# Who the petitioner is, where they live, what they handed in, and their other petitions.
IDENTITY_KEYS = frozenset({"petitioners", "materials", "address", "residence_org", "earlier_petitions"})
CONFIDENTIAL_NOTE = ("信访人身份及材料对被反映单位保密（《信访工作条例》第三十条）/ the petitioner's identity and "
                     "materials are withheld from the unit complained about (Art. 30)")


def mask_id_number(value: str) -> str:
    """`110101199001011234` → `110101********1234`; anything shorter than 11 characters is all stars."""
    if len(value) < 11:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str) -> str:
    """`13812345678` → `138****5678`; anything shorter than 8 characters is all stars."""
    if len(value) < 8:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def masked(value: Any) -> Any:
    """A copy with every ID number and phone masked."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if key in ID_KEYS and isinstance(item, str):
                out[key] = mask_id_number(item)
            elif key in PHONE_KEYS and isinstance(item, str):
                out[key] = mask_phone(item)
            else:
                out[key] = masked(item)
        return out
    if isinstance(value, list):
        return [masked(item) for item in value]
    return value


def without_identity(value: Any) -> Any:
    """A copy with who the petitioner is (and their materials) taken out, for the unit complained about."""
    if isinstance(value, Mapping):
        out = {key: without_identity(item) for key, item in value.items()
               if key not in IDENTITY_KEYS and key not in ID_KEYS and key not in PHONE_KEYS}
        if len(out) != len(value) and any(key in IDENTITY_KEYS for key in value):
            out["confidential"] = CONFIDENTIAL_NOTE
        return out
    if isinstance(value, list):
        return [without_identity(item) for item in value]
    return value


def personal_fields(value: Any, path: str = "") -> list[str]:
    """Where `value` holds ID numbers and phones, as paths (`petitioners[0].id_number`): what an
    unmasked view shows, recorded in its `pii_viewed` event."""
    found = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in ID_KEYS | PHONE_KEYS and isinstance(item, str) and item:
                found.append(here)
            else:
                found += personal_fields(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += personal_fields(item, f"{path}[{i}]")
    return found


def complained_about(viewer: Actor, data: Mapping[str, Any] | None) -> bool:
    """True when the viewer belongs to the unit the case complains about (its `respondent_unit`)."""
    unit = (data or {}).get("respondent_unit")
    return bool(unit) and viewer.org_unit == unit


def for_viewer(data: Any, viewer: Actor, case_data: Mapping[str, Any] | None, *, unmasked: bool = False) -> Any:
    """What `viewer` may see of `data` (a case's data, or one of its events' data)."""
    if complained_about(viewer, case_data):
        return without_identity(data)
    return data if unmasked else masked(data)


def is_handler(session: Session, case: Mapping[str, Any], actor: Actor) -> bool:
    """The case's handlers: its owner leader, whoever worked one of its tasks, and whoever may work
    one of its open tasks (the task's role, in the task's unit, not claimed by someone else)."""
    if case.get("owner_leader") and case["owner_leader"] == actor.username:
        return True
    worked = (HumanTask.assignee == actor.username) | (HumanTask.completed_by == actor.username)
    may_work = ((HumanTask.status == "ready") & HumanTask.role.in_(list(actor.roles))
                & or_(HumanTask.org_unit.is_(None), HumanTask.org_unit == actor.org_unit)
                & HumanTask.assignee.is_(None))
    found = session.scalar(select(HumanTask.id).where(HumanTask.case_id == case["id"], or_(worked, may_work))
                           .limit(1))
    return found is not None


def may_unmask(session: Session, case: Mapping[str, Any], actor: Actor) -> bool:
    """Handlers may see unmasked personal data, except members of the unit complained about."""
    return not complained_about(actor, case.get("data")) and is_handler(session, case, actor)


_PERSON_KEY_SALT = "fengqiao:petitioner:"


def person_key(id_number: str) -> str:
    """A digest of an ID number, to find a person's earlier cases without keeping a second copy of it."""
    normalised = id_number.strip().upper()
    return hashlib.sha256((_PERSON_KEY_SALT + normalised).encode("utf-8")).hexdigest()
