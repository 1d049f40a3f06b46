"""Every setting of fengqiao in one place, read from FENGQIAO_* environment variables."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from datetime import time
from pathlib import Path

_TRUE = {"1", "true", "yes", "on"}


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in _TRUE


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///instance/fengqiao.db"
    simulated_clock: bool = False
    bpmn_dir: Path = field(default_factory=lambda: Path(__file__).resolve().parent.parent / "bpmn")
    secret_key: str = "dev-only-change-me"
    timezone: str = "Asia/Shanghai"
    sqlite_busy_timeout_ms: int = 30000
    # WAL with NORMAL: a command that returned survives a crash of the process, and the store is
    # never corrupted; a power cut or OS crash may lose the last commits before a checkpoint.
    # FULL also survives that, for an fsync per commit (measured in bench/lifecycle.py).
    sqlite_synchronous: str = "NORMAL"
    # Pages the write-ahead log may hold before a commit copies them into the database file (SQLite's
    # wal_autocheckpoint; its own default is 1000). A checkpoint fsyncs the log and the database: with
    # NORMAL, what a power cut may lose is at most what came after the last one (and the OS had not written).
    sqlite_wal_autocheckpoint: int = 10000
    workflow_cache_size: int = 256
    # PostgreSQL: each process's connection pool (engine/db.py). A process holds at most
    # db_pool_size + db_max_overflow connections; one waiting longer than db_pool_timeout fails.
    # 10 kept open: a serving process's 8 request threads and its scheduler find one without opening a
    # connection (an overflow connection is closed when returned, so under load with 5 kept a worker
    # opened about one a second, each a new PostgreSQL backend: the load test's slowest requests).
    db_pool_size: int = 10
    db_max_overflow: int = 5
    db_pool_timeout: float = 30.0
    base_url: str = "http://127.0.0.1:5000"
    # --- deadlines, reminders, the scheduler (engine/scheduler.py, engine/reminders.py) -----------
    scheduler_poll_seconds: float = 1.0  # look for new deadlines / a moved simulated clock this often
    scheduler_lease_seconds: float = 15.0  # SQLite: a standby scheduler takes over this long after a crash
    scheduler_in_serve: bool = True  # `fengqiao serve` runs the scheduler in-process
    sweep_workers: int = 4  # PostgreSQL: cases fired in parallel by one sweep (SQLite: always one)
    working_hours: str = "08:30-17:30"  # non-urgent reminders wait for these hours of working days
    digest_time: str = "08:00"  # the case owners' digest, on working days
    digest_due_days: int = 7
    backlog_days: int = 90  # a case open longer than this is backlog (积案)
    # Who supervises an overdue step, per case type ("*": the others): `head` = the unit heads
    # (users flagged unit_head) of the task's unit, else of the nearest unit above it;
    # `role:CODE` = the users with that role there (the petition office).
    supervisors: str = ""  # overrides of each case type's own default (ProcessApplication.supervisor)
    # --- the outbox and its channels (notifications/) -----------------------------------------------
    outbox_max_attempts: int = 8
    outbox_retry_seconds: float = 30.0  # back-off: this, doubled after every failed attempt …
    outbox_retry_max_seconds: float = 3600.0  # … up to this
    notification_log: Path = Path("instance/notifications.log")  # the `log` backends write here
    email_backend: str = "log"  # log | smtp
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls | none
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "fengqiao@localhost"
    smtp_timeout: float = 30.0
    smtp_ca_file: str = ""  # trust this CA (a county's own) besides the system's
    sms_backend: str = "log"  # log | http
    sms_url: str = ""
    sms_body: str = '{"to": "{{phone}}", "text": "{{text}}", "id": "{{key}}"}'  # JSON; {{…}} filled in
    sms_headers: str = "{}"  # JSON object of extra HTTP headers, e.g. the gateway's token
    sms_timeout: float = 15.0
    # --- the web pages' sessions and sign-in (web/security.py, usecases/sign_in.py) -----------------
    session_idle_hours: float = 8.0  # a page session unused this long must sign in again
    session_cookie_secure: bool = False  # always mark the cookie Secure (behind a TLS proxy); HTTPS requests get it anyway
    signin_max_failures: int = 5  # failed sign-ins, per account and per client address, within …
    signin_lock_minutes: float = 15.0  # … this many minutes lock it for this many minutes
    # --- API tokens (engine/accounts.py) ---------------------------------------------------------------
    token_days: int = 90  # a new token's lifetime unless `token create --days N` says otherwise
    # --- operations: responses, health and metrics (web/security.py, web/operations.py) -------------
    max_request_bytes: int = 1024 * 1024  # a larger request body is refused with 413, unread
    health_sweep_max_age_seconds: float = 60.0  # /healthz: 503 when no scheduler has swept for this long
    health_outbox_max_age_seconds: float = 300.0  # … or messages are due and no dispatcher ran for this long
    metrics_token: str = ""  # /metrics: unset = loopback clients only; set = this bearer token, from anywhere
    # --- the printed papers (workflows/documents/) ------------------------------------------------------
    county_name: str = ""  # printed atop the papers; empty: the name of the county's org unit
    seal_text: str = "（盖章）"  # printed in each paper's seal block, beside the issuing body's name
    documents_dir: Path | None = None  # a county's own copies of templates (and paper.css), searched first

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if environ is None else environ
        values: dict = {}
        if "FENGQIAO_DATABASE_URL" in env:
            values["database_url"] = env["FENGQIAO_DATABASE_URL"]
        if "FENGQIAO_SIMULATED_CLOCK" in env:
            values["simulated_clock"] = _flag(env["FENGQIAO_SIMULATED_CLOCK"])
        if "FENGQIAO_BPMN_DIR" in env:
            values["bpmn_dir"] = Path(env["FENGQIAO_BPMN_DIR"])
        if "FENGQIAO_SECRET_KEY" in env:
            values["secret_key"] = env["FENGQIAO_SECRET_KEY"]
        if "FENGQIAO_WORKFLOW_CACHE_SIZE" in env:
            values["workflow_cache_size"] = int(env["FENGQIAO_WORKFLOW_CACHE_SIZE"])
        if "FENGQIAO_SQLITE_SYNCHRONOUS" in env:
            values["sqlite_synchronous"] = env["FENGQIAO_SQLITE_SYNCHRONOUS"].upper()
        if "FENGQIAO_SQLITE_WAL_AUTOCHECKPOINT" in env:
            values["sqlite_wal_autocheckpoint"] = int(env["FENGQIAO_SQLITE_WAL_AUTOCHECKPOINT"])
        if "FENGQIAO_BASE_URL" in env:
            values["base_url"] = env["FENGQIAO_BASE_URL"]
        if "FENGQIAO_SESSION_IDLE_HOURS" in env:
            values["session_idle_hours"] = float(env["FENGQIAO_SESSION_IDLE_HOURS"])
        if "FENGQIAO_SESSION_COOKIE_SECURE" in env:
            values["session_cookie_secure"] = _flag(env["FENGQIAO_SESSION_COOKIE_SECURE"])
        if "FENGQIAO_SIGNIN_MAX_FAILURES" in env:
            values["signin_max_failures"] = int(env["FENGQIAO_SIGNIN_MAX_FAILURES"])
        if "FENGQIAO_SIGNIN_LOCK_MINUTES" in env:
            values["signin_lock_minutes"] = float(env["FENGQIAO_SIGNIN_LOCK_MINUTES"])
        if "FENGQIAO_TOKEN_DAYS" in env:
            values["token_days"] = int(env["FENGQIAO_TOKEN_DAYS"])
        for name, (attribute, parse) in _DEADLINE_AND_NOTIFICATION_ENV.items():
            if name in env:
                values[attribute] = parse(env[name])
        for name, (attribute, parse) in _DOCUMENT_ENV.items():
            if name in env:
                values[attribute] = parse(env[name])
        values.update(overrides)
        return replace(cls(), **values)

    def __post_init__(self):
        if self.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("FENGQIAO_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")
        if self.sqlite_wal_autocheckpoint < 1:
            raise ValueError("FENGQIAO_SQLITE_WAL_AUTOCHECKPOINT must be a positive number of pages")
        if self.session_idle_hours <= 0 or self.signin_lock_minutes <= 0 or self.signin_max_failures < 1:
            raise ValueError("FENGQIAO_SESSION_IDLE_HOURS and FENGQIAO_SIGNIN_LOCK_MINUTES must be positive, "
                             "FENGQIAO_SIGNIN_MAX_FAILURES at least 1")
        if not 1 <= self.token_days <= 3650:
            raise ValueError("FENGQIAO_TOKEN_DAYS must be from 1 to 3650")
        _check_deadline_and_notification_settings(self)
        if self.documents_dir is not None and not Path(self.documents_dir).is_dir():
            raise ValueError(f"FENGQIAO_DOCUMENTS_DIR: {self.documents_dir} is not a folder")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    # --- parsed forms of the deadline and notification settings ------------------------------------
    @property
    def working_hours_range(self) -> tuple[time, time]:
        return _clock_range(self.working_hours, "FENGQIAO_WORKING_HOURS")

    @property
    def digest_at(self) -> time:
        return _clock_time(self.digest_time, "FENGQIAO_DIGEST_TIME")

    @property
    def supervisor_rules(self) -> dict[str, tuple[str, str | None]]:
        """{case type or "*": ("head", None) | ("role", role code)}: what FENGQIAO_SUPERVISORS sets."""
        rules: dict[str, tuple[str, str | None]] = {}
        for part in self.supervisors.replace(",", ";").split(";"):
            if not part.strip():
                continue
            case_type, sep, rule = (x.strip() for x in part.partition("="))
            if not sep or not case_type or not rule:
                raise ValueError(f"FENGQIAO_SUPERVISORS: expected TYPE=head or TYPE=role:CODE, not {part!r}")
            rules[case_type] = parse_supervisor(rule)
        return rules


def parse_supervisor(rule: str) -> tuple[str, str | None]:
    """`head` or `role:CODE` as ("head", None) or ("role", CODE)."""
    rule = rule.strip()
    if rule == "head":
        return ("head", None)
    if rule.startswith("role:") and rule[5:].strip():
        return ("role", rule[5:].strip())
    raise ValueError(f"FENGQIAO_SUPERVISORS: {rule!r} is neither head nor role:CODE")


def _clock_time(text: str, name: str) -> time:
    try:
        hour, minute = (int(x) for x in text.strip().split(":"))
        return time(hour, minute)
    except ValueError:
        raise ValueError(f"{name}: expected HH:MM, not {text!r}") from None


def _clock_range(text: str, name: str) -> tuple[time, time]:
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(f"{name}: expected HH:MM-HH:MM, not {text!r}")
    begin, finish = _clock_time(start, name), _clock_time(end, name)
    if begin >= finish:
        raise ValueError(f"{name}: the hours must end after they start ({text!r})")
    return begin, finish


def _json_object(text: str, name: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError:
        raise ValueError(f"{name} must be JSON") from None
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object")  # noqa: TRY004 -- a bad setting: from_env callers catch ValueError
    return value


def _check_deadline_and_notification_settings(s: Settings) -> None:
    s.working_hours_range, s.digest_at, s.supervisor_rules  # noqa: B018 -- each raises when malformed
    for name, value in (("FENGQIAO_SCHEDULER_POLL_SECONDS", s.scheduler_poll_seconds),
                        ("FENGQIAO_SCHEDULER_LEASE_SECONDS", s.scheduler_lease_seconds),
                        ("FENGQIAO_OUTBOX_RETRY_SECONDS", s.outbox_retry_seconds),
                        ("FENGQIAO_OUTBOX_RETRY_MAX_SECONDS", s.outbox_retry_max_seconds),
                        ("FENGQIAO_SMTP_TIMEOUT", s.smtp_timeout), ("FENGQIAO_SMS_TIMEOUT", s.sms_timeout)):
        if value <= 0:
            raise ValueError(f"{name} must be positive")
    if s.max_request_bytes < 1024:
        raise ValueError("FENGQIAO_MAX_REQUEST_BYTES must be at least 1024")
    if s.health_sweep_max_age_seconds <= 0 or s.health_outbox_max_age_seconds <= 0:
        raise ValueError("FENGQIAO_HEALTH_SWEEP_MAX_AGE_SECONDS and FENGQIAO_HEALTH_OUTBOX_MAX_AGE_SECONDS must be positive")
    if s.metrics_token and len(s.metrics_token) < 16:
        raise ValueError("FENGQIAO_METRICS_TOKEN must be at least 16 characters")
    if s.sweep_workers < 1:
        raise ValueError("FENGQIAO_SWEEP_WORKERS must be at least 1")
    if s.db_pool_size < 1 or s.db_max_overflow < 0 or s.db_pool_timeout <= 0:
        raise ValueError("FENGQIAO_DB_POOL_SIZE must be at least 1, FENGQIAO_DB_MAX_OVERFLOW at least 0, "
                         "FENGQIAO_DB_POOL_TIMEOUT positive")
    if s.outbox_max_attempts < 1:
        raise ValueError("FENGQIAO_OUTBOX_MAX_ATTEMPTS must be at least 1")
    if s.email_backend not in ("log", "smtp"):
        raise ValueError("FENGQIAO_EMAIL_BACKEND must be log or smtp")
    if s.smtp_security not in ("starttls", "tls", "none"):
        raise ValueError("FENGQIAO_SMTP_SECURITY must be starttls, tls or none")
    if s.sms_backend not in ("log", "http"):
        raise ValueError("FENGQIAO_SMS_BACKEND must be log or http")
    if s.sms_backend == "http" and not s.sms_url.startswith(("http://", "https://")):
        raise ValueError("FENGQIAO_SMS_URL must be an http(s) URL when FENGQIAO_SMS_BACKEND=http")
    _json_object(s.sms_body, "FENGQIAO_SMS_BODY")
    _json_object(s.sms_headers, "FENGQIAO_SMS_HEADERS")


_DEADLINE_AND_NOTIFICATION_ENV = {
    "FENGQIAO_SCHEDULER_POLL_SECONDS": ("scheduler_poll_seconds", float),
    "FENGQIAO_SCHEDULER_LEASE_SECONDS": ("scheduler_lease_seconds", float),
    "FENGQIAO_SCHEDULER_IN_SERVE": ("scheduler_in_serve", _flag),
    "FENGQIAO_SWEEP_WORKERS": ("sweep_workers", int),
    "FENGQIAO_WORKING_HOURS": ("working_hours", str),
    "FENGQIAO_DIGEST_TIME": ("digest_time", str),
    "FENGQIAO_DIGEST_DUE_DAYS": ("digest_due_days", int),
    "FENGQIAO_BACKLOG_DAYS": ("backlog_days", int),
    "FENGQIAO_SUPERVISORS": ("supervisors", str),
    "FENGQIAO_OUTBOX_MAX_ATTEMPTS": ("outbox_max_attempts", int),
    "FENGQIAO_OUTBOX_RETRY_SECONDS": ("outbox_retry_seconds", float),
    "FENGQIAO_OUTBOX_RETRY_MAX_SECONDS": ("outbox_retry_max_seconds", float),
    "FENGQIAO_NOTIFICATION_LOG": ("notification_log", Path),
    "FENGQIAO_EMAIL_BACKEND": ("email_backend", str.lower),
    "FENGQIAO_SMTP_HOST": ("smtp_host", str),
    "FENGQIAO_SMTP_PORT": ("smtp_port", int),
    "FENGQIAO_SMTP_SECURITY": ("smtp_security", str.lower),
    "FENGQIAO_SMTP_USERNAME": ("smtp_username", str),
    "FENGQIAO_SMTP_PASSWORD": ("smtp_password", str),
    "FENGQIAO_SMTP_FROM": ("smtp_from", str),
    "FENGQIAO_SMTP_TIMEOUT": ("smtp_timeout", float),
    "FENGQIAO_SMTP_CA_FILE": ("smtp_ca_file", str),
    "FENGQIAO_SMS_BACKEND": ("sms_backend", str.lower),
    "FENGQIAO_SMS_URL": ("sms_url", str),
    "FENGQIAO_SMS_BODY": ("sms_body", str),
    "FENGQIAO_SMS_HEADERS": ("sms_headers", str),
    "FENGQIAO_SMS_TIMEOUT": ("sms_timeout", float),
    "FENGQIAO_MAX_REQUEST_BYTES": ("max_request_bytes", int),
    "FENGQIAO_HEALTH_SWEEP_MAX_AGE_SECONDS": ("health_sweep_max_age_seconds", float),
    "FENGQIAO_HEALTH_OUTBOX_MAX_AGE_SECONDS": ("health_outbox_max_age_seconds", float),
    "FENGQIAO_METRICS_TOKEN": ("metrics_token", str),
    "FENGQIAO_DB_POOL_SIZE": ("db_pool_size", int),
    "FENGQIAO_DB_MAX_OVERFLOW": ("db_max_overflow", int),
    "FENGQIAO_DB_POOL_TIMEOUT": ("db_pool_timeout", float),
}

_DOCUMENT_ENV = {
    "FENGQIAO_COUNTY_NAME": ("county_name", str.strip),
    "FENGQIAO_SEAL_TEXT": ("seal_text", str.strip),
    "FENGQIAO_DOCUMENTS_DIR": ("documents_dir", lambda text: Path(text) if text.strip() else None),
}
