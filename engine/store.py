"""The tables of fengqiao (SQLAlchemy 2). Schema changes go through Alembic (engine/migrations)."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Optional

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData,
                        String, Text, TypeDecorator, UniqueConstraint, literal_column, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


_SQLITE_DATETIME = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every database (SQLite keeps no offset, so store naive UTC)."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def bind_processor(self, dialect):
        """On SQLite, process_bind_param and then DateTime's text ("YYYY-MM-DD HH:MM:SS.ffffff") in one
        step, the text from isoformat (a command binds several times: when, due, completed …)."""
        if dialect.name != "sqlite" or getattr(self.impl_instance, "_storage_format", _SQLITE_DATETIME) != _SQLITE_DATETIME:
            return super().bind_processor(dialect)
        utc = timezone.utc

        def process(value):
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given to the store")
            return value.astimezone(utc).replace(tzinfo=None).isoformat(" ", "microseconds")
        return process

    def process_result_value(self, value: Optional[datetime], dialect):
        return None if value is None else value.replace(tzinfo=timezone.utc)


Id = BigInteger().with_variant(Integer, "sqlite")


class StoredState(TypeDecorator):
    """A workflow state in its stored form (engine/state_codec.py): bytes, handed over as they are.

    Read as the driver gives it: bytes (or a str, on SQLite, for a row still in the layout before
    migration 0010, whose column was TEXT), so `state_codec.decode` takes any of them."""
    impl = LargeBinary
    cache_ok = True

    def bind_processor(self, dialect):
        return None

    def result_processor(self, dialect, coltype):
        return None


class Digest(TypeDecorator):
    """A SHA-256 digest stored as its 32 bytes (migration 0012), handed to the code as 64 hex characters.

    A value read as text is a row still in the layout before 0012 (hex), given as it is."""
    impl = LargeBinary
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else bytes.fromhex(value)

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, str):
            return value
        return bytes(value).hex()


_CODE = re.compile(r"[a-z][a-z0-9_]*")


class Code(TypeDecorator):
    """A short code of a fixed set (a step's or deadline's status, an event's kind), which a query
    compares with a literal: `column == "ready"` is written into the SQL as `= 'ready'`, not as a
    parameter (a code is lowercase letters, digits and underscores: nothing to quote), so that either
    planner may use an index partial on that value (migration 0016: the indexes over open work cover
    only the ready steps and pending deadlines). SQLite uses a partial index only when the query
    names its condition literally; PostgreSQL's generic plans of a prepared statement likewise. The
    codes are few, so the statements cached stay few."""
    impl = String
    cache_ok = True

    class comparator_factory(String.Comparator):
        def __eq__(self, other):
            if isinstance(other, str) and _CODE.fullmatch(other):  # nothing to quote: written as it is
                other = literal_column(f"'{other}'", String())
            return super().__eq__(other)

        __hash__ = String.Comparator.__hash__


# Migration 0016: the indexes over open work hold only the open rows (most rows are done).
TASK_READY_SQL = "status = 'ready'"
DEADLINE_PENDING_SQL = "status = 'pending'"


CLAIMED_SQL = "assignee IS NOT NULL"  # the tasks someone claimed (ix_task_assignee_case)


def _partial(name: str, *columns: str, where: str) -> Index:
    """An index of the rows that meet `where`. An index over open work ends with the status column,
    the same value in each of its few entries: SQLite counts an index as covering a query only when
    it holds every column the query names, the status of its condition included."""
    return Index(name, *columns, sqlite_where=text(where), postgresql_where=text(where))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class OrgUnit(Base):
    __tablename__ = "org_unit"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(16))  # county | town | village
    parent: Mapped[Optional[str]] = mapped_column(ForeignKey("org_unit.code"), index=True)


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    org_unit: Mapped[str] = mapped_column(ForeignKey("org_unit.code"), index=True)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    civil_servant: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]
    # Notifications (notifications/contacts.py validates them): where reminders go, and whether
    # this user heads their org unit (负责人), i.e. is told when a step of the unit is overdue.
    email: Mapped[Optional[str]] = mapped_column(String(254))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    channels: Mapped[list[Any]] = mapped_column(default=lambda: ["inapp"])  # inapp | email | sms
    unit_head: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[Optional[str]] = mapped_column(String(8))
    # Counted up when the password is reset: a page session signed in with an older count ends.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")




class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(100), default="", server_default="")
    # A token is refused from this instant on (the engine's clock); set for every token.
    expires_at: Mapped[Optional[datetime]]
    revoked_at: Mapped[Optional[datetime]]


class AdminEvent(Base):
    """The administrators' log: every change of accounts, tokens, units, the calendar, definitions and
    the outbox made by hand, in one hash chain (hash = sha256(prev_hash + canonical JSON of
    {seq, at, actor, kind, data})); the setting `admin_events.head` keeps the newest seq and hash."""
    __tablename__ = "admin_event"
    __table_args__ = (UniqueConstraint("seq"), Index("ix_admin_event_kind", "kind", "seq"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(200), default="", index=True)  # the user, token, unit … changed
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Definition(Base):
    """One deployed version of one process, stored once (content hash) and shared by its cases."""
    __tablename__ = "definition"
    __table_args__ = (UniqueConstraint("process_key", "version"), UniqueConstraint("process_key", "content_hash"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    process_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    spec: Mapped[dict[str, Any]]
    files: Mapped[dict[str, Any]]
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(64), default="")


OPEN_CASE_SQL = "status = 'open'"  # the partial indexes' condition of the open cases
UNPACKED_SQL = "status <> 'open' AND last_event_seq > packed_seq"  # closed, with events left to pack
DUE_WORK_SQL = "overdue_at IS NOT NULL"  # the cases with a due step or a pending deadline


class Case(Base):
    __tablename__ = "case_record"
    # Migration 0007 also indexes `search_text` on SQLite (not declared here: PostgreSQL has none).
    # ix_case_type_status (type, status) went in migration 0012: ix_case_closed begins with it.
    __table_args__ = (UniqueConstraint("number"),
                      # Counting closed cases by outcome over a time range without reading the rows.
                      Index("ix_case_closed", "type", "status", "closed_at", "outcome", "jurisdiction"),
                      # Registrations by time (the dashboard's months, the auditors' date range).
                      Index("ix_case_created", "created_at", "jurisdiction"),
                      # An owner's open cases, the soonest due first (the leader's list, migration 0018):
                      # open rows only, so a query names OPEN_CASE_SQL literally to use it.
                      Index("ix_case_owner_due", "owner", "next_due_at", "id", sqlite_where=text(OPEN_CASE_SQL),
                            postgresql_where=text(OPEN_CASE_SQL)),
                      # The cases overdue now with the reader's visibility's columns (the overdue list, 0021):
                      # only the rows with due work; `overdue_at <= x` implies the condition, so both stores
                      # use it, and it is one range of the index, filtered on it, sorted by id.
                      Index("ix_case_overdue_by", "overdue_at", "jurisdiction", "owner", "registered_by", "id",
                            sqlite_where=text(DUE_WORK_SQL), postgresql_where=text(DUE_WORK_SQL)),
                      # and a unit's cases overdue now (the reader's units first: one range per unit).
                      Index("ix_case_overdue_unit", "jurisdiction", "overdue_at", "id",
                            sqlite_where=text(DUE_WORK_SQL), postgresql_where=text(DUE_WORK_SQL)),
                      # The open cases by type and owner with what the petition board counts and its
                      # reader's visibility reads (migration 0019): the board and the dashboard's overdue
                      # petitions per owner read its entries, never the rows (`status` in it too: SQLite
                      # reads a partial index alone only if it holds the columns of its own condition).
                      # `flags` is its last key column on SQLite (added by the migration there: not
                      # declared here); on PostgreSQL it and `id` (SQLite's rowid is in every index) are
                      # INCLUDE columns (json has no btree order).
                      Index("ix_case_open_board", "type", "owner", "jurisdiction", "next_due_at", "created_at",
                            "registered_by", "status", sqlite_where=text(OPEN_CASE_SQL), postgresql_where=text(OPEN_CASE_SQL),
                            postgresql_include=["flags", "id"]),
                      # The open cases by type and soonest due time, and by type and registration time,
                      # with what the petition board reads of them (migration 0022): its figures that
                      # change with time (due within a week or past due; older than the backlog period)
                      # are ranges of these; `flags` as in ix_case_open_board.
                      Index("ix_case_open_due", "type", "next_due_at", "jurisdiction", "owner", "status",
                            sqlite_where=text(OPEN_CASE_SQL), postgresql_where=text(OPEN_CASE_SQL),
                            postgresql_include=["flags", "id"]),
                      Index("ix_case_open_age", "type", "created_at", "jurisdiction", "owner", "status",
                            sqlite_where=text(OPEN_CASE_SQL), postgresql_where=text(OPEN_CASE_SQL),
                            postgresql_include=["flags", "id"]),
                      # A unit's, an owner's, a registrar's cases newest first, a page at a time: one range
                      # of each (migration 0020; on SQLite an index ends with the rowid anyway).
                      *(Index(f"ix_case_record_{column}", column, "id")
                        for column in ("jurisdiction", "owner", "registered_by")),
                      # The closed cases with events the packing has not looked at (migration 0021): its
                      # work list is this index's few entries, not a walk over every closed case.
                      Index("ix_case_unpacked", "id", sqlite_where=text(UNPACKED_SQL),
                            postgresql_where=text(UNPACKED_SQL)))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    number: Mapped[str] = mapped_column(String(32))
    type: Mapped[str] = mapped_column(String(64))
    definition_id: Mapped[int] = mapped_column(ForeignKey("definition.id"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[Optional[str]] = mapped_column(String(32))
    level: Mapped[Optional[str]] = mapped_column(String(16))
    jurisdiction: Mapped[Optional[str]] = mapped_column(String(64))
    # The person who owns the case until it is resolved (a case type decides whether its cases have one).
    owner: Mapped[Optional[str]] = mapped_column(String(64))
    repeat_of: Mapped[Optional[int]] = mapped_column(Id)
    flags: Mapped[list[Any]] = mapped_column(default=list)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The highest seq the packing of closed histories has looked at (engine/history.py, migration 0021):
    # a closed case with events beyond it is in ix_case_unpacked, the packing's work list.
    packed_seq: Mapped[int] = mapped_column(Integer, server_default="0")
    last_event_hash: Mapped[str] = mapped_column(Digest, default="")  # its 32 bytes (0012); b"" before any
    # SpiffWorkflow's instance state, serialized without the spec (that lives in `definition`), in the
    # stored form of engine/state_codec.py (compressed JSON); a closed case's holds only the steps it
    # passed (runtime.closed_state). Deferred: lists and views never load it; a command writes it with
    # the case row.
    state: Mapped[bytes] = mapped_column(StoredState, default=b"", deferred=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[Optional[datetime]]
    # The soonest due time of the case's open (ready) steps, None when none has one: kept by the command
    # that syncs the steps (engine/service.py `_persist`, engine/migration.py), in its transaction.
    next_due_at: Mapped[datetime | None]
    # From when the case is overdue: the soonest of next_due_at and its pending deadlines' due times
    # (None: nothing of it falls due); kept with next_due_at (the sweep's firing is such a command).
    overdue_at: Mapped[datetime | None]
    registered_by: Mapped[Optional[str]] = mapped_column(String(64))
    # Org units whose members never see who the parties are (the case type decides, at registration).
    withheld_from: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    # What a search for a name or a word of the summary matches (the case type decides what goes in).
    search_text: Mapped[Optional[str]] = mapped_column(Text, deferred=True)


class CaseCounter(Base):
    """Next sequence number per case type and year, for case numbers without gaps or repeats."""
    __tablename__ = "case_counter"
    type: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class HumanTask(Base):
    __tablename__ = "human_task"
    # (status, role, org_unit), assignee and completed_by alone went in migration 0015: indexes below
    # begin with them.
    # The indexes over ready steps are partial (migration 0016): a query names `status = 'ready'` (the
    # column's type, `Code`, writes it as a literal) and the index holds only the open steps.
    __table_args__ = (Index("ix_task_case", "case_id", "status"),
                      # Counting done steps per step and unit, on time or not, from the index alone.
                      Index("ix_task_done", "status", "name", "org_unit", "completed_at", "due_at"),
                      # The worklist: one index per way a user may work a task, in its order (migration 0009).
                      _partial("ix_task_unit_queue", "org_unit", "role", "due_at", "id", "status", where=TASK_READY_SQL),
                      _partial("ix_task_assignee_queue", "assignee", "due_at", "id", "status", where=TASK_READY_SQL),
                      # The steps past their due time now, in due order (migration 0013): the dashboard's
                      # overdue figures read only those.
                      _partial("ix_task_ready_due", "due_at", "org_unit", "case_id", "status", where=TASK_READY_SQL),
                      # The cases of a user's tasks newest first, and the open steps by case (migration 0014).
                      Index("ix_task_completed_case", "completed_by", "case_id"),
                      # Only claimed tasks (migration 0024): a question "assignee = x" implies it, and an
                      # unclaimed step's "assignee IS NULL" can no longer be read on this index (SQLite
                      # took it for the unit's queue ordered by case: every unclaimed step ever done).
                      _partial("ix_task_assignee_case", "assignee", "case_id", where=CLAIMED_SQL),
                      _partial("ix_task_open_case", "case_id", "due_at", "status", where=TASK_READY_SQL))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    spiff_id: Mapped[str] = mapped_column(String(36))
    name: Mapped[str] = mapped_column(String(64))  # the step key
    title: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(32))
    org_unit: Mapped[Optional[str]] = mapped_column(String(64))
    level: Mapped[Optional[str]] = mapped_column(String(16))
    assignee: Mapped[Optional[str]] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(Code(16), default="ready")  # ready | completed | cancelled
    due_at: Mapped[Optional[datetime]]
    created_at: Mapped[datetime]
    completed_at: Mapped[Optional[datetime]]
    completed_by: Mapped[Optional[str]] = mapped_column(String(64))


class Deadline(Base):
    """A due time the sweep fires: a waiting BPMN timer, or a window of the SLA table."""
    __tablename__ = "deadline"
    # Partial on the pending deadlines (migration 0016), which the sweep and the lists read.
    # ix_deadline_open_case (case_id, due_at) went in 0018: the overdue list reads
    # case_record.overdue_at, every other read of a case's deadlines ix_deadline_case.
    __table_args__ = (_partial("ix_deadline_due", "due_at", "status", where=DEADLINE_PENDING_SQL),
                      Index("ix_deadline_case", "case_id", "status"),
                      _partial("ix_deadline_warning", "warning_level", "warning_at", "status", where=DEADLINE_PENDING_SQL))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    kind: Mapped[str] = mapped_column(String(64))
    spiff_id: Mapped[Optional[str]] = mapped_column(String(36))
    started_at: Mapped[datetime]
    warning_at: Mapped[datetime]
    due_at: Mapped[datetime]
    estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(Code(16), default="pending")  # pending | fired | cancelled
    fired_at: Mapped[Optional[datetime]]
    # normal | warning (from warning_at, when its reminder went out) | overdue (fired); kept by the sweep
    warning_level: Mapped[str] = mapped_column(String(16), default="normal", server_default="normal")


MESSAGE_RECEIVED_SQL = "kind = 'message_received'"  # the event of every message a case received
# The kinds a query looks up in a case's history by kind (its newest owner, agreement, extended
# deadline; the petitions marked backlog, across cases), each with a small partial index (migration
# 0016, in place of one index by (case_id, kind, seq) over every event). Any other kind is read from
# the case's own range of the table (its key, (case_id, seq)).
INDEXED_EVENT_KINDS = ("owner_changed", "agreement_reached", "deadline_extended", "backlog_marked")


class CaseEvent(Base):
    """Append-only, hash-chained per case: hash = sha256(prev_hash + canonical JSON of the event), where
    prev_hash is the previous event's hash (not stored again: engine/audit.py's `prev_hashes`).

    Since migration 0012 an event is keyed by (case_id, seq), with no id of its own, and on SQLite the
    rows are stored in that order (no rowid): a case's history is one range of the table, and the
    key is the only copy of (case_id, seq). The hash is kept as its 32 bytes."""
    __tablename__ = "case_event"
    # A case's newest event of a kind (its owner's assignment, its last agreement) is found without
    # reading the rest of a long history, and the petitions marked backlog without reading every case:
    # an index per kind looked up so (the column's type writes `kind = '…'` as a literal).
    __table_args__ = (*(_partial(f"ix_case_event_{kind}", "case_id", "seq", where=f"kind = '{kind}'")
                        for kind in INDEXED_EVENT_KINDS),
                      # The messages cases received, by time (a query names the kind as a literal, so
                      # that the planner may use a partial index).
                      Index("ix_case_event_message_at", "at", "case_id", sqlite_where=text(MESSAGE_RECEIVED_SQL),
                            postgresql_where=text(MESSAGE_RECEIVED_SQL)),
                      {"sqlite_with_rowid": False})
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(Code(32))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    hash: Mapped[str] = mapped_column(Digest)


class CaseHistory(Base):
    """A closed case's history packed into one row (migration 0021, engine/history.py): the events the
    maintenance step `System.pack_closed` moved out of `case_event`, in one compressed blob, each with
    its hash as it was stored. A case's history is this blob and its remaining `case_event` rows (the
    kinds kept as rows for queries across cases, and events after the packing) merged by seq:
    engine/history.py reads it so for every reader. How far the packing has looked is the case's
    `packed_seq` (a case whose every event stays a row has no row here)."""
    __tablename__ = "case_history"
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), primary_key=True, autoincrement=False)
    events: Mapped[bytes] = mapped_column(StoredState)


class LedgerEntry(Base):
    """An append-only money ledger per case: entries are only ever added, never edited (their kept
    `status` aside); a correction is a reversal entry. (The per-case mediator subsidy, 以案定补, is
    kept here.)

    An entry's history of statuses and its payment batch are its `ledger_event` rows, the newest one
    current (engine/ledger.py). `status` repeats that newest row's status, written with it (the one
    column an entry ever changes), so a list of a review unit's entries in one status reads its own
    index in id order (migration 0017)."""
    __tablename__ = "ledger_entry"
    __table_args__ = (Index("ix_ledger_entry_unit_status", "review_unit", "status", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    mediator: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    level: Mapped[Optional[str]] = mapped_column(String(16))
    difficulty: Mapped[Optional[str]] = mapped_column(String(16))
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    kind: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    rate_version: Mapped[Optional[int]] = mapped_column(Integer)
    rate_fen: Mapped[Optional[int]] = mapped_column(BigInteger)  # the whole case's rate, before sharing
    reverses: Mapped[Optional[int]] = mapped_column(Id)
    review_unit: Mapped[Optional[str]] = mapped_column(String(64), index=True)  # the town justice office (司法所)
    quarter: Mapped[str] = mapped_column(String(8), index=True)  # e.g. 2026Q4, from created_at in Asia/Shanghai
    created_at: Mapped[datetime]
    status: Mapped[str | None] = mapped_column(String(16))  # the newest ledger_event's status


class OutboxMessage(Base):
    """Notifications written in the same transaction as the event that causes them."""
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[Optional[int]] = mapped_column(Id, index=True)
    recipient: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    sent_at: Mapped[Optional[datetime]]
    channel: Mapped[str] = mapped_column(String(16), default="inapp", server_default="inapp")  # inapp | email | sms
    # next_attempt_at is on the engine's clock (working hours hold a reminder until 08:30); retry_at is
    # real time (back-off after a failed attempt), so retries happen under the simulated clock too.
    retry_at: Mapped[Optional[datetime]]


class Setting(Base):
    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Optional[str]] = mapped_column(Text)


class HolidayYear(Base):
    """An official holiday schedule imported as data (`fengqiao calendar import`)."""
    __tablename__ = "holiday_year"
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]]
    imported_at: Mapped[datetime]


class DecisionDefinition(Base):
    """One deployed version of a DMN decision, versioned on its own (a rate table is looked up here
    when a case closes, so a new table prices the cases closed after it)."""
    __tablename__ = "decision_definition"
    __table_args__ = (UniqueConstraint("decision_key", "version"), UniqueConstraint("decision_key", "content_hash"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    decision_key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(200), default="")
    source: Mapped[str] = mapped_column(Text)
    deployed_at: Mapped[datetime]
    deployed_by: Mapped[str] = mapped_column(String(64), default="")


class LedgerEvent(Base):
    """Append-only status history of a ledger entry: its newest row is its current status."""
    __tablename__ = "ledger_event"
    __table_args__ = (Index("ix_ledger_event_entry", "entry_id", "id"),
                      Index("ix_ledger_event_status", "status", "entry_id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("ledger_entry.id"))
    status: Mapped[str] = mapped_column(String(16))  # accrued | reviewed | approved | paid | rejected
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, default="")
    batch: Mapped[Optional[str]] = mapped_column(String(16), index=True)


class LedgerBatch(Base):
    """A payment batch of ledger entries (a quarter's, `fengqiao subsidy batch 2026Q4`), made once."""
    __tablename__ = "ledger_batch"
    key: Mapped[str] = mapped_column(String(16), primary_key=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))
    entry_count: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)


class OutboxAttempt(Base):
    """One delivery attempt of an outbox message; `at` is real time (an operational record)."""
    __tablename__ = "outbox_attempt"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)


class InboxItem(Base):
    """The in-app channel: one notification in one user's inbox. Delivered once per outbox message."""
    __tablename__ = "inbox_item"
    __table_args__ = (Index("ix_inbox_user", "username", "read_at"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"), unique=True)
    username: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    case_id: Mapped[Optional[int]] = mapped_column(Id)
    title: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[Optional[str]] = mapped_column(String(500))
    created_at: Mapped[datetime]
    read_at: Mapped[Optional[datetime]]


class SchedulerLease(Base):
    """On SQLite only one scheduler process sweeps: the one holding this lease (real time), renewed
    while it lives; another one takes it over once it has expired."""
    __tablename__ = "scheduler_lease"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CaseLink(Base):
    """A case opened by another case's command: the opened case, when it closes, tells the case that
    opened it (engine/service.py)."""
    __tablename__ = "case_link"
    __table_args__ = (Index("ix_case_link_linked", "linked_case_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)  # the case that opened it
    linked_case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"))
    kind: Mapped[str] = mapped_column(String(32))  # named by the case type that opens it
    created_at: Mapped[datetime]


class CaseParty(Base):
    """One person of one case, for finding the same person's other cases (a repeat petition, an open
    dispute of the same parties) and for finding a case by a party's phone number.

    Holds keyed digests of the ID number and the phone, not the values: equality look-ups only, and
    no second copy of them outside the case data (engine/privacy.py). `category` and
    `respondent_unit` name the matter, for the case types that compare matters."""
    __tablename__ = "case_party"
    __table_args__ = (Index("ix_case_party_person", "person_key"), Index("ix_case_party_phone", "phone_key"),
                      Index("ix_case_party_created", "created_at", "category", "case_id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_record.id"), index=True)
    person_key: Mapped[Optional[str]] = mapped_column(String(64))
    phone_key: Mapped[Optional[str]] = mapped_column(String(64))
    category: Mapped[Optional[str]] = mapped_column(String(64))
    respondent_unit: Mapped[Optional[str]] = mapped_column(String(200))
    created_at: Mapped[datetime]


class CaseSearchTerm(Base):
    """The search index of cases on SQLite (engine/search.py): a pair of characters of a case's
    searchable text, or a tail of its number marked `#`, lowercased. Filled on registering and by
    `search.rebuild`. Its key is its only index (migration 0012 dropped the one by case: a case's
    terms are written once, when it is registered). PostgreSQL has no such table since 0012: a GIN
    index over the terms a function computes from the case row (engine/search.py)."""
    __tablename__ = "case_search_term"
    __table_args__ = ({"sqlite_with_rowid": False},)
    term: Mapped[str] = mapped_column(String(40), primary_key=True)
    case_id: Mapped[int] = mapped_column(Id, primary_key=True)


class CaseTally(Base):
    """Counts of cases kept per figure, period, unit and key (engine/tally.py), changed in the same
    transaction as the write that changes what they count, so a figure over the whole county reads
    a row per unit and period instead of every case. What each figure counts is the case types'
    business (workflows/dashboard_tally.py); `unit` is '' for a case held by no unit. `part`: how many
    of `count` have the figure's second property (a step done on time), 0 for a figure without one."""
    __tablename__ = "case_tally"
    __table_args__ = {"sqlite_with_rowid": False}  # the rows in key order: a range reads no other page
    figure: Mapped[str] = mapped_column(String(32), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    part: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # migration 0027


class CaseReach(Base):
    """Who reads an open case otherwise than by its unit, kept as cases change: a row per open case
    and way of reaching it (`who`: a user as its owner, its registrant, or whoever worked or holds one
    of its steps; a unit and role whose unclaimed open step it has), with the unit holding the case
    ('' for none). A reader's cases outside their own units are a range of their ways' rows outside
    those units, however many cases they have worked over the years. Which cases and ways are kept is
    the case types' business (workflows/board_reach.py); rows leave when the case closes."""
    __tablename__ = "case_reach"
    __table_args__ = (Index("ix_case_reach_case", "case_id"), {"sqlite_with_rowid": False})
    who: Mapped[str] = mapped_column(String(130), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(Id, primary_key=True)


class LedgerTally(Base):
    """How many ledger entries and how much, per quarter, review unit, mediator, unit holding the case,
    current status and kind of entry (engine/ledger.py keeps it with every entry and status row it
    writes): the ledger report's totals and the dashboard's subsidy per quarter read these rows
    instead of every entry. '' stands for none."""
    __tablename__ = "ledger_tally"
    __table_args__ = {"sqlite_with_rowid": False}
    quarter: Mapped[str] = mapped_column(String(8), primary_key=True)
    review_unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    mediator: Mapped[str] = mapped_column(String(64), primary_key=True)
    unit: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # migration 0013
    count: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class SignInLog(Base):
    """Every attempt to sign in to the pages, for auditors: who typed which user name from where, and
    whether it worked (and why not). Also what the lock-out counts (usecases/sign_in.py)."""
    __tablename__ = "sign_in_log"
    __table_args__ = (Index("ix_sign_in_log_username_at", "username", "at"),
                      Index("ix_sign_in_log_client_address_at", "client_address", "at"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    username: Mapped[str] = mapped_column(String(200))  # as typed (trimmed, cut at 200): it may name no user
    client_address: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(32))  # ok | wrong_password | unknown_user | inactive | locked_account | locked_address


class AuditRun(Base):
    """A verification of every case's hash chain, started from the auditors' page and run in the
    background: its progress is kept here so that any process (any page request) can show it."""
    __tablename__ = "audit_run"
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running | done | failed
    cases_total: Mapped[int] = mapped_column(Integer, default=0)
    cases_checked: Mapped[int] = mapped_column(Integer, default=0)
    cases_broken: Mapped[int] = mapped_column(Integer, default=0)
    last_case_id: Mapped[int] = mapped_column(Id, default=0)  # where the run has got to (ids in order)
    breaks: Mapped[list[Any]] = mapped_column(default=list)  # the first breaks found, as ChainBreak.as_dict
    heartbeat_at: Mapped[datetime]  # real time of the last progress written; a stale one means the run died
    finished_at: Mapped[Optional[datetime]]
    error: Mapped[str] = mapped_column(Text, default="")


class MonthlyZeroReport(Base):
    """A village's 零上报: a mediator of the village confirmed that it had no dispute in the month.
    Months with cases need no row (they are counted from `case_record`); the row stays when a case
    of that month is registered later, and the reports then show it as void."""
    __tablename__ = "monthly_zero_report"
    __table_args__ = (UniqueConstraint("unit", "month"), Index("ix_monthly_zero_report_month", "month", "unit"))
    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    unit: Mapped[str] = mapped_column(ForeignKey("org_unit.code"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, in Asia/Shanghai
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime]
    admin_event_seq: Mapped[Optional[int]] = mapped_column(Id)  # its event in the administrators' log
