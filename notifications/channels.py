"""How a rendered notification leaves the system: e-mail over SMTP, SMS through an HTTP gateway,
or a log file (the default for both until a county configures its servers). The in-app channel
needs no adapter: the dispatcher writes the inbox row in the transaction that marks it sent.

A channel raises `DeliveryFailed` with `retry=True` when trying again later may help (a 4xx SMTP
reply, a connection error, an HTTP 5xx or 429) and `retry=False` when it cannot (no address, a
5xx SMTP reply, an HTTP 4xx).
"""
from __future__ import annotations

import hashlib
import json
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from pathlib import Path
from typing import Any, Protocol

from engine.config import Settings

from .render import Rendered


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool):
        super().__init__(message)
        self.retry = retry


@dataclass(frozen=True)
class Recipient:
    username: str
    display_name: str
    email: str | None
    phone: str | None


class Channel(Protocol):
    name: str

    def send(self, to: Recipient, message: Rendered, key: str) -> None:
        """Deliver or raise DeliveryFailed; `key` is the outbox idempotency key (for the receiver to deduplicate)."""


def message_id(key: str) -> str:
    """A stable Message-ID per outbox message, so a mail system can drop a duplicate delivery."""
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@fengqiao>"


class LogFile:
    """Append each message as one JSON line to a file (FENGQIAO_NOTIFICATION_LOG)."""
    _lock = threading.Lock()

    def __init__(self, name: str, path: Path, address: str):
        self.name = name
        self.path = Path(path)
        self.address = address  # the Recipient attribute this channel would send to

    def send(self, to: Recipient, message: Rendered, key: str) -> None:
        address = getattr(to, self.address)
        if not address:
            what = ("邮箱", "e-mail address") if self.address == "email" else ("手机号", "mobile number")
            raise DeliveryFailed(f"{to.username} 没有{what[0]} / {to.username} has no {what[1]}", retry=False)
        line = json.dumps({"at": datetime.now(timezone.utc).isoformat(), "channel": self.name, "to": address,
                           "username": to.username, "key": key, "subject": message.subject,
                           "text": message.text if self.name == "email" else message.sms}, ensure_ascii=False)
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as out:
                    out.write(line + "\n")
        except OSError as exc:
            raise DeliveryFailed(f"cannot write {self.path}: {exc.strerror or exc}", retry=True) from None


class Smtp:
    """E-mail over SMTP: STARTTLS (default), implicit TLS or plain, with optional login."""
    name = "email"

    def __init__(self, settings: Settings):
        self.s = settings

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.s.smtp_ca_file:
            context.load_verify_locations(cafile=self.s.smtp_ca_file)
        return context

    def _message(self, to: Recipient, message: Rendered, key: str) -> EmailMessage:
        mail = EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.s.smtp_from
        mail["To"] = formataddr((to.display_name, to.email))
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = message_id(key)
        mail["X-Fengqiao-Key"] = key
        mail.set_content(message.subject + "\n\n" + message.text)
        mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, to: Recipient, message: Rendered, key: str) -> None:
        if not to.email:
            raise DeliveryFailed(f"{to.username} 没有邮箱 / {to.username} has no e-mail address", retry=False)
        mail = self._message(to, message, key)
        try:
            if self.s.smtp_security == "tls":
                server = smtplib.SMTP_SSL(self.s.smtp_host, self.s.smtp_port, timeout=self.s.smtp_timeout,
                                          context=self._tls())
            else:
                server = smtplib.SMTP(self.s.smtp_host, self.s.smtp_port, timeout=self.s.smtp_timeout)
            with server:
                if self.s.smtp_security == "starttls":
                    server.starttls(context=self._tls())
                if self.s.smtp_username:
                    server.login(self.s.smtp_username, self.s.smtp_password)
                server.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryFailed(f"SMTP refused {to.email}: {exc.recipients}",
                                 retry=all(400 <= c < 500 for c in codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            # A configuration problem an admin fixes; keep retrying meanwhile.
            raise DeliveryFailed(f"SMTP login failed: {exc.smtp_code} {_text(exc.smtp_error)}", retry=True) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryFailed(f"SMTP {exc.smtp_code} {_text(exc.smtp_error)}",
                                 retry=400 <= exc.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, reset, timed out, TLS failure …
            raise DeliveryFailed(f"SMTP {self.s.smtp_host}:{self.s.smtp_port}: {exc}", retry=True) from None


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def fill_template(template: Any, values: dict[str, str]) -> Any:
    """The SMS body: the configured JSON with every {{name}} in its strings replaced (values are
    inserted into parsed strings, so a message can never break the JSON)."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{{" + name + "}}", value)
        return template
    if isinstance(template, list):
        return [fill_template(v, values) for v in template]
    if isinstance(template, dict):
        return {k: fill_template(v, values) for k, v in template.items()}
    return template


class SmsGateway:
    """SMS through a county's HTTP gateway: a JSON POST of FENGQIAO_SMS_BODY to FENGQIAO_SMS_URL."""
    name = "sms"

    def __init__(self, settings: Settings):
        self.s = settings
        self.template = json.loads(settings.sms_body)
        self.headers = {str(k): str(v) for k, v in json.loads(settings.sms_headers).items()}

    def send(self, to: Recipient, message: Rendered, key: str) -> None:
        if not to.phone:
            raise DeliveryFailed(f"{to.username} 没有手机号 / {to.username} has no mobile number", retry=False)
        body = fill_template(self.template, {"phone": to.phone, "text": message.sms, "key": key,
                                             "username": to.username})
        request = urllib.request.Request(self.s.sms_url, data=json.dumps(body, ensure_ascii=False).encode(),
                                         method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "Idempotency-Key": key, **self.headers})
        try:
            with urllib.request.urlopen(request, timeout=self.s.sms_timeout) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"SMS gateway HTTP {exc.code}", retry=exc.code >= 500 or exc.code == 429) from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryFailed(f"SMS gateway {self.s.sms_url}: {getattr(exc, 'reason', exc)}", retry=True) from None


def external_channels(settings: Settings) -> dict[str, Channel]:
    """The e-mail and SMS channels as configured."""
    email = Smtp(settings) if settings.email_backend == "smtp" else LogFile("email", settings.notification_log, "email")
    sms = SmsGateway(settings) if settings.sms_backend == "http" else LogFile("sms", settings.notification_log, "phone")
    return {"email": email, "sms": sms}
