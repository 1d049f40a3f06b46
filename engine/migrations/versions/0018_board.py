"""`case_record.next_due_at`, the soonest due time of a case's open steps, and `overdue_at`, the
soonest of that and its pending deadlines' due times, kept by the command that syncs steps and
timers; and two partial indexes: `ix_case_owner_due` (owner, next_due_at, id) of the open cases, so a
leader's list (the soonest due first, a page at a time) reads one page of it instead of sorting all
the leader's open cases by a subquery into human_task per case, and `ix_case_overdue` (id, overdue_at)
of the cases with due work, so the overdue list reads the overdue cases newest first from one index
instead of merging the open deadlines' and steps' case ids (ix_deadline_open_case, which that merge
read, is dropped).

The backfill is three UPDATEs over the cases with due work (on the open work's indexes).

Revision ID: 0018_board
Revises: 0017_lists
"""
import sqlalchemy as sa
from alembic import op

from engine.store import UTCDateTime

revision = "0018_board"
down_revision = "0017_lists"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")
DUE_WORK = sa.text("overdue_at IS NOT NULL")
STEPS_DUE = "SELECT case_id FROM human_task WHERE status = 'ready' AND due_at IS NOT NULL"  # the cases with a due step


def upgrade() -> None:
    op.add_column("case_record", sa.Column("next_due_at", UTCDateTime(), nullable=True))
    op.add_column("case_record", sa.Column("overdue_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE case_record SET next_due_at = (SELECT min(t.due_at) FROM human_task t "
               "WHERE t.status = 'ready' AND t.case_id = case_record.id) "
               f"WHERE id IN ({STEPS_DUE})")
    # the soonest pending deadline, or the steps' soonest where it is sooner (or there is none)
    op.execute("UPDATE case_record SET overdue_at = (SELECT min(d.due_at) FROM deadline d "
               "WHERE d.status = 'pending' AND d.case_id = case_record.id) "
               "WHERE id IN (SELECT case_id FROM deadline WHERE status = 'pending')")
    op.execute("UPDATE case_record SET overdue_at = next_due_at "
               f"WHERE id IN ({STEPS_DUE}) AND (overdue_at IS NULL OR next_due_at < overdue_at)")
    op.create_index("ix_case_owner_due", "case_record", ["owner", "next_due_at", "id"], sqlite_where=OPEN,
                    postgresql_where=OPEN)
    op.create_index("ix_case_overdue", "case_record", ["id", "overdue_at"], sqlite_where=DUE_WORK,
                    postgresql_where=DUE_WORK)
    # The overdue list's merge of the open deadlines by case (0014) is gone; a case's deadlines are
    # read on ix_deadline_case (case_id, status).
    op.drop_index("ix_deadline_open_case", table_name="deadline")
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    pending = sa.text("status = 'pending'")  # as 0016_slim left it
    op.create_index("ix_deadline_open_case", "deadline", ["case_id", "due_at", "status"], sqlite_where=pending,
                    postgresql_where=pending)
    op.drop_index("ix_case_overdue", table_name="case_record")
    op.drop_index("ix_case_owner_due", table_name="case_record")
    # ALTER TABLE … DROP COLUMN on both stores (a batch would copy case_record, which others reference)
    op.drop_column("case_record", "overdue_at")
    op.drop_column("case_record", "next_due_at")
