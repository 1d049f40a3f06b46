"""the monthly zero report (零上报): a village's confirmation that it had no dispute in a month

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import engine.store

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "monthly_zero_report",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("reported_by", sa.String(length=64), nullable=False),
        sa.Column("reported_at", engine.store.UTCDateTime(), nullable=False),
        sa.Column("admin_event_seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(["unit"], ["org_unit.code"], name=op.f("fk_monthly_zero_report_unit_org_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monthly_zero_report")),
        sa.UniqueConstraint("unit", "month", name=op.f("uq_monthly_zero_report_unit_month")),
    )
    op.create_index("ix_monthly_zero_report_month", "monthly_zero_report", ["month", "unit"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_monthly_zero_report_month", table_name="monthly_zero_report")
    op.drop_table("monthly_zero_report")
