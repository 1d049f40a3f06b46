"""How the page tests build the web app: in one place, so a change of `create_app` is one edit."""
from __future__ import annotations

from flask import Flask


def page_app(system) -> Flask:
    from web.app import create_app
    return create_app(system=system)
