"""a smaller store, second step: case events keyed by (case_id, seq) with their hash as 32 bytes, and
the search index of cases smaller (engine/search.py)

Upgrade. `case_event`: no `id` (an event is named by its case and seq, which the unique constraint
already held), the primary key (case_id, seq) in place of the id's and the unique constraint, `hash`
as its 32 bytes instead of 64 hex characters (and `case_record.last_event_hash`, the head of the
chain, likewise: SQLite keeps the column's declared type, which holds bytes as they are); `ix_case_event_kind` stays (the newest event of a kind,
the reports). SQLite: a new table stored in key order (WITHOUT ROWID), filled from the old one in
batches of 5,000 rows (the hash converted in Python: SQLite before 3.41 has no unhex), the old one
dropped. PostgreSQL: the table altered in place (the hash converted by `decode`, in the statement's
one rewrite of the table). The hashes are the same digests: every chain verifies as before.
The search index: SQLite drops `ix_case_search_term_case` (a case's terms are written once, at
registering; the key (term, case_id) is all a search reads); PostgreSQL drops the table for a GIN
index over `fq_search_terms(number, search_text)`, which PostgreSQL builds from the case rows.
`ix_case_type_status` (type, status) goes: `ix_case_closed` (type, status, closed_at, ...) begins with
it and serves every query it served.

Downgrade: the layout before (ids given in (case_id, seq) order, the hash back in hex, the unique
constraint), `ix_case_type_status`, the index by case on SQLite, and on PostgreSQL the table of terms
filled again.

Revision ID: 0012
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

import engine.store
from engine import search

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BATCH = 5000
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_COLUMNS = "case_id, seq, at, actor, kind, data, hash"


def _event_columns(hash_type) -> list:
    return [sa.Column("case_id", _ID, nullable=False), sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("at", engine.store.UTCDateTime(), nullable=False),
            sa.Column("actor", sa.String(length=64), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("data", sa.JSON(), nullable=False), sa.Column("hash", hash_type, nullable=False),
            sa.ForeignKeyConstraint(["case_id"], ["case_record.id"], name="fk_case_event_case_id_case_record")]


def _copy_events(read: str, write: str, convert) -> None:
    """Copy case_event_old into case_event in batches, the hash converted: SQLite."""
    conn = op.get_bind()
    after: tuple = (0, 0)
    while True:
        rows = conn.exec_driver_sql(read, after).fetchall()
        if not rows:
            return
        conn.exec_driver_sql(write, [(*r[2:8], convert(r[8])) for r in rows])
        after = tuple(rows[-1][:2])


def _rewrite_heads(convert) -> None:
    """SQLite: every case's last_event_hash converted, in batches by id."""
    conn = op.get_bind()
    after = 0
    while True:
        rows = conn.exec_driver_sql("SELECT id, last_event_hash FROM case_record WHERE id > ? "
                                    f"ORDER BY id LIMIT {BATCH}", (after,)).fetchall()
        if not rows:
            return
        conn.exec_driver_sql("UPDATE case_record SET last_event_hash = ? WHERE id = ?",
                             [(convert(head), case_id) for case_id, head in rows])
        after = rows[-1][0]


def upgrade() -> None:
    conn = op.get_bind()
    op.drop_index("ix_case_type_status", table_name="case_record")
    if conn.dialect.name == "sqlite":
        _rewrite_heads(lambda head: bytes.fromhex(head) if isinstance(head, str) else head)
        op.rename_table("case_event", "case_event_old")
        op.create_table("case_event", *_event_columns(sa.LargeBinary()),
                        sa.PrimaryKeyConstraint("case_id", "seq", name="pk_case_event"), sqlite_with_rowid=False)
        _copy_events(f"SELECT id, 0, {_COLUMNS} FROM case_event_old WHERE id > ? AND 0 = ? ORDER BY id LIMIT {BATCH}",
                     f"INSERT INTO case_event ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     lambda stored: bytes.fromhex(stored) if isinstance(stored, str) else stored)
        op.drop_table("case_event_old")  # with its indexes
        op.create_index("ix_case_event_kind", "case_event", ["case_id", "kind", "seq"], unique=False)
        op.drop_index("ix_case_search_term_case", table_name="case_search_term")
        return
    op.execute("ALTER TABLE case_event DROP CONSTRAINT pk_case_event, DROP CONSTRAINT uq_case_event_case_id_seq, "
               "DROP COLUMN id, ALTER COLUMN hash TYPE bytea USING decode(hash, 'hex'), "
               "ADD CONSTRAINT pk_case_event PRIMARY KEY (case_id, seq)")
    op.execute("ALTER TABLE case_record ALTER COLUMN last_event_hash TYPE bytea USING decode(last_event_hash, 'hex')")
    op.drop_table("case_search_term")
    op.execute(search.PAIRS_FUNCTION_SQL)  # as it was then: 0025 adds the number's triples
    op.execute(search.INDEX_SQL)


def downgrade() -> None:
    conn = op.get_bind()
    op.create_index("ix_case_type_status", "case_record", ["type", "status"], unique=False)
    if conn.dialect.name == "sqlite":
        _rewrite_heads(lambda head: bytes(head).hex() if isinstance(head, (bytes, memoryview)) else head)
        op.create_index("ix_case_search_term_case", "case_search_term", ["case_id"], unique=False)
        op.rename_table("case_event", "case_event_old")
        op.create_table("case_event", sa.Column("id", _ID, autoincrement=True, nullable=False),
                        *_event_columns(sa.String(length=64)),
                        sa.PrimaryKeyConstraint("id", name="pk_case_event"),
                        sa.UniqueConstraint("case_id", "seq", name="uq_case_event_case_id_seq"))
        _copy_events(f"SELECT case_id, seq, {_COLUMNS} FROM case_event_old WHERE (case_id, seq) > (?, ?) "
                     f"ORDER BY case_id, seq LIMIT {BATCH}",
                     f"INSERT INTO case_event ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                     lambda stored: bytes(stored).hex() if isinstance(stored, (bytes, memoryview)) else stored)
        op.drop_table("case_event_old")
        op.create_index("ix_case_event_kind", "case_event", ["case_id", "kind", "seq"], unique=False)
        return
    op.execute(f"DROP INDEX {search.INDEX}")
    op.execute(f"DROP FUNCTION {search.FUNCTION}(text, text)")
    op.execute("ALTER TABLE case_record ALTER COLUMN last_event_hash TYPE varchar(64) "
               "USING encode(last_event_hash, 'hex')")
    op.execute("ALTER TABLE case_event DROP CONSTRAINT pk_case_event, ADD COLUMN id BIGSERIAL, "
               "ALTER COLUMN hash TYPE varchar(64) USING encode(hash, 'hex')")
    op.execute("UPDATE case_event SET id = e.n FROM (SELECT case_id, seq, row_number() OVER (ORDER BY case_id, seq) "
               "AS n FROM case_event) AS e WHERE e.case_id = case_event.case_id AND e.seq = case_event.seq")
    op.execute("SELECT setval(pg_get_serial_sequence('case_event', 'id'), (SELECT COALESCE(MAX(id), 1) FROM case_event))")
    op.execute("ALTER TABLE case_event ADD CONSTRAINT pk_case_event PRIMARY KEY (id), "
               "ADD CONSTRAINT uq_case_event_case_id_seq UNIQUE (case_id, seq)")
    op.create_table("case_search_term", sa.Column("term", sa.String(length=40), nullable=False),
                    sa.Column("case_id", _ID, nullable=False),
                    sa.PrimaryKeyConstraint("term", "case_id", name="pk_case_search_term"))
    op.create_index("ix_case_search_term_case", "case_search_term", ["case_id"], unique=False)
    cases = sa.table("case_record", sa.column("id"), sa.column("number"), sa.column("search_text"))
    last = 0
    while True:
        rows = conn.execute(sa.select(cases.c.id, cases.c.number, cases.c.search_text)
                            .where(cases.c.id > last).order_by(cases.c.id).limit(2000)).all()
        if not rows:
            return
        search.index_rows(conn, rows, into_table=True)
        last = rows[-1][0]
