"""a smaller store, third step: the indexes over open work hold only the open rows, and the history's
index by kind only the kinds looked up by kind

Upgrade. Of a store's steps and deadlines nearly all are done (96 % of the cases are closed), yet every
one of them had an entry in each index that only ready steps or pending deadlines are read through.
Those become partial, on `status = 'ready'` (human_task: `ix_task_unit_queue`, `ix_task_assignee_queue`,
`ix_task_ready_due`, `ix_task_open_case`) and `status = 'pending'` (deadline: `ix_deadline_due`,
`ix_deadline_warning`, `ix_deadline_open_case`), the status column moved to the end of their keys
(one value there: it only lets SQLite count the index as covering a query that names the status). The
queries write the status as a literal (engine/store.py: `Code`), which both planners need to use
a partial index. `ix_case_event_kind` (case_id, kind, seq: an entry for every event) gives way to an
index per kind that a query looks up by kind (`engine.store.INDEXED_EVENT_KINDS`: a case's newest
owner, agreement and extended deadline; the petitions marked backlog), partial on that kind; every
other lookup by kind names the case, whose events are one range of the table's key (case_id, seq).

Each index is dropped and built again from the table by the database (set-based, one pass over the
table per index; nothing is read into Python), so a store of 1,000,000 cases migrates in minutes.

Downgrade: the full indexes back, as 0015 left them.

Revision ID: 0016_slim
Revises: 0015
"""
import sqlalchemy as sa
from alembic import op

revision = "0016_slim"
down_revision = "0015"
branch_labels = None
depends_on = None

READY = "status = 'ready'"
PENDING = "status = 'pending'"
# (table, name, the columns before, the columns after, the condition after)
CHANGED = (
    ("human_task", "ix_task_unit_queue", ["status", "org_unit", "role", "due_at", "id"],
     ["org_unit", "role", "due_at", "id", "status"], READY),
    ("human_task", "ix_task_assignee_queue", ["assignee", "status", "due_at", "id"],
     ["assignee", "due_at", "id", "status"], READY),
    ("human_task", "ix_task_ready_due", ["status", "due_at", "org_unit", "case_id"],
     ["due_at", "org_unit", "case_id", "status"], READY),
    ("human_task", "ix_task_open_case", ["status", "case_id", "due_at"], ["case_id", "due_at", "status"], READY),
    ("deadline", "ix_deadline_due", ["status", "due_at"], ["due_at", "status"], PENDING),
    ("deadline", "ix_deadline_warning", ["status", "warning_level", "warning_at"],
     ["warning_level", "warning_at", "status"], PENDING),
    ("deadline", "ix_deadline_open_case", ["status", "case_id", "due_at"], ["case_id", "due_at", "status"], PENDING),
)
TABLES = ("human_task", "deadline", "case_event")
EVENT_KINDS = ("owner_changed", "agreement_reached", "deadline_extended", "backlog_marked")


def _where(condition: str) -> dict:
    return {"sqlite_where": sa.text(condition), "postgresql_where": sa.text(condition)}


def upgrade() -> None:
    for table, name, _before, after, condition in CHANGED:
        op.drop_index(name, table_name=table)
        op.create_index(name, table, after, unique=False, **_where(condition))
    op.drop_index("ix_case_event_kind", table_name="case_event")
    for kind in EVENT_KINDS:
        op.create_index(f"ix_case_event_{kind}", "case_event", ["case_id", "seq"], unique=False,
                        **_where(f"kind = '{kind}'"))
    _analyze()


def _analyze() -> None:
    """Statistics of the new indexes at once: without them SQLite's planner takes a partial index for
    as big as its table (and prefers `ix_task_done`, which begins with the status, for the overdue
    steps). A sample on both stores (SQLite: the rows `engine.system.ANALYSIS_LIMIT` says per index)."""
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA analysis_limit=2000")
        for table in TABLES:
            conn.exec_driver_sql(f"ANALYZE {table}")
    else:
        conn.exec_driver_sql(f"ANALYZE {', '.join(TABLES)}")


def downgrade() -> None:
    for kind in reversed(EVENT_KINDS):
        op.drop_index(f"ix_case_event_{kind}", table_name="case_event")
    op.create_index("ix_case_event_kind", "case_event", ["case_id", "kind", "seq"], unique=False)
    for table, name, before, _after, _condition in reversed(CHANGED):
        op.drop_index(name, table_name=table)
        op.create_index(name, table, before, unique=False)
    _analyze()
