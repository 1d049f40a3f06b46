"""A case's own columns that a list reads newest first — `jurisdiction`, `owner`, `registered_by` —
indexed with `id` after them, so "the cases of this unit (owner, registrar), newest first, a page"
is one range of an index on PostgreSQL too. SQLite's index on one column already ends with the rowid
(the case id) and answers it so; PostgreSQL's orders equal keys by their place in the heap, and its
planner may instead walk the primary key backwards and filter: on a 1,000,000-case store whose
statistics put a county officer's registrations at 3,000 where there were none, the cases list read
every case (1.3 s) for that one branch.

Three indexes rebuilt in the database (on a 1,000,000-case store: seconds each), then analysed.

Revision ID: 0020_newest_by_column
Revises: 0019_board2
"""
from alembic import op

revision = "0020_newest_by_column"
down_revision = "0019_board2"
branch_labels = None
depends_on = None

COLUMNS = ("jurisdiction", "owner", "registered_by")


def upgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_case_record_{column}", table_name="case_record")
        op.create_index(f"ix_case_record_{column}", "case_record", [column, "id"])
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    for column in COLUMNS:
        op.drop_index(f"ix_case_record_{column}", table_name="case_record")
        op.create_index(f"ix_case_record_{column}", "case_record", [column])
