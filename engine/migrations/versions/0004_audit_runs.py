"""audit runs: a verification of every hash chain, with its progress

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import engine.store

revision = "0004"
down_revision = "0003"
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


def downgrade() -> None:
    op.drop_table("audit_run")
