"""A closed case's history packed into one row: the table `case_history` (engine/store.py CaseHistory,
engine/history.py). Only the table: packing the closed cases of an existing store is the maintenance
step's work (`System.pack_closed`, run by the scheduler and by `fengqiao pack`), in batches, off any
command's path. `case_record.packed_seq` is how far the packing has looked at a case's events, and
`ix_case_unpacked` (partial: closed cases with events beyond it) is the packing's work list, so a run
reads only the cases it has work for. On PostgreSQL the blob column's storage is MAIN (kept in the row: it is compressed
already). Downgrade unpacks every packed history back into `case_event` rows first.

Revision ID: 0021_pack
Revises: 0020_newest_by_column
"""
import sqlalchemy as sa
from alembic import op

revision = "0021_pack"
down_revision = "0020_newest_by_column"
branch_labels = None
depends_on = None

UNPACKED = "status <> 'open' AND last_event_seq > packed_seq"  # engine/store.py UNPACKED_SQL


def upgrade() -> None:
    op.create_table(
        "case_history",
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("events", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["case_record.id"], name="fk_case_history_case_id_case_record"),
        sa.PrimaryKeyConstraint("case_id", name="pk_case_history"),
    )
    if op.get_bind().dialect.name == "postgresql":
        # The blob is compressed already: kept in its row up to a page (STORAGE MAIN) rather than moved
        # to the TOAST table from 2 KB on, with a TOAST row and index entry per 2 KB chunk.
        op.execute("ALTER TABLE case_history ALTER COLUMN events SET STORAGE MAIN")
    op.add_column("case_record", sa.Column("packed_seq", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("ix_case_unpacked", "case_record", ["id"], sqlite_where=sa.text(UNPACKED),
                    postgresql_where=sa.text(UNPACKED))


def downgrade() -> None:
    from engine import history
    history.unpack_all(op.get_bind())
    op.drop_table("case_history")
    op.drop_index("ix_case_unpacked", table_name="case_record")
    op.drop_column("case_record", "packed_seq")
