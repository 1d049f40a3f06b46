"""three indexes of human_task that later ones begin with: `ix_human_task_assignee` (assignee) is the
start of `ix_task_assignee_case` (assignee, case_id), `ix_human_task_completed_by` (completed_by) of
`ix_task_completed_case` (completed_by, case_id), and `ix_task_worklist` (status, role, org_unit) holds
the same columns as the start of `ix_task_unit_queue` (status, org_unit, role, due_at, id). Each costs
every step's row an entry (about 100 bytes a case each) and a command that completes a step a write.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

DROPPED = (
    ("ix_human_task_assignee", ["assignee"]),
    ("ix_human_task_completed_by", ["completed_by"]),
    ("ix_task_worklist", ["status", "role", "org_unit"]),
)


def upgrade() -> None:
    for name, _columns in DROPPED:
        op.drop_index(name, table_name="human_task")


def downgrade() -> None:
    for name, columns in reversed(DROPPED):
        op.create_index(name, "human_task", columns, unique=False)
