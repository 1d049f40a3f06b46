"""Personal data in what people read (DOMAIN.md §6): the mechanisms.

- ID numbers are shown as their first 6 and last 4 characters (`110101********1234`) and phones as
  their first 3 and last 4 (`138****5678`). Who sees them unmasked, and when, is the application
  layer's decision (its authorization table); each unmasked look is an event in the case history.
- Some cases withhold who the parties are from some org units altogether (a case type names the
  keys that identify a party and the units, see `ProcessApplication.identity_keys`): for those
  units `without_identity` takes the keys out instead of masking them.

Masking works on field names wherever they occur in a case's data or its events, so it covers
every case type: `id_number` and `phone` anywhere.
"""
from __future__ import annotations

import hashlib
from typing import Any, Iterable, Mapping

ID_KEYS = frozenset({"id_number"})
PHONE_KEYS = frozenset({"phone"})


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


def without_identity(value: Any, identity_keys: Iterable[str], note: str) -> Any:
    """A copy with every identifying key (and ID numbers and phones) taken out, and `note` saying why
    where something was taken."""
    keys = frozenset(identity_keys)

    def strip(item: Any) -> Any:
        if isinstance(item, Mapping):
            out = {key: strip(inner) for key, inner in item.items()
                   if key not in keys and key not in ID_KEYS and key not in PHONE_KEYS}
            if len(out) != len(item) and any(key in keys for key in item):
                out["confidential"] = note
            return out
        if isinstance(item, list):
            return [strip(inner) for inner in item]
        return item

    return strip(value)


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


_PERSON_KEY_SALT = "fengqiao:person:"  # the stored digests were made with it (migration 0002 made them anew)
_PHONE_KEY_SALT = "fengqiao:phone:"


def person_key(id_number: str) -> str:
    """A digest of an ID number, to find a person's earlier cases without keeping a second copy of it."""
    normalised = id_number.strip().upper()
    return hashlib.sha256((_PERSON_KEY_SALT + normalised).encode("utf-8")).hexdigest()


def phone_key(phone: str) -> str:
    """A digest of a phone number (digits only), to find a case by the whole number someone types."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return hashlib.sha256((_PHONE_KEY_SALT + digits).encode("utf-8")).hexdigest()
