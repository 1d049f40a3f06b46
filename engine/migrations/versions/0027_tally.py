"""The steps done and the steps done on time, one `case_tally` row instead of two.

Each completed step with a due time was counted in two figures of its own (`steps_done`, and
`steps_on_time` when done by its due instant), each under its month and its day, its unit and every
unit above it: at 10,000 cases about 56,000 rows of 83,000, nearly all of them in pairs with the
same period, unit and step. A row now holds a second count, `part` (0 for the figures without one):
the figure `steps` counts the steps done and, in its part, those of them on time; `steps_under` is
the same under the units above (workflows/dashboard_tally.py). What the dashboard reads is the same
sums from half the rows and half the index entries.

Existing rows are converted in the database (a row per period, unit and step of the two figures,
the same sums), then the table and its key rewritten and analysed (PostgreSQL: VACUUM FULL is not
run here, it cannot run inside the migration's transaction; a plain VACUUM, or autovacuum, lets the
rows written later reuse the space). The downgrade writes the two figures back from the counts and
parts and drops the column.

Revision ID: 0027_tally
Revises: 0026_townboard
"""
import sqlalchemy as sa
from alembic import op

revision = "0027_tally"
down_revision = "0026_townboard"
branch_labels = None
depends_on = None

# new figure → (old figure of the steps done, old figure of those on time)
PAIRS = {"steps": ("steps_done", "steps_on_time"), "steps_under": ("steps_done_under", "steps_on_time_under")}


def upgrade() -> None:
    op.add_column("case_tally", sa.Column("part", sa.Integer(), nullable=False, server_default="0"))
    for new, (done, on_time) in PAIRS.items():
        op.execute(sa.text(
            "INSERT INTO case_tally (figure, period, unit, key, count, part) "
            "SELECT :new, period, unit, key, SUM(CASE WHEN figure = :done THEN count ELSE 0 END), "
            "SUM(CASE WHEN figure = :on_time THEN count ELSE 0 END) FROM case_tally "
            "WHERE figure IN (:done, :on_time) GROUP BY period, unit, key ORDER BY period, unit, key"
        ).bindparams(new=new, done=done, on_time=on_time))
        op.execute(sa.text("DELETE FROM case_tally WHERE figure IN (:done, :on_time)")
                   .bindparams(done=done, on_time=on_time))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("REINDEX TABLE case_tally")  # the key without the deleted rows' entries
    op.execute("ANALYZE case_tally")


def downgrade() -> None:
    for new, (done, on_time) in PAIRS.items():
        for figure, column in ((done, "count"), (on_time, "part")):
            op.execute(sa.text(
                f"INSERT INTO case_tally (figure, period, unit, key, count, part) "  # {column}: count or part
                f"SELECT :figure, period, unit, key, {column}, 0 FROM case_tally WHERE figure = :new AND {column} <> 0"
            ).bindparams(figure=figure, new=new))
        op.execute(sa.text("DELETE FROM case_tally WHERE figure = :new").bindparams(new=new))
    op.drop_column("case_tally", "part")  # SQLite: ALTER TABLE … DROP COLUMN (3.35+), the table kept WITHOUT ROWID
    op.execute("ANALYZE case_tally")
