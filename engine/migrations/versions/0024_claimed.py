"""`ix_task_assignee_case` (assignee, case_id) holds only the claimed tasks (`assignee IS NOT NULL`).

Every lookup it serves names a user (`assignee = x`, which implies the condition on both stores). Over
every task it also answered "assignee IS NULL … ORDER BY case_id", and SQLite's planner took it for the
cases of a unit's unclaimed open steps (the cases list's task branch for a unit's queue): it then read
every unclaimed step ever done, 24 ms for a county petition officer at 1,000,000 cases, where the
unit's queue (`ix_task_unit_queue`, the ready steps only) holds a few hundred. Most done steps were
never claimed, so the index is smaller too.

The index rebuilt in the database (on a 1,000,000-case store: seconds), then analysed.

Revision ID: 0024_claimed
Revises: 0023_overdue
"""
import sqlalchemy as sa
from alembic import op

revision = "0024_claimed"
down_revision = "0023_overdue"
branch_labels = None
depends_on = None

CLAIMED = sa.text("assignee IS NOT NULL")  # engine/store.py CLAIMED_SQL


def upgrade() -> None:
    op.drop_index("ix_task_assignee_case", table_name="human_task")
    op.create_index("ix_task_assignee_case", "human_task", ["assignee", "case_id"], sqlite_where=CLAIMED,
                    postgresql_where=CLAIMED)
    op.execute("ANALYZE human_task")


def downgrade() -> None:
    op.drop_index("ix_task_assignee_case", table_name="human_task")
    op.create_index("ix_task_assignee_case", "human_task", ["assignee", "case_id"])
