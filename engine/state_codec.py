"""How a case's workflow state is stored: `case_record.state` as bytes, compressed JSON.

    encode(state: dict) -> bytes        the stored form of a state (SpiffWorkflow's dict, as the
                                        engine's serializer gives it)
    decode(stored) -> dict              the dict back, from any stored form (an empty one: {})

Stored forms, told apart by their first byte:
- b"\\x01" + zlib(JSON as UTF-8): what `encode` writes (format 1);
- plain JSON text (a str, or bytes starting with "{"): the layout before migration 0010, still read,
  so a store part-way through that migration (or a row copied in by an older tool) works.

JSON is written with orjson (several times faster than the standard library for a workflow state),
falling back to the standard library for what orjson refuses (integers beyond 64 bits). zlib level 1:
a state of about 13.5 KiB of JSON becomes about 2.7 KiB in about a tenth of a millisecond; higher
levels save a further tenth of the bytes at two to four times the time, on every command.
"""
from __future__ import annotations

import json
import zlib
from typing import Any

import orjson

FORMAT_ZLIB_JSON = 1
_MARK = bytes([FORMAT_ZLIB_JSON])
LEVEL = 1


def dumps(value: Any) -> bytes:
    """`value` as compact UTF-8 JSON (keys in insertion order)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # e.g. an integer beyond 64 bits, which the standard library writes as it is
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_text(value: Any) -> str:
    """How the store writes its JSON columns (the engines' `json_serializer`, engine/db.py): compact, and
    Chinese as UTF-8, not as \\u escapes (a third of the bytes). Any JSON reads back the same."""
    return dumps(value).decode("utf-8")


def loads(text: bytes | str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # what orjson cannot read but the standard library wrote (big integers)
        return json.loads(text)


def encode(state: dict[str, Any]) -> bytes:
    """The stored form of a workflow state (format 1: a marker byte, then zlib-compressed JSON)."""
    return _MARK + zlib.compress(dumps(state), LEVEL)


def encode_json(text: bytes | str) -> bytes:
    """The stored form of a state given as JSON text (what the layout before 0010 held)."""
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return _MARK + zlib.compress(raw, LEVEL)


def decode_json(stored: bytes | str | memoryview | None) -> bytes:
    """The state as UTF-8 JSON, from any stored form (b"" for none)."""
    if stored is None:
        return b""
    if isinstance(stored, str):
        return stored.encode("utf-8")
    stored = bytes(stored)
    if not stored:
        return b""
    if stored[0] == FORMAT_ZLIB_JSON:
        return zlib.decompress(stored[1:])
    if stored[:1] in (b"{", b" "):
        return stored
    raise ValueError(f"unknown workflow state format {stored[0]}")


def decode(stored: bytes | str | memoryview | None) -> dict[str, Any]:
    """The workflow state as a dict, from any stored form ({} for none)."""
    raw = decode_json(stored)
    return loads(raw) if raw else {}


def is_current(stored: bytes | str | memoryview | None) -> bool:
    """True when `stored` is in the newest format (or empty): nothing for a migration to convert."""
    if stored is None:
        return True
    if isinstance(stored, str):
        return not stored
    stored = bytes(stored)
    return not stored or stored[0] == FORMAT_ZLIB_JSON
