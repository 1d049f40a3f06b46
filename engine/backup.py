"""Backups of the store taken while the service runs, and restoring one into an empty store.

SQLite: SQLite's online backup API copies the database in one step from a read transaction, so the
copy is one committed state even while commands are written (WAL lets writers go on meanwhile); the
copy is checked (`PRAGMA integrity_check`) before it takes its name. PostgreSQL: `pg_dump` in its
custom format, which reads everything in one REPEATABLE READ snapshot; restoring is `pg_restore`
in one transaction. Both need the client programs (`pg_dump`, `pg_restore`) of the server's major
version or newer on the machine that runs `fengqiao backup`.

A store is restored only into an empty one (no tables), so a restore never mixes two stores.
"""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from .db import Database
from .errors import Conflict, InvalidInput

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class BackupResult:
    path: Path
    bytes: int
    kind: str  # sqlite | postgresql


class BackupFailed(Exception):
    """A backup or restore tool failed (the message says what it printed)."""


def backup(db: Database, path: Path) -> BackupResult:
    """Write a consistent copy of the store to `path` (which must not exist yet)."""
    path = Path(path)
    if path.exists():
        raise Conflict(f"文件已存在，不会覆盖 / {path} exists: not overwritten")
    if not path.parent.is_dir():
        raise InvalidInput(f"目录不存在 / no such directory: {path.parent}", fields={"path": "目录不存在 / no such directory"})
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if db.dialect == "sqlite":
            _sqlite_backup(_sqlite_file(db), partial)
            kind = "sqlite"
        else:
            _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                  f"--schema={_pg_schema(db)}", f"--file={partial}"], _pg_env(db))
            kind = "postgresql"
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(path, path.stat().st_size, kind)


def restore(db: Database, path: Path) -> BackupResult:
    """Load a backup into this store, which must be empty; the schema is upgraded afterwards by the caller."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"备份文件不存在 / no such backup file: {path}", fields={"path": "文件不存在 / no such file"})
    with path.open("rb") as f:
        head = f.read(16)
    tables = _tables(db)
    if tables:
        raise Conflict(f"目标库不是空的（已有 {len(tables)} 张表），拒绝恢复 / the store is not empty "
                       f"({len(tables)} tables): restore only into an empty store")
    if db.dialect == "sqlite":
        if head != SQLITE_MAGIC:
            raise InvalidInput(f"不是 SQLite 备份 / not a SQLite backup: {path}", fields={"path": "格式不符 / wrong format"})
        _check_integrity(path)
        target = _sqlite_file(db)
        db.dispose()  # nothing may hold the (empty) target open while it is replaced
        for suffix in ("-wal", "-shm"):
            Path(str(target) + suffix).unlink(missing_ok=True)
        _sqlite_backup(path, target)
        kind = "sqlite"
    else:
        if not head.startswith(PGDUMP_MAGIC):
            raise InvalidInput(f"不是 pg_dump 备份 / not a pg_dump (custom format) backup: {path}",
                               fields={"path": "格式不符 / wrong format"})
        listing = _run([_tool("pg_restore"), "--list", str(path)], os.environ.copy())
        dumped = _dumped_schema(listing)
        schema = _pg_schema(db)
        if dumped not in (None, schema):
            raise InvalidInput(f"备份来自模式 {dumped}，目标库使用 {schema} / the backup holds schema {dumped!r} but "
                               f"this store uses {schema!r}", fields={"path": "模式不符 / schema differs"})
        exists = _schema_exists(db, schema)
        db.dispose()
        with tempfile.NamedTemporaryFile("w", suffix=".list", encoding="utf-8") as chosen:
            # The schema itself is created only when the target has none of that name (public always exists).
            chosen.write("\n".join(line for line in listing.splitlines()
                                    if not (exists and _creates_schema(line))))
            chosen.flush()
            _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
                  f"--use-list={chosen.name}", f"--dbname={_pg_env(db)['PGDATABASE']}", str(path)], _pg_env(db))
        kind = "postgresql"
    return BackupResult(path, path.stat().st_size, kind)


def _tables(db: Database) -> list[str]:
    with db.write_engine.connect() as conn:
        return inspect(conn).get_table_names()


# ------------------------------------------------------------------ SQLite
def _sqlite_file(db: Database) -> Path:
    database = make_url(db.url).database
    if not database or database == ":memory:":
        raise InvalidInput("内存数据库无法备份 / an in-memory store cannot be backed up")
    return Path(database)


def _sqlite_backup(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)  # all pages in one step: one read transaction, one committed state
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    _check_integrity(target)


def _check_integrity(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupFailed(f"SQLite 文件损坏 / damaged SQLite file {path}: {exc}") from None
    finally:
        conn.close()
    if verdict != "ok":
        raise BackupFailed(f"SQLite 完整性检查未通过 / integrity check failed for {path}: {verdict}")


# ------------------------------------------------------------------ PostgreSQL
def _pg_schema(db: Database) -> str:
    """The schema the store lives in: the URL's search_path option, else public."""
    options = make_url(db.url).query.get("options", "")
    if isinstance(options, tuple):
        options = " ".join(options)
    for part in options.split():
        if part.startswith("-csearch_path="):
            return part.split("=", 1)[1].split(",")[0].strip('"')
    return "public"


def _pg_env(db: Database) -> dict[str, str]:
    """libpq's environment for the store (the password never goes on a command line)."""
    url = make_url(db.url)
    env = os.environ.copy()
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database),
                        ("PGSSLMODE", url.query.get("sslmode"))):
        if value:
            env[name] = str(value)
    return env


def _schema_exists(db: Database, schema: str) -> bool:
    with db.write_engine.connect() as conn:
        return conn.execute(text("SELECT 1 FROM pg_namespace WHERE nspname = :s"), {"s": schema}).first() is not None


def _creates_schema(line: str) -> bool:
    """A listing entry that creates a schema or comments on one ("4; 2615 2200 SCHEMA - public owner")."""
    parts = line.split()
    return len(parts) >= 4 and not line.startswith(";") and (
        parts[3] == "SCHEMA" or (parts[3] == "COMMENT" and len(parts) >= 6 and parts[5] == "SCHEMA"))


def _dumped_schema(listing: str) -> str | None:
    """The schema of the tables in a pg_restore listing (None when it lists none)."""
    for line in listing.splitlines():
        parts = line.split()
        # e.g. "215; 1259 16390 TABLE fq_abc case_record postgres"
        if len(parts) >= 6 and parts[3] == "TABLE" and not line.startswith(";"):
            return parts[4]
    return None


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupFailed(f"找不到 {name}，请安装 PostgreSQL 客户端 / {name} not found: install the PostgreSQL client "
                           f"programs")
    return found


def _run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(argv, check=False, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupFailed(f"{Path(argv[0]).name} 失败 / failed: {detail[0] if detail else done.returncode}")
    return done.stdout
