"""indexes the county dashboard counts from: closed cases by outcome, done steps by step and unit,
registrations by category, ledger entries by status

Revision ID: 0006
Revises: 0005
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_case_closed", "case_record", ["type", "status", "closed_at", "outcome", "jurisdiction"]),
    ("ix_case_created", "case_record", ["created_at", "jurisdiction"]),
    ("ix_task_done", "human_task", ["status", "name", "org_unit", "completed_at", "due_at"]),
    ("ix_case_party_created", "case_party", ["created_at", "category", "case_id"]),
    ("ix_ledger_event_status", "ledger_event", ["status", "entry_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
