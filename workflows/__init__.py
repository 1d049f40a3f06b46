"""The process application: what each case type adds to the generic engine."""
from .registry import build_system

__all__ = ["build_system"]
