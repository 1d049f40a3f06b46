"""the search index of cases (engine/search.py), filled for the existing cases, and the indexes the
read paths need: the worklist's branches (unclaimed in a unit; claimed by a user), each in the
worklist's order

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

from engine import search

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

CHUNK = 2000


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.create_table(
        "case_search_term",
        sa.Column("term", sa.String(length=40), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("term", "case_id", name=op.f("pk_case_search_term")),
        **({"sqlite_with_rowid": False} if sqlite else {}),
    )
    op.create_index("ix_case_search_term_case", "case_search_term", ["case_id"], unique=False)
    # One index per way a user may work a task, each in the worklist's order (due_at, id).
    op.create_index("ix_task_unit_queue", "human_task", ["status", "org_unit", "role", "due_at", "id"], unique=False)
    op.create_index("ix_task_assignee_queue", "human_task", ["assignee", "status", "due_at", "id"], unique=False)
    conn = op.get_bind()
    cases = sa.table("case_record", sa.column("id"), sa.column("number"), sa.column("search_text"))
    last = 0
    while True:
        rows = conn.execute(sa.select(cases.c.id, cases.c.number, cases.c.search_text)
                            .where(cases.c.id > last).order_by(cases.c.id).limit(CHUNK)).all()
        if not rows:
            break
        search.index_rows(conn, rows)
        last = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_task_assignee_queue", table_name="human_task")
    op.drop_index("ix_task_unit_queue", table_name="human_task")
    op.drop_index("ix_case_search_term_case", table_name="case_search_term")
    op.drop_table("case_search_term")
