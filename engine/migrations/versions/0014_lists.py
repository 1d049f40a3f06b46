"""indexes that keep lists flat as cases grow: a user's tasks by case (the cases they handled,
newest first) and the open steps and deadlines by case (the overdue list, newest first)

Revision ID: 0014
Revises: 0013
"""
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_task_completed_case", "human_task", ["completed_by", "case_id"]),
    ("ix_task_assignee_case", "human_task", ["assignee", "case_id"]),
    ("ix_task_open_case", "human_task", ["status", "case_id", "due_at"]),
    ("ix_deadline_open_case", "deadline", ["status", "case_id", "due_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
