"""an index for a case's newest event of a kind

A long case (a backlog petition with hundreds of progress reports) has a long history; reading its
owner's assignment or its last agreement scanned all of it backwards.

Revision ID: 0005
Revises: 0004
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.create_index("ix_case_event_kind", ["case_id", "kind", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("case_event", schema=None) as batch_op:
        batch_op.drop_index("ix_case_event_kind")
