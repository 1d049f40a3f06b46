"""The `fengqiao` command line: one module per area (service, people, records), `main` the entry point."""
from .main import build_parser, main

__all__ = ["main", "build_parser"]
