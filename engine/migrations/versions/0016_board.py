"""`case_record.next_due_at`, the soonest due time of a case's open steps, kept by the command that
syncs them, and the partial index `ix_case_owner_due` (owner, next_due_at, id) of the open cases: a
leader's list (the soonest due first, a page at a time) reads one page of that index instead of
sorting all the leader's open cases by a subquery into human_task per case.

The backfill is one UPDATE over the cases with an open step (on ix_task_open_case).

Revision ID: 0016_board
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

from engine.store import UTCDateTime

revision = "0016_board"
down_revision = "0015"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    with op.batch_alter_table("case_record") as batch:
        batch.add_column(sa.Column("next_due_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE case_record SET next_due_at = (SELECT min(t.due_at) FROM human_task t "
               "WHERE t.status = 'ready' AND t.case_id = case_record.id) "
               "WHERE id IN (SELECT case_id FROM human_task WHERE status = 'ready' AND due_at IS NOT NULL)")
    op.create_index("ix_case_owner_due", "case_record", ["owner", "next_due_at", "id"], sqlite_where=OPEN,
                    postgresql_where=OPEN)
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    op.drop_index("ix_case_owner_due", table_name="case_record")
    with op.batch_alter_table("case_record") as batch:
        batch.drop_column("next_due_at")
