"""PostgreSQL: `fq_search_terms`, the search index's expression, is costed as the work it is (COST 1000).

At its default cost (100, as for any SQL function) the planner may answer a search's candidates
(`fq_search_terms(number, search_text) @> '{曹芳}' AND id < … ORDER BY id DESC LIMIT 500`) by walking
the primary key backwards and computing the terms of every row it passes, instead of asking the GIN
index: on a 100,000-case store seeded by the code of migration 0020 it estimated that walk at 7,432
against 9,174 for the bitmap scan, and it took 10–18 s (the load test's 4-second search). At COST 1000
the walk is costed at what it does and the plan is the bitmap scan of the index: 38 ms.

SQLite: nothing (its search index is a table of terms).

Revision ID: 0028_loadtest
Revises: 0027_tally
"""
from alembic import op

revision = "0028_loadtest"
down_revision = "0027_tally"
branch_labels = None
depends_on = None

FUNCTION = "fq_search_terms(text, text)"  # engine/search.py FUNCTION


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} COST 1000")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER FUNCTION {FUNCTION} COST 100")
