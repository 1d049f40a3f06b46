"""PostgreSQL: the search index of cases also holds the triples of characters of each case number
(engine/search.py FUNCTION_SQL), and a search of three or more characters of a number asks GIN for
its triples instead of its pairs.

Most of a case number is digits, and each pair of digits is in some 5 % of the numbers: an auditor's
search of a number's tail ("004621") had GIN walk lists of tens of thousands of cases at 1,000,000
and check on the rows the many that had every pair of the tail but not the tail (p95 7 ms at 10,000
cases, 20 ms at 1,000,000). A triple of digits is in a tenth as many numbers.

The GIN index rebuilt over the new function (the function's body changes, so the index built over
the old one is dropped first and built afresh from the case rows), then `ANALYZE case_record`: the
statistics of the index's expression tell the search which terms are common (search._common_pairs).
SQLite: nothing (its index is a table of every tail of the number, searched by prefix).

Downgrade: the function of migration 0012 (pairs only) and the index over it, rebuilt likewise.

Revision ID: 0025_triples
Revises: 0024_claimed
"""
from alembic import op

from engine import search

revision = "0025_triples"
down_revision = "0024_claimed"
branch_labels = None
depends_on = None


def _rebuild(function_sql: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {search.INDEX}")
    op.execute(function_sql)
    op.execute(search.INDEX_SQL)
    op.execute("ANALYZE case_record")


def upgrade() -> None:
    _rebuild(search.FUNCTION_SQL)


def downgrade() -> None:
    _rebuild(search.PAIRS_FUNCTION_SQL)
