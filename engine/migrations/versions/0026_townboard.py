"""`case_reach`: who reaches an open petition otherwise than by its unit, so a town's petition office
reads the board's petitions outside its units (those it registered, owns, or whose steps it worked or
may work) as a range of its own rows, not by trying every open petition of the county against its
task history (workflows/board_reach.py, usecases/petitions.py `board`).

The rows are workflows/board_reach.py's, written out here (a migration imports no case type's
module): per open petition (type `petition`) and unit holding it ('' for none), `o:<owner>`,
`r:<registrant>`, `h:<user>` for whoever completed or holds (`assignee`, any status) one of its
steps, and `w:<unit>:<role>` ('' for no unit) for each unclaimed ready step. Built in batches of open
petitions in id order, their steps read by case.

Revision ID: 0026_townboard
Revises: 0025_triples
"""
import sqlalchemy as sa
from alembic import op

revision = "0026_townboard"
down_revision = "0025_triples"
branch_labels = None
depends_on = None

BATCH = 2000

reach = sa.table("case_reach", sa.column("who"), sa.column("unit"), sa.column("case_id"))


def _ways(owner, registered_by, steps) -> set:
    found = set()
    if owner:
        found.add(f"o:{owner}")
    if registered_by:
        found.add(f"r:{registered_by}")
    for completed_by, assignee, status, org_unit, role in steps:
        if completed_by:
            found.add(f"h:{completed_by}")
        if assignee:
            found.add(f"h:{assignee}")
        elif status == "ready" and role:
            found.add(f"w:{org_unit or ''}:{role}")
    return found


def upgrade() -> None:
    conn = op.get_bind()
    op.create_table(
        "case_reach",
        sa.Column("who", sa.String(130), nullable=False),
        sa.Column("unit", sa.String(64), nullable=False),
        sa.Column("case_id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), nullable=False),
        sa.PrimaryKeyConstraint("who", "unit", "case_id", name="pk_case_reach"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_case_reach_case", "case_reach", ["case_id"])
    cases_sql = sa.text("SELECT id, owner, registered_by, jurisdiction FROM case_record "
                        "WHERE type = 'petition' AND status = 'open' AND id > :last ORDER BY id LIMIT :n")
    steps_sql = sa.text("SELECT DISTINCT case_id, completed_by, assignee, status, org_unit, role FROM human_task "
                        "WHERE case_id IN :ids").bindparams(sa.bindparam("ids", expanding=True))
    last = 0
    while True:
        cases = conn.execute(cases_sql, {"last": last, "n": BATCH}).all()
        if not cases:
            break
        steps: dict = {}
        for case_id, *facts in conn.execute(steps_sql, {"ids": [c[0] for c in cases]}):
            steps.setdefault(case_id, []).append(facts)
        rows = [{"who": who, "unit": jurisdiction or "", "case_id": case_id}
                for case_id, owner, registered_by, jurisdiction in cases
                for who in sorted(_ways(owner, registered_by, steps.get(case_id, ())))]
        if rows:
            conn.execute(reach.insert(), rows)
        last = cases[-1][0]
    op.execute("ANALYZE case_reach")


def downgrade() -> None:
    op.drop_index("ix_case_reach_case", table_name="case_reach")
    op.drop_table("case_reach")
