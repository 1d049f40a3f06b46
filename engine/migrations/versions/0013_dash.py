"""the dashboard's remaining figures from kept counts: closed disputes per outcome, unit and period of
closing in `case_tally` (figure `closed`, also under the unit '*' for every unit); the registrations
again under '*'; the steps done (on time) counted again under every unit above the one that worked
them and under '*' (`steps_done_under`, `steps_on_time_under`); open petitions per owner, unit and
registration (`petitions_open`, `petitions_flagged`: the backlog by owner leader); `ledger_tally`
kept per kind of entry too (the dashboard's subsidy counts subsidies and reversals only); the
index `ix_task_ready_due` (the steps past their due time); and `ix_case_event_message_at`, the
messages cases received by time (a partial index: the quarter's court answers)

The counts are workflows/dashboard_tally.py's, written out here (a migration imports no case type's
module): every closed dispute (type `mediation`) under the month and the day of its closing
(Asia/Shanghai), its unit ('' for none) and its outcome ('' for none); the steps' new rows from the
steps' existing rows and the org tree. `ledger_tally` is counted afresh from the entries and their
newest status row.

Revision ID: 0013
Revises: 0012
"""
from collections import Counter

import sqlalchemy as sa
from alembic import op

from engine.calendar import ZONE
from engine.store import UTCDateTime

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

CHUNK = 5000
ALL = "*"
UNDER = {"steps_done": "steps_done_under", "steps_on_time": "steps_on_time_under"}
NEW_FIGURES = ("closed", *UNDER.values(), "petitions_open", "petitions_flagged")
OLD_KEY = ("quarter", "review_unit", "mediator", "unit", "status")

tally = sa.table("case_tally", sa.column("figure"), sa.column("period"), sa.column("unit"), sa.column("key"),
                 sa.column("count"))


def _ledger_tally(with_kind: bool) -> None:
    clustered = {"sqlite_with_rowid": False} if op.get_bind().dialect.name == "sqlite" else {}
    key = [*OLD_KEY, "kind"] if with_kind else list(OLD_KEY)
    op.create_table(
        "ledger_tally",
        sa.Column("quarter", sa.String(length=8), nullable=False),
        sa.Column("review_unit", sa.String(length=64), nullable=False),
        sa.Column("mediator", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        *([sa.Column("kind", sa.String(length=16), nullable=False)] if with_kind else []),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*key, name=op.f("pk_ledger_tally")),
        **clustered,
    )


def _ledger_rows(conn, with_kind: bool) -> list[dict]:
    """Every entry under its newest status row and its case's unit now (engine/ledger.py's tally_rows)."""
    entry = sa.table("ledger_entry", sa.column("id"), sa.column("case_id"), sa.column("quarter"),
                     sa.column("review_unit"), sa.column("mediator"), sa.column("kind"), sa.column("amount_fen"))
    event = sa.table("ledger_event", sa.column("id"), sa.column("entry_id"), sa.column("status"))
    case = sa.table("case_record", sa.column("id"), sa.column("jurisdiction"))
    newest = (sa.select(sa.func.max(event.c.id)).where(event.c.entry_id == entry.c.id)
              .correlate(entry).scalar_subquery())
    keys = [entry.c.quarter, sa.func.coalesce(entry.c.review_unit, ""), sa.func.coalesce(entry.c.mediator, ""),
            sa.func.coalesce(case.c.jurisdiction, ""), event.c.status]
    if with_kind:
        keys.append(entry.c.kind)
    query = (sa.select(*keys, sa.func.count(), sa.func.coalesce(sa.func.sum(entry.c.amount_fen), 0))
             .select_from(entry).join(event, event.c.id == newest).join(case, case.c.id == entry.c.case_id)
             .group_by(*keys))
    names = [*OLD_KEY, "kind"] if with_kind else list(OLD_KEY)
    n = len(names)
    return [{**dict(zip(names, row[:n])), "count": row[n], "amount_fen": int(row[n + 1])}
            for row in conn.execute(query)]


def _insert(conn, table: str, rows: list[dict]) -> None:
    if not rows:
        return
    target = sa.table(table, *[sa.column(c) for c in rows[0]])
    for start in range(0, len(rows), CHUNK):
        conn.execute(target.insert(), rows[start:start + CHUNK])


def upgrade() -> None:
    conn = op.get_bind()
    # ledger_tally: one more key column (a primary key column: the table is made afresh).
    rows = _ledger_rows(conn, with_kind=True)
    op.drop_table("ledger_tally")
    _ledger_tally(with_kind=True)
    _insert(conn, "ledger_tally", rows)

    counts: Counter = Counter()
    # Closed disputes, from ix_case_closed (type, status, closed_at, outcome, jurisdiction).
    cases = sa.table("case_record", sa.column("type"), sa.column("status"), sa.column("outcome"),
                     sa.column("jurisdiction"), sa.column("closed_at", UTCDateTime()))
    closed = (sa.select(cases.c.closed_at, cases.c.outcome, cases.c.jurisdiction)
              .where(cases.c.type == "mediation", cases.c.status == "closed", cases.c.closed_at.is_not(None)))
    for part in conn.execute(closed.execution_options(stream_results=True)).partitions(CHUNK):
        for closed_at, outcome, unit in part:
            local = closed_at.astimezone(ZONE)
            for where in (unit or "", ALL):
                for period in (local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")):
                    counts[("closed", period, where, outcome or "")] += 1
    # The steps' counts again under every unit above the step's and under ALL.
    units = sa.table("org_unit", sa.column("code"), sa.column("parent"))
    parents = {code: parent for code, parent in conn.execute(sa.select(units.c.code, units.c.parent))}
    steps = sa.select(tally.c.figure, tally.c.period, tally.c.unit, tally.c.key, tally.c.count).where(
        tally.c.figure.in_(list(UNDER)))
    registered = sa.select(tally.c.period, tally.c.key, sa.func.sum(tally.c.count)).where(
        tally.c.figure == "registered").group_by(tally.c.period, tally.c.key)
    for period, key, n in conn.execute(registered).all():
        counts[("registered", period, ALL, key)] += int(n)
    for figure, period, unit, key, n in conn.execute(steps).all():
        above, current = [], unit
        while current and parents.get(current) and parents[current] not in above:
            current = parents[current]
            above.append(current)
        for where in (*above, ALL):
            counts[(UNDER[figure], period, where, key)] += n
    # Open petitions per owner, unit (and ALL) and registration ('' for all time, month, day); those
    # marked backlog by month and day again.
    petitions = sa.table("case_record", sa.column("type"), sa.column("status"), sa.column("owner"),
                         sa.column("flags", sa.JSON()), sa.column("jurisdiction"), sa.column("created_at", UTCDateTime()))
    query = (sa.select(petitions.c.owner, petitions.c.flags, petitions.c.jurisdiction, petitions.c.created_at)
             .where(petitions.c.type == "petition", petitions.c.status == "open"))
    for part in conn.execute(query.execution_options(stream_results=True)).partitions(CHUNK):
        for owner, flags, unit, created_at in part:
            local = created_at.astimezone(ZONE)
            month, day = local.strftime("%Y-%m"), local.strftime("%Y-%m-%d")
            for where in (unit or "", ALL):
                for period in ("", month, day):
                    counts[("petitions_open", period, where, owner or "")] += 1
                if "backlog" in (flags or ()):
                    for period in (month, day):
                        counts[("petitions_flagged", period, where, owner or "")] += 1
    _insert(conn, "case_tally", [{"figure": f, "period": p, "unit": u, "key": k, "count": n}
                                 for (f, p, u, k), n in counts.items() if n])
    op.create_index("ix_task_ready_due", "human_task", ["status", "due_at", "org_unit", "case_id"])
    # The planner's statistics of the tables filled here (PostgreSQL would plan the new rows as none).
    for table in ("case_tally", "ledger_tally"):
        op.execute(f"ANALYZE {table}")
    messages = sa.text("kind = 'message_received'")
    op.create_index("ix_case_event_message_at", "case_event", ["at", "case_id"], sqlite_where=messages,
                    postgresql_where=messages)


def downgrade() -> None:
    conn = op.get_bind()
    op.drop_index("ix_task_ready_due", table_name="human_task")
    op.drop_index("ix_case_event_message_at", table_name="case_event")
    conn.execute(tally.delete().where(tally.c.figure.in_(NEW_FIGURES)))
    conn.execute(tally.delete().where(tally.c.figure == "registered", tally.c.unit == ALL))
    rows = _ledger_rows(conn, with_kind=False)
    op.drop_table("ledger_tally")
    _ledger_tally(with_kind=False)
    _insert(conn, "ledger_tally", rows)
