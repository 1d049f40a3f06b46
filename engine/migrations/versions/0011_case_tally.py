"""counts kept as cases change, filled for the existing cases: `case_tally` (engine/tally.py), the
dashboard's registrations per month, unit and category (workflows/dashboard_tally.py), and
`ledger_tally`, the ledger's entries and amounts per quarter, review unit, mediator, unit and status
(engine/ledger.py, counted by its `tally_rows`); and the dashboard's steps done (on time) per unit,
step and month and day of completion

The dashboard's counts are workflows/dashboard_tally.py's, written out here (a migration imports no
case type's module): every case once, under the month of its registration (Asia/Shanghai), the unit
holding it ('' for none) and its `data.category` ('other' when it has none); every completed step
with a due time under its month and its day.

Revision ID: 0011
Revises: 0010
"""
from collections import Counter

import sqlalchemy as sa
from alembic import op

from engine import ledger
from engine.calendar import ZONE
from engine.store import UTCDateTime

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    # SQLite: the rows kept in key order (no rowid), so a range of keys reads its counts directly.
    clustered = {"sqlite_with_rowid": False} if op.get_bind().dialect.name == "sqlite" else {}
    op.create_table(
        "case_tally",
        sa.Column("figure", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("figure", "period", "unit", "key", name=op.f("pk_case_tally")),
        **clustered,
    )
    op.create_table(
        "ledger_tally",
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("review_unit", sa.String(length=64), nullable=False),
        sa.Column("mediator", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("quarter", "review_unit", "mediator", "unit", "status", name=op.f("pk_ledger_tally")),
        **clustered,
    )
    conn = op.get_bind()
    totals = _without_kind(ledger.tally_rows(conn))  # today's rows also have a kind (0013)
    if totals:
        conn.execute(sa.table("ledger_tally", *[sa.column(c) for c in totals[0]]).insert(), totals)
    cases = sa.table("case_record", sa.column("id"), sa.column("jurisdiction"),
                     sa.column("created_at", UTCDateTime()), sa.column("data", sa.JSON()))
    category = cases.c.data["category"].as_string()
    counts: Counter = Counter()
    last = 0
    while True:
        rows = conn.execute(sa.select(cases.c.id, cases.c.jurisdiction, cases.c.created_at, category)
                            .where(cases.c.id > last).order_by(cases.c.id).limit(CHUNK)).all()
        if not rows:
            break
        for _id, unit, created_at, cat in rows:
            counts[(created_at.astimezone(ZONE).strftime("%Y-%m"), unit or "", "other" if cat is None else cat)] += 1
        last = rows[-1][0]
    # The steps with a due time completed, and of them those done by it, per unit that worked the
    # step, step name and period, under the month and under the day of completion.
    tasks = sa.table("human_task", sa.column("id"), sa.column("org_unit"), sa.column("name"), sa.column("status"),
                     sa.column("due_at", UTCDateTime()), sa.column("completed_at", UTCDateTime()))
    steps: Counter = Counter()
    last = 0
    while True:
        rows = conn.execute(sa.select(tasks.c.id, tasks.c.org_unit, tasks.c.name, tasks.c.due_at, tasks.c.completed_at)
                            .where(tasks.c.id > last, tasks.c.status == "completed", tasks.c.due_at.is_not(None))
                            .order_by(tasks.c.id).limit(CHUNK)).all()
        if not rows:
            break
        for _id, unit, name, due_at, done_at in rows:
            local = done_at.astimezone(ZONE)
            for figure in ("steps_done", "steps_on_time") if done_at <= due_at else ("steps_done",):
                for period in (local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")):
                    steps[(figure, period, unit or "", name)] += 1
        last = rows[-1][0]
    tally = sa.table("case_tally", sa.column("figure"), sa.column("period"), sa.column("unit"), sa.column("key"),
                     sa.column("count"))
    rows = [{"figure": "registered", "period": p, "unit": u, "key": k, "count": n} for (p, u, k), n in counts.items()]
    rows += [{"figure": f, "period": p, "unit": u, "key": k, "count": n} for (f, p, u, k), n in steps.items()]
    for start in range(0, len(rows), CHUNK):
        conn.execute(tally.insert(), rows[start:start + CHUNK])


def _without_kind(rows: list[dict]) -> list[dict]:
    summed: dict[tuple, dict] = {}
    for row in rows:
        key = (row["quarter"], row["review_unit"], row["mediator"], row["unit"], row["status"])
        total = summed.setdefault(key, {**dict(zip(("quarter", "review_unit", "mediator", "unit", "status"), key)),
                                        "count": 0, "amount_fen": 0})
        total["count"] += row["count"]
        total["amount_fen"] += row["amount_fen"]
    return list(summed.values())


def downgrade() -> None:
    op.drop_table("ledger_tally")
    op.drop_table("case_tally")
