"""a smaller store: workflow states compressed (engine/state_codec.py), a closed case's state reduced to
the steps it passed, and case events without the previous event's hash (the chain gives it)

Upgrade, on both stores: `case_record.state` becomes bytes (PostgreSQL: bytea; SQLite keeps its TEXT
column, which holds bytes as they are) and every row is rewritten in format 1 in batches of 500 by id;
a closed case whose workflow has finished keeps only {fengqiao_closed, fengqiao_passed}.
`case_event.prev_hash` is dropped. Downgrade: states back to JSON text (a reduced state stays reduced:
its diagram still shows, its workflow was not kept) and prev_hash filled again from the chain.

Revision ID: 0010
Revises: 0009
"""
import sqlalchemy as sa
from alembic import op
from SpiffWorkflow.util.task import TaskState

from engine import state_codec

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

BATCH = 500
GENESIS = "0" * 64
_COMPLETED, _NOT_FINISHED = int(TaskState.COMPLETED), int(TaskState.NOT_FINISHED_MASK)


def _finished(dct) -> bool:
    """Every task of the state (and of its sub-processes) finished: a workflow nothing runs again."""
    tasks = list((dct.get("tasks") or {}).values())
    for sub in (dct.get("subprocesses") or {}).values():
        tasks.extend((sub.get("tasks") or {}).values())
    return bool(tasks) and not any(t.get("state", 0) & _NOT_FINISHED for t in tasks)


def _reduced(dct) -> dict:
    """What engine.runtime.closed_state keeps: the BPMN ids of the completed steps."""
    done = set(dct.get("fengqiao_passed") or ())
    for tasks in [dct.get("tasks") or {}] + [s.get("tasks") or {} for s in (dct.get("subprocesses") or {}).values()]:
        done.update(t["task_spec"] for t in tasks.values() if t.get("task_spec") and t.get("state") == _COMPLETED)
    return {"fengqiao_closed": 1, "fengqiao_passed": sorted(done)}


def _rewrite_states(convert) -> None:
    conn = op.get_bind()
    case = sa.table("case_record", sa.column("id"), sa.column("state"))  # values go to the driver as they are
    read = sa.text("SELECT id, status, state FROM case_record WHERE id > :after ORDER BY id LIMIT :n")
    write = sa.update(case).where(case.c.id == sa.bindparam("b_id")).values(state=sa.bindparam("b_state"))
    after = 0
    while True:
        batch = conn.execute(read, {"after": after, "n": BATCH}).all()
        if not batch:
            return
        changed = [{"b_id": case_id, "b_state": new} for case_id, status, stored in batch
                   if (new := convert(status, stored)) is not None]
        if changed:
            conn.execute(write, changed)
        after = batch[-1][0]


def _to_current(status, stored):
    dct = None
    if status != "open" and stored:
        dct = state_codec.decode(stored)
        if not dct.get("fengqiao_closed") and _finished(dct):
            return state_codec.encode(_reduced(dct))
    if state_codec.is_current(stored):
        return None
    return state_codec.encode(dct if dct is not None else state_codec.decode(stored))


def _to_text(as_bytes: bool):
    def convert(_status, stored):
        if stored is None or isinstance(stored, str):
            return None
        raw = state_codec.decode_json(stored)
        return raw if as_bytes else raw.decode("utf-8")
    return convert


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE case_record ALTER COLUMN state TYPE bytea USING convert_to(state, 'UTF8')")
    _rewrite_states(_to_current)
    op.drop_column("case_event", "prev_hash")


def downgrade() -> None:
    conn = op.get_bind()
    op.add_column("case_event", sa.Column("prev_hash", sa.String(length=64), nullable=False,
                                          server_default=GENESIS))
    op.execute("UPDATE case_event SET prev_hash = COALESCE((SELECT e.hash FROM case_event e WHERE "
               "e.case_id = case_event.case_id AND e.seq = case_event.seq - 1), '" + GENESIS + "')")
    _rewrite_states(_to_text(as_bytes=conn.dialect.name == "postgresql"))
    if conn.dialect.name == "postgresql":
        op.execute("ALTER TABLE case_event ALTER COLUMN prev_hash DROP DEFAULT")
        op.execute("ALTER TABLE case_record ALTER COLUMN state TYPE text USING convert_from(state, 'UTF8')")
