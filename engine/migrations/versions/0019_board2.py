"""`ix_case_open_board`: the open cases (`status = 'open'`) by (type, owner, jurisdiction,
next_due_at, created_at, registered_by, status) with their flags, so the petition board's aggregate (one
GROUP BY owner over the open petitions the reader may see) and the dashboard's overdue open
petitions per owner read that index's entries instead of each case row and two probes per case into
human_task (the board's "overdue" and "due within 7 days" are now conditions on `next_due_at`, kept
since 0018). `flags` is the index's last key column on SQLite; on PostgreSQL it and `id` (which
the reader's visibility names; SQLite's rowid is in every index) are INCLUDE columns (json has no
btree order). One CREATE INDEX over the open rows only (about 4 % of the cases).

Revision ID: 0019_board2
Revises: 0018_board
"""
import sqlalchemy as sa
from alembic import op

revision = "0019_board2"
down_revision = "0018_board"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
# `status` too, though the index holds only 'open': SQLite reads a partial index without the table only
# when the index holds the columns of its condition.
COLUMNS = ["type", "owner", "jurisdiction", "next_due_at", "created_at", "registered_by", "status"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_case_open_board", "case_record", COLUMNS, postgresql_where=OPEN,
                        postgresql_include=["flags", "id"])
    else:
        op.create_index("ix_case_open_board", "case_record", [*COLUMNS, "flags"], sqlite_where=OPEN)
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    op.drop_index("ix_case_open_board", table_name="case_record")
