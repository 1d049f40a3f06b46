"""Real servers for the channels: an SMTP server (aiosmtpd) and an HTTP SMS gateway, on localhost,
each able to refuse the first messages; and the county of tests/deadlines with its settings varied."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.deadlines.conftest import (  # noqa: F401 (fixtures)
    _notification_log_in_tmp, build, county, postgres_url, schedulers, seed_county)

USER, PASSWORD = "fengqiao", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailServer:
    """Accepts mail and keeps it; `refuse` messages are answered first with `refusal`."""

    def __init__(self, refuse: int = 0, refusal: str = "451 4.3.0 Try again later"):
        self.refuse, self.refusal = refuse, refusal
        self.received: list[email.message.EmailMessage] = []
        self.refused = 0
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            self.refuse -= 1
            self.refused += 1
            return self.refusal
        self.received.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted"

    @property
    def port(self) -> int:
        return self.controller.port


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.login == USER.encode() \
        and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # not handled: aiosmtpd answers 535 itself


@pytest.fixture(scope="session")
def certificates(tmp_path_factory):
    """A county CA and a certificate for 127.0.0.1, for the TLS modes."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    path = tmp_path_factory.mktemp("ca") / "county-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    return path, context


@pytest.fixture
def mail_server(certificates):
    """mail_server(refuse=0, tls=None|"starttls"|"tls", login=False) → a running MailServer."""
    running = []

    def start(refuse: int = 0, refusal: str = "451 4.3.0 Try again later", tls: str | None = None,
              login: bool = False) -> MailServer:
        server = MailServer(refuse, refusal)
        kwargs = {}
        if tls == "starttls":
            kwargs.update(tls_context=certificates[1], require_starttls=True)
        elif tls == "tls":
            kwargs.update(ssl_context=certificates[1])
        if login:  # (aiosmtpd sees STARTTLS but not an implicit-TLS socket as encrypted)
            kwargs.update(authenticator=_authenticator, auth_required=True, auth_require_tls=tls == "starttls")
        server.controller = Controller(server, hostname="127.0.0.1", port=free_port(), **kwargs)
        server.controller.start()
        running.append(server)
        return server

    yield start
    for server in running:
        server.controller.stop()


class SmsGateway:
    """A county SMS gateway: records each JSON POST; answers `fail` requests with 503 first."""

    def __init__(self, fail: int = 0):
        self.fail = fail
        self.requests: list[tuple[dict, dict]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if gateway.fail:
                    gateway.fail -= 1
                    self.send_response(503)
                else:
                    gateway.requests.append((body, dict(self.headers)))
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/send"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def sms_gateway():
    gateways = []

    def start(fail: int = 0) -> SmsGateway:
        gateway = SmsGateway(fail)
        gateways.append(gateway)
        return gateway

    yield start
    for gateway in gateways:
        gateway.server.shutdown()
        gateway.server.server_close()


@pytest.fixture
def county_with(database_url, tmp_path):
    """county_with(**settings): the county of tests/deadlines with some settings changed."""
    systems = []

    def make(**settings):
        settings.setdefault("notification_log", tmp_path / "notifications.log")
        system = build(database_url, **settings)
        system.people = seed_county(system)
        systems.append(system)
        return system

    yield make
    for system in systems:
        system.close()
