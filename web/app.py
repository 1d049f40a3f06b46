"""The Flask application factory: the application layer's services, the REST API under /api/v1,
and the pages people use."""
from __future__ import annotations

from flask import Flask, g

from engine.config import Settings
from engine.system import System
from usecases import Services, build_services, request_scope

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
    _one_request_scope(app)

    app.register_blueprint(api.bp)
    from . import operations
    operations.install(app, services)
    from .pages import init_pages
    init_pages(app)
    return app


def _one_request_scope(app: Flask) -> None:
    """Every request, API or page, reads the org tree and the user's relations to a case once
    (usecases/request_scope.py); registered first, so the sign-in's own reads are inside it."""
    @app.before_request
    def begin_request_scope():
        g.request_scope = request_scope.begin()

    @app.teardown_request
    def end_request_scope(_error=None):
        token = g.pop("request_scope", None)
        if token is not None:
            request_scope.end(token)
