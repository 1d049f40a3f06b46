"""Every setting of fengqiao in one place, read from FENGQIAO_* environment variables."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
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
    workflow_cache_size: int = 256
    base_url: str = "http://127.0.0.1:5000"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
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
        if "FENGQIAO_BASE_URL" in env:
            values["base_url"] = env["FENGQIAO_BASE_URL"]
        values.update(overrides)
        return replace(cls(), **values)

    def __post_init__(self):
        if self.sqlite_synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError("FENGQIAO_SQLITE_SYNCHRONOUS must be OFF, NORMAL, FULL or EXTRA")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
