"""The petition board read flat as open petitions pile up: its open petitions counted in `case_tally`
per unit, owner and set of flags (`board_open`; `board_under` again under every unit above and '*',
so a town's or the county's board reads a row per owner and set of flags), and two partial indexes
of the open cases for its figures that change with time: `ix_case_open_due` by (type, next_due_at)
(the petitions due within a week or past due) and `ix_case_open_age` by (type, created_at) (those
older than the backlog period), each holding the columns the board reads of them (`flags` its last
key column on SQLite, `flags` and `id` INCLUDE columns on PostgreSQL, as ix_case_open_board's).

The counts are workflows/board_tally.py's, written out here (a migration imports no case type's
module): every open petition (type `petition`) under its unit ('' for none), its owner ('' for
none) and the letters of the board's flags it carries (b backlog, f final_matter, g group, r
repeat, in that order); and as `board_under` under its unit, each unit above it and '*'.

Revision ID: 0022_board
Revises: 0021_pack
"""
import json
from collections import Counter

import sqlalchemy as sa
from alembic import op

revision = "0022_board"
down_revision = "0021_pack"
branch_labels = None
depends_on = None

FIGURES = ("board_open", "board_under")
LETTERS = {"backlog": "b", "final_matter": "f", "group": "g", "repeat": "r"}
ALL = "*"
OPEN = sa.text("status = 'open'")
INDEXES = {"ix_case_open_due": ["type", "next_due_at", "jurisdiction", "owner", "status"],
           "ix_case_open_age": ["type", "created_at", "jurisdiction", "owner", "status"]}

tally = sa.table("case_tally", sa.column("figure"), sa.column("period"), sa.column("unit"), sa.column("key"),
                 sa.column("count"))


def _flags(text) -> set:
    value = json.loads(text) if text else None
    return set(value or ()) if isinstance(value, list) else set()


def upgrade() -> None:
    conn = op.get_bind()
    for name, columns in INDEXES.items():
        if conn.dialect.name == "postgresql":
            op.create_index(name, "case_record", columns, postgresql_where=OPEN, postgresql_include=["flags", "id"])
        else:
            op.create_index(name, "case_record", [*columns, "flags"], sqlite_where=OPEN)
    parents = dict(conn.execute(sa.text("SELECT code, parent FROM org_unit")).all())
    counts: Counter = Counter()
    for jurisdiction, owner, flags, n in conn.execute(sa.text(
            "SELECT jurisdiction, owner, CAST(flags AS TEXT), count(*) FROM case_record "
            "WHERE type = 'petition' AND status = 'open' GROUP BY jurisdiction, owner, CAST(flags AS TEXT)")):
        present = _flags(flags)
        code = "".join(letter for flag, letter in LETTERS.items() if flag in present)
        unit = jurisdiction or ""
        counts[("board_open", code, unit, owner or "")] += n
        above, current = [], jurisdiction
        while current and parents.get(current) and parents[current] not in above:
            current = parents[current]
            above.append(current)
        for upper in dict.fromkeys((*((unit,) if unit else ()), *above, ALL)):
            counts[("board_under", code, upper, owner or "")] += n
    rows = [{"figure": f, "period": p, "unit": u, "key": k, "count": n} for (f, p, u, k), n in counts.items() if n]
    if rows:
        op.bulk_insert(tally, rows)
    op.execute("ANALYZE case_record")


def downgrade() -> None:
    op.execute(tally.delete().where(tally.c.figure.in_(FIGURES)))
    for name in INDEXES:
        op.drop_index(name, table_name="case_record")
