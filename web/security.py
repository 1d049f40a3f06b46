"""What keeps the pages safe to use in a browser: CSRF tokens on every form, the session cookie and
its idle expiry, the security headers of every response, and the request-size limit.

The REST API under /api/v1 needs no CSRF token: it authenticates each request with a bearer token,
so a browser's cookies give an attacker nothing there, and its clients send none. Its responses get
headers of their own (API_HEADERS): they are JSON that no browser should render, frame or keep.
"""
from __future__ import annotations

import hmac
import secrets
import time
from typing import Callable
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from engine.config import Settings

API_PREFIX = "/api/v1"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SESSION_USER = "user"  # the signed-in user's name, the only thing a session says about who it is
BROWSER_CHOICES = ("lang", "size")  # what a session keeps when its user signs out or it expires
_CSRF_KEY = "_csrf"
_SEEN_KEY = "_seen"
_SEEN_RESOLUTION = 60  # seconds: the last-seen time is rewritten at most this often (a new cookie each time)
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


# Every API response: JSON is never rendered, framed or sniffed, and none is kept by a browser or a
# proxy (a case view, `/cases/{id}/unmasked`, a task's parties: most of them carry personal data).
API_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


class CSRFError(BadRequest):
    """A form came back without the token of the page that showed it: refused, nothing changed."""
    description = "CSRF token missing or wrong"


def is_api_request() -> bool:
    """The REST API's paths: the same test as the API's own error handlers make."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def public(view: Callable) -> Callable:
    """Mark a page view as open without signing in (every other page requires it)."""
    view.public_page = True
    return view


def is_public(view: Callable | None) -> bool:
    return bool(getattr(view, "public_page", False))


def csrf_token() -> str:
    """The token every form of this session carries in its hidden `csrf_token` field."""
    token = session.get(_CSRF_KEY)
    if not token:
        token = session[_CSRF_KEY] = secrets.token_urlsafe(32)
    return token


def safe_next(target: str | None, default: str = "/") -> str:
    """`target` when it is a path on this site, else `default`: a sign-in never sends anyone elsewhere."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(c) < 32 for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def end_session() -> None:
    """Forget who this session is (and its CSRF token), keeping only the browser's choices."""
    kept = {key: session[key] for key in BROWSER_CHOICES if key in session}
    session.clear()
    session.update(kept)


class _SessionInterface(SecureCookieSessionInterface):
    """The session cookie is Secure whenever the request came over HTTPS, not only when configured."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


def init_security(app: Flask, settings: Settings) -> None:
    """Cookie settings, the CSRF check and idle expiry before every page request, headers after it."""
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
                      SESSION_COOKIE_SECURE=settings.session_cookie_secure)
    limit_request_size(app, settings)
    app.session_interface = _SessionInterface()
    idle_seconds = settings.session_idle_hours * 3600

    @app.before_request
    def check_csrf_token():
        if request.method not in _UNSAFE_METHODS or is_api_request():
            return None
        sent = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
        expected = session.get(_CSRF_KEY) or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            raise CSRFError()
        return None

    # Checked after the CSRF token, so a form sent just after the session expired is still recognised
    # as ours and its sender is asked to sign in again rather than told the form was forged.
    @app.before_request
    def expire_idle_session():
        if is_api_request():
            return None
        seen = session.get(_SEEN_KEY)
        if seen is not None and _wall_clock() - seen > idle_seconds:
            g.session_expired = SESSION_USER in session
            end_session()
        return None

    @app.after_request
    def mark_seen_and_add_headers(response):
        if is_api_request():
            for name, value in API_HEADERS.items():
                response.headers[name] = value
            return response
        if session:
            # Real time, not the engine's clock: moving the simulated clock for a training run must
            # not sign everyone out.
            now = _wall_clock()
            seen = session.get(_SEEN_KEY)
            if seen is None or now - seen >= _SEEN_RESOLUTION:
                session[_SEEN_KEY] = now
        for name, value in PAGE_HEADERS.items():
            response.headers.setdefault(name, value)
        if g.get("user") is not None and request.endpoint != "static":
            response.headers["Cache-Control"] = "no-store"  # pages of a signed-in user show personal data
            response.vary.add("Cookie")
        return response

    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD


def limit_request_size(app: Flask, settings: Settings) -> None:
    """Refuse a request body larger than FENGQIAO_MAX_REQUEST_BYTES with 413 before anything reads it
    (a declared length is refused at once; a body without one is cut off at the limit by Werkzeug)."""
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes

    @app.before_request
    def refuse_large_body():
        if request.content_length is not None and request.content_length > settings.max_request_bytes:
            _discard_body(request.environ, request.content_length, settings.max_request_bytes)
            raise RequestEntityTooLarge()
        return None


DRAIN_FACTOR = 8  # a body up to 8 × the limit is read and thrown away so that its sender gets the answer


def _discard_body(environ: dict, length: int, limit: int) -> None:
    """Read a refused body through and drop it, 64 KiB at a time (nothing is kept), when it is at most
    DRAIN_FACTOR times the limit. A server that closes a connection whose body is still unread makes
    the kernel answer with a reset, and a client still sending then sees "connection reset" or a broken
    pipe instead of the 413 page that says what happened (waitress reads a body before the app runs;
    gunicorn does not). A larger declared body is not read: the connection is closed on it."""
    if length > DRAIN_FACTOR * max(limit, 1):
        return
    stream = environ.get("wsgi.input")
    left = length
    try:
        while stream is not None and left > 0:
            chunk = stream.read(min(left, 65536))
            if not chunk:
                break
            left -= len(chunk)
    except OSError:  # the client went away: nobody is left to answer
        pass


def _wall_clock() -> float:
    return time.time()
