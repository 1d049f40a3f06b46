"""audit runs (a verification of every hash chain, with its progress), and the index the
auditors' search needs on SQLite: the searchable text (registration time is indexed by 0006)

Revision ID: 0007
Revises: 0006
"""
import sqlalchemy as sa
from alembic import op

import engine.store

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_run",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("started_at", engine.store.UTCDateTime(), nullable=False),
        sa.Column("started_by", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("cases_total", sa.Integer(), nullable=False),
        sa.Column("cases_checked", sa.Integer(), nullable=False),
        sa.Column("cases_broken", sa.Integer(), nullable=False),
        sa.Column("last_case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("breaks", sa.JSON(), nullable=False),
        sa.Column("heartbeat_at", engine.store.UTCDateTime(), nullable=False),
        sa.Column("finished_at", engine.store.UTCDateTime(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_run")),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite keeps a case's columns after its (large) workflow state on overflow pages, so a scan
        # of `search_text` reads every case whole; an index of it is a narrow copy to scan instead.
        # (PostgreSQL keeps the state out of line already; and its b-tree entries are limited in
        # size, which a long summary could pass.)
        op.create_index("ix_case_record_search_text", "case_record", ["search_text"], unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_case_record_search_text", table_name="case_record")
    op.drop_table("audit_run")
