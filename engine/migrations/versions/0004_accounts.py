"""accounts: tokens with a name, an expiry and a revocation time; the password's version (a reset
ends page sessions); the administrators' hash-chained log

Revision ID: 0004
Revises: 0003
"""
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import engine.store

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# Tokens made before tokens expired keep working for the default lifetime, counted from the upgrade.
_GRACE_DAYS = 90


def upgrade() -> None:
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=100), server_default="", nullable=False))
        batch_op.add_column(sa.Column("expires_at", engine.store.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("revoked_at", engine.store.UTCDateTime(), nullable=True))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credentials_version", sa.Integer(), server_default="0", nullable=False))
    token = sa.table("api_token", sa.column("expires_at", engine.store.UTCDateTime()))
    op.execute(token.update().where(token.c.expires_at.is_(None))
               .values(expires_at=datetime.now(UTC) + timedelta(days=_GRACE_DAYS)))
    op.create_table(
        "admin_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", engine.store.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_event")),
        sa.UniqueConstraint("seq", name=op.f("uq_admin_event_seq")),
    )
    with op.batch_alter_table("admin_event", schema=None) as batch_op:
        batch_op.create_index("ix_admin_event_kind", ["kind", "seq"], unique=False)
        batch_op.create_index(batch_op.f("ix_admin_event_subject"), ["subject"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("admin_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_event_subject"))
        batch_op.drop_index("ix_admin_event_kind")
    op.drop_table("admin_event")
    op.execute(sa.text("DELETE FROM setting WHERE key = 'admin_events.head'"))
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("credentials_version")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_column("revoked_at")
        batch_op.drop_column("expires_at")
        batch_op.drop_column("name")
