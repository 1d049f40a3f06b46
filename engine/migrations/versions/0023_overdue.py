"""The overdue list reads the cases overdue now, not every case with due work in id order. Two
indexes over the cases with due work only, in place of 0018's `ix_case_overdue` (id, overdue_at):
`ix_case_overdue_unit` (jurisdiction, overdue_at, id): a unit's cases overdue now, one range per unit
of the reader; and `ix_case_overdue_by` (overdue_at, jurisdiction, owner, registered_by, id): the
county's cases overdue now (a few in a thousand cases) as one range holding every column of the
reader's visibility that is on the case row, so the rest of it is filtered on the index alone. The
old index served the list newest first, but a town's overdue cases are about one in twenty of the
county's: it read and checked the county's overdue cases until it had a page, all of them for a town
(at 1,000,000 cases, a few thousand, in batches, each probed with the whole visibility condition).

Two indexes built over the cases with due work (about 4 in 100 cases), one dropped, then analysed.

Revision ID: 0023_overdue
Revises: 0022_board
"""
import sqlalchemy as sa
from alembic import op

revision = "0023_overdue"
down_revision = "0022_board"
branch_labels = None
depends_on = None

DUE_WORK = sa.text("overdue_at IS NOT NULL")


def upgrade() -> None:
    op.create_index("ix_case_overdue_by", "case_record", ["overdue_at", "jurisdiction", "owner", "registered_by", "id"],
                    sqlite_where=DUE_WORK, postgresql_where=DUE_WORK)
    op.create_index("ix_case_overdue_unit", "case_record", ["jurisdiction", "overdue_at", "id"],
                    sqlite_where=DUE_WORK, postgresql_where=DUE_WORK)
    op.drop_index("ix_case_overdue", table_name="case_record")
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    op.create_index("ix_case_overdue", "case_record", ["id", "overdue_at"], sqlite_where=DUE_WORK,
                    postgresql_where=DUE_WORK)
    op.drop_index("ix_case_overdue_unit", table_name="case_record")
    op.drop_index("ix_case_overdue_by", table_name="case_record")
    op.execute("ANALYZE case_record")
