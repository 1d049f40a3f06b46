"""The Flask application factory: one System per app, the REST API under /api/v1, a front page."""
from __future__ import annotations

from flask import Flask, render_template

from engine.config import Settings
from engine.system import System
from workflows import build_system

from . import api


def create_app(settings: Settings | None = None, system: System | None = None) -> Flask:
    """Build the app on `system`, or on a System built from `settings` (default: the environment).

    The schema is not migrated here: `fengqiao init` and `fengqiao serve` do that.
    """
    if system is None:
        system = build_system(settings)
    app = Flask(__name__)
    app.config.from_mapping(SECRET_KEY=system.settings.secret_key)
    app.json.ensure_ascii = False  # Chinese stays readable in every JSON response
    app.extensions[api.EXTENSION] = system

    app.register_blueprint(api.bp)

    @app.get("/")
    def index():
        return render_template("index.html", openapi_url=f"{api.URL_PREFIX}/openapi.json")

    return app
