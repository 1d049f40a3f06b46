"""The Flask application factory: the application layer's services, the REST API under /api/v1,
and the pages people use."""
from __future__ import annotations

from flask import Flask

from engine.config import Settings
from engine.system import System
from usecases import Services, build_services

from . import api


def create_app(settings: Settings | None = None, system: System | None = None,
               services: Services | None = None) -> Flask:
    """Build the app on `services`, on a System, or on a System built from `settings` (default: the
    environment). The schema is not migrated here: `fengqiao init` and `fengqiao serve` do that."""
    if services is None:
        services = build_services(settings, system)
    app = Flask(__name__)
    app.config.from_mapping(SECRET_KEY=services.system.settings.secret_key)
    app.json.ensure_ascii = False  # Chinese stays readable in every JSON response
    app.extensions[api.EXTENSION] = services

    app.register_blueprint(api.bp)
    from . import operations
    operations.install(app, services)
    from .pages import init_pages
    init_pages(app)
    return app
