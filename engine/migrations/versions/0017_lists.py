"""each ledger entry keeps its current status (the status of its newest `ledger_event` row) in
`ledger_entry.status`, with an index (review_unit, status, id): a town justice office's entries in
one status, oldest first, are read from that index in order instead of walking the ledger by id and
looking up every entry's newest status row (which grows with the ledger's history).

Backfilled in one statement from each entry's newest status row (by ix_ledger_event_entry), then
the table analysed: without statistics of the new index SQLite takes it for a handful of rows a unit
and reads a unit's whole list from it to sort, instead of ix_ledger_entry_review_unit in id order.

Revision ID: 0017_lists
Revises: 0016_slim
"""
import sqlalchemy as sa
from alembic import op

revision = "0017_lists"
down_revision = "0016_slim"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ledger_entry", sa.Column("status", sa.String(16), nullable=True))
    op.execute("UPDATE ledger_entry SET status = (SELECT ledger_event.status FROM ledger_event"
               " WHERE ledger_event.entry_id = ledger_entry.id ORDER BY ledger_event.id DESC LIMIT 1)")
    op.create_index("ix_ledger_entry_unit_status", "ledger_entry", ["review_unit", "status", "id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA analysis_limit=2000")  # as engine/system.py's optimize: seconds at a million cases
    op.execute("ANALYZE ledger_entry")


def downgrade() -> None:
    op.drop_index("ix_ledger_entry_unit_status", table_name="ledger_entry")
    op.execute("ALTER TABLE ledger_entry DROP COLUMN status")  # SQLite 3.35+ drops a column in place
