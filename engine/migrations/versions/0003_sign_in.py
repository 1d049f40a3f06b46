"""sign-in log, and each user's page language

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa
import engine.store


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_log",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("at", engine.store.UTCDateTime(), nullable=False),
        sa.Column("username", sa.String(length=200), nullable=False),
        sa.Column("client_address", sa.String(length=64), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_in_log")),
    )
    with op.batch_alter_table("sign_in_log", schema=None) as batch_op:
        batch_op.create_index("ix_sign_in_log_username_at", ["username", "at"], unique=False)
        batch_op.create_index("ix_sign_in_log_client_address_at", ["client_address", "at"], unique=False)
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("language")
    with op.batch_alter_table("sign_in_log", schema=None) as batch_op:
        batch_op.drop_index("ix_sign_in_log_client_address_at")
        batch_op.drop_index("ix_sign_in_log_username_at")
    op.drop_table("sign_in_log")
