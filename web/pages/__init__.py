"""The pages people use (server-rendered Flask + Jinja2): one blueprint module per area.

A page module defines `bp = Blueprint("<area>", __name__)` and is named in `PAGE_MODULES`; its
templates live in `web/templates/<area>/` and extend `base.html`. Every page requires a signed-in
user unless its view is marked `@web.security.public`; a view reads the user as `g.actor` (the
`engine.application.Actor` its commands run as) and `g.user` (a `usecases.sign_in.SignedInUser`:
name, unit, language). Forms carry `<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">`.
Text is marked for translation as `web/i18n.py` says.
"""
from __future__ import annotations

import importlib

from flask import Flask, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound as RouteNotFound

from engine.errors import Conflict, EngineError, Forbidden, InvalidInput, NotFound, Unauthenticated
from usecases.sign_in import SignIns
from web.api.http import IdConverter
from web.i18n import template_helpers
from web.security import CSRFError, init_security, is_api_request, safe_next

from . import auth, home  # noqa: F401  (the other page modules are imported by name)

PAGE_MODULES = ("auth", "home", "tasks", "cases", "petitions", "leader", "subsidies", "dashboard", "admin", "inbox",
                "audit", "definitions",
                "documents",  # printed documents (issue 14)
                "reports",  # quarterly statistics (issue 14)
                "zero_reports")  # the monthly zero report (issue 14)
SYSTEM = "fengqiao"  # where the app keeps its Services (app.extensions)
_INSTALLED = "fengqiao.pages"
_ERROR_TEMPLATES = {400: "errors/400.html", 403: "errors/403.html", 404: "errors/404.html",
                    409: "errors/409.html", 413: "errors/413.html", 500: "errors/500.html"}
_STATUS_OF = ((InvalidInput, 400), (Forbidden, 403), (NotFound, 404), (Conflict, 409))


def init_pages(app: Flask) -> None:
    """Register the page blueprints, CSRF protection, security headers, error pages, the language
    helpers and the loading of the signed-in user. Call it after registering the API blueprints."""
    if _INSTALLED in app.extensions:
        return
    held = app.extensions[SYSTEM]  # the application layer's Services (or, bare, a System)
    system = getattr(held, "system", held)
    app.extensions[auth.SIGN_INS] = getattr(held, "sign_ins", None) or SignIns(system)
    # Ids in page addresses are the API's: 1 to 2^63-1, the stores' range; a longer number is no page (404).
    app.url_map.converters.setdefault("id", IdConverter)
    init_security(app, system.settings)
    app.before_request(auth.load_signed_in_user)
    app.before_request(auth.choose_language_and_text_size)
    app.before_request(auth.require_sign_in)
    app.context_processor(template_helpers)
    app.context_processor(home.navigation)
    app.context_processor(lambda: {"nav_counts": {}, "openapi_url": "/api/v1/openapi.json"})
    for name in PAGE_MODULES:
        app.register_blueprint(importlib.import_module(f"{__name__}.{name}").bp)
    _register_error_pages(app)
    app.extensions[_INSTALLED] = True


# --- error pages ------------------------------------------------------------------------------
def _status_of(e: EngineError) -> int:
    return next((status for cls, status in _STATUS_OF if isinstance(e, cls)), 400)


def error_page(status: int, message: str | None = None, *, csrf: bool = False):
    template = _ERROR_TEMPLATES.get(status, "errors/500.html" if status >= 500 else "errors/400.html")
    back = safe_next(_referrer_path(), default="")
    return render_template(template, status=status, message=message, back=back, csrf=csrf,
                           limit=size_text(current_app.config.get("MAX_CONTENT_LENGTH"))), status


def size_text(size: int | None) -> str:
    """1048576 → "1 MB"; the request-size limit as people read it."""
    if not size:
        return ""
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MB"
    return f"{size / 1024:.0f} KB"


def _referrer_path() -> str:
    """The previous page of this site, for a plain "back" link (no script needed)."""
    referrer = request.referrer or ""
    root = request.host_url
    if not referrer.startswith(root):
        return ""
    path = "/" + referrer[len(root):]
    # A form's error goes back to the form; a page's own address would only show this error again.
    return "" if request.method == "GET" and path == request.full_path.rstrip("?") else path


def _register_error_pages(app: Flask) -> None:
    # The API answers its errors in JSON through its own blueprint handlers, which Flask prefers for
    # its requests. Unknown addresses and methods belong to no blueprint, so their app-wide handlers
    # are shared: whatever the API registered for them still answers under /api/v1.
    api_handlers = {code: app.error_handler_spec[None].get(code, {}).get(cls)
                    for code, cls in ((404, RouteNotFound), (405, MethodNotAllowed))}

    def unknown_address(e: RouteNotFound):
        if is_api_request():
            return api_handlers[404](e) if api_handlers[404] else e
        return error_page(404)

    def method_not_allowed(e: MethodNotAllowed):
        if is_api_request():
            return api_handlers[405](e) if api_handlers[405] else e
        return error_page(405)

    def http_error(e: HTTPException):
        if is_api_request():
            return e
        if isinstance(e, CSRFError):
            return error_page(400, csrf=True)
        return error_page(e.code or 500)

    def engine_error(e: EngineError):
        if is_api_request():  # only where no API blueprint is active: answer in the API's shape all the same
            status = 401 if isinstance(e, Unauthenticated) else _status_of(e)
            return {"error": {"code": e.code, "message": e.message, "fields": e.fields}}, status
        if isinstance(e, Unauthenticated):
            auth.forget_user()  # or /login would send a still signed-in user straight back here
            return redirect(auth.login_url())
        status = _status_of(e)
        # A case or task of another jurisdiction must look exactly like a missing one: no message.
        return error_page(status, None if status == 404 else e.message)

    app.register_error_handler(RouteNotFound, unknown_address)
    app.register_error_handler(MethodNotAllowed, method_not_allowed)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(EngineError, engine_error)
