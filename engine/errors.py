"""Errors a caller of the engine can cause, each with a message in Chinese first, then English.

The web layer turns each class into one HTTP status; the command line into one line and exit 1.
"""
from __future__ import annotations


class EngineError(Exception):
    code = "error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class InvalidInput(EngineError):
    """Bad input: nothing was changed (HTTP 400)."""
    code = "invalid_input"


class NotFound(EngineError):
    code = "not_found"


class Forbidden(EngineError):
    code = "forbidden"


class Conflict(EngineError):
    """The case moved on (stale version) or the task is no longer ready (HTTP 409)."""
    code = "conflict"


class Unauthenticated(EngineError):
    code = "unauthenticated"
