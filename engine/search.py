"""The search index of cases: the terms a search for a case's number, a party's name or a word of
its summary is looked up by, on a B-tree index, on SQLite and PostgreSQL alike.

Chinese names are two or three characters, shorter than the trigrams that SQLite's FTS5 trigram
tokenizer and PostgreSQL's pg_trgm index, and pg_trgm ignores CJK characters under the C locale; so
the index is our own table of terms (`case_search_term`, primary key (term, case_id)):

- every two characters side by side of the searchable text (`search_text`: the parties' names and
  the summary), lowercased: a search for two or more characters is a substring of the text only if
  each of its pairs is a term of the case;
- every tail of the case number, lowercased and marked with a leading `#`: a search is a substring
  of the number exactly when it begins one of the number's tails.

The index finds candidates; the search then checks the case's own columns with the same conditions
as before (`LIKE`), so what it finds is exactly what a scan would find, only without the scan.
`index_case` keeps it on every write that sets a case's searchable text (registering: a case's
number and searchable text are set once); `rebuild` fills it for every case (the migration, and a
seeder after a bulk load).

On PostgreSQL (since migration 0012) there is no table: a GIN index over `fq_search_terms(number,
search_text)`, a SQL function giving the same pairs of characters of the text and the pairs of the
number marked `#` (`FUNCTION_SQL`), kept by PostgreSQL itself on every write of a case row. A GIN
index holds each term once with a compressed list of its rows, about a twentieth of the table's
bytes. A search asks for the cases having every pair of its text (`@>`), which GIN answers by
intersecting the lists; for the number, every marked triple of the search (a tail's prefix cannot
be asked of GIN), or its one pair when it has two characters. Both are checked on the columns
afterwards, as on SQLite.

Since migration 0025 the function gives the number's triples of characters (marked `#`) besides
its pairs. A case number is mostly digits, and each pair of digits is in some 5 % of the numbers
(each of the hundred pairs in any of the five places of a six-digit serial): an auditor's search of
a number's tail ("004621") had GIN walk lists of tens of thousands of cases at 1,000,000 and check
the many that had every pair but not the tail. A triple of digits is in some 0.4 %: its list is a
tenth as long and the candidates of three or four of them are the few cases that hold the tail."""
from __future__ import annotations

import time
from collections.abc import Iterable

from sqlalchemy import Text, delete, func, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from .rows import Prepared
from .store import Case, CaseSearchTerm

COMMON = 2000  # a term of more cases than this counts as common
WINDOW = 2000  # PostgreSQL: the newest cases a text search reads on the primary key before the index
NUMBER_MARK = "#"
TERM_LENGTH = 40  # the column's width: a tail of a number (32 at most) with its mark, or two characters


def text_terms(text: str | None) -> set[str]:
    """The pairs of characters side by side of a searchable text (lowercased)."""
    folded = (text or "").lower()
    return {folded[i:i + 2] for i in range(len(folded) - 1)}


def number_terms(number: str | None) -> set[str]:
    folded = (number or "").lower()
    return {NUMBER_MARK + folded[i:][:TERM_LENGTH - 1] for i in range(len(folded))}


def terms_of(number: str | None, text: str | None) -> set[str]:
    return text_terms(text) | number_terms(number)


FUNCTION = "fq_search_terms"
# PostgreSQL: the terms of a case row, as `text_terms`, `number_pairs` and `number_triples` give them
# (lower() of ASCII and CJK as Python's); IMMUTABLE so that an index may be built over it. A text
# pair has two characters, a number's pair three with its mark and a triple four: never the same term.
# COST 1000 as migration 0028 sets it (the planner must not compute it row by row along an index).
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(number text, body text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE COST 1000 AS $$
  SELECT ARRAY(SELECT DISTINCT term FROM (
    SELECT substr(lower(body), i, 2) AS term FROM generate_series(1, length(body) - 1) AS i
    UNION ALL
    SELECT '{NUMBER_MARK}' || substr(lower(number), i, 2) FROM generate_series(1, length(number) - 1) AS i
    UNION ALL
    SELECT '{NUMBER_MARK}' || substr(lower(number), i, 3) FROM generate_series(1, length(number) - 2) AS i
  ) AS terms ORDER BY term)
$$"""
# The function as migration 0012 made it (the text's pairs and the number's pairs), for that
# migration and for 0025's downgrade: a migration builds what its revision had.
PAIRS_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}(number text, body text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT ARRAY(SELECT DISTINCT term FROM (
    SELECT substr(lower(body), i, 2) AS term FROM generate_series(1, length(body) - 1) AS i
    UNION ALL
    SELECT '{NUMBER_MARK}' || substr(lower(number), i, 2) FROM generate_series(1, length(number) - 1) AS i
  ) AS terms ORDER BY term)
$$"""
INDEX = "ix_case_record_search_terms"
INDEX_SQL = f"CREATE INDEX {INDEX} ON case_record USING gin ({FUNCTION}(number, search_text))"


def number_pairs(number: str | None) -> set[str]:
    """PostgreSQL: the pairs of characters side by side of a case number, lowercased and marked `#`."""
    return {NUMBER_MARK + pair for pair in text_terms(number)}


def number_triples(number: str | None) -> set[str]:
    """PostgreSQL: the triples of characters side by side of a case number, lowercased and marked `#`."""
    folded = (number or "").lower()
    return {NUMBER_MARK + folded[i:i + 3] for i in range(len(folded) - 2)}


def number_grams(number: str | None) -> set[str]:
    """PostgreSQL: every term the GIN index holds of a case number (`FUNCTION_SQL`)."""
    return number_pairs(number) | number_triples(number)


def searched_number_terms(text: str) -> set[str]:
    """PostgreSQL: the terms of the number a search of `text` must find: its triples (three or more
    characters: a number holds the text only if it has each of them), else its one pair."""
    return number_triples(text) if len(text) >= 3 else number_pairs(text)


def _terms_column():
    return getattr(func, FUNCTION)(Case.number, Case.search_text, type_=ARRAY(Text))


def _postgres(session_or_connection) -> bool:
    # a session (an ORM one, or a command's: engine/db.py CommandSession) answers get_bind(); a connection not
    bind = session_or_connection.get_bind() if hasattr(session_or_connection, "get_bind") else session_or_connection
    return bind.dialect.name == "postgresql"


_INSERT_TERMS = Prepared(insert(CaseSearchTerm.__table__))  # compiled once: every registration runs it


def index_case(session: Session, case_id: int, number: str | None, text: str | None) -> None:
    """Write a newly registered case's terms, in the caller's transaction (PostgreSQL: its GIN index
    follows the row by itself)."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return
    rows = [{"term": term, "case_id": case_id} for term in sorted(terms_of(number, text))]
    if rows:
        _INSERT_TERMS.insert_many(conn, rows)


def index_rows(connection, cases: Iterable[tuple[int, str | None, str | None]], *, into_table: bool = False) -> int:
    """Insert the terms of (id, number, search_text) rows whose terms are not there yet (a bulk load's
    new cases, on a SQLAlchemy connection). Returns how many terms were written (PostgreSQL: none
    to write, unless `into_table`: migration 0012's downgrade refilling the table)."""
    if _postgres(connection) and not into_table:
        return 0
    rows = [{"term": term, "case_id": case_id} for case_id, number, text in cases
            for term in sorted(terms_of(number, text))]
    if rows:
        connection.execute(insert(CaseSearchTerm), rows)
    return len(rows)


def rebuild(db, *, chunk: int = 2000, progress=None) -> int:
    """Fill the search index afresh for every case (`db`: the store's Database): what a seeder that
    copies cases in bulk calls after loading them, and what the migration does for existing cases.
    Returns how many cases were indexed (PostgreSQL: the GIN index is kept by the database; none)."""
    if db.is_postgres:
        return 0
    with db.write() as session:
        session.execute(delete(CaseSearchTerm))
    done, last = 0, 0
    while True:
        with db.write() as session:
            rows = session.execute(select(Case.id, Case.number, Case.search_text).where(Case.id > last)
                                   .order_by(Case.id).limit(chunk)).all()
            if not rows:
                return done
            index_rows(session.connection(), rows)
        last, done = rows[-1][0], done + len(rows)
        if progress:
            progress(done)


# ------------------------------------------------------------------------------ looking up
COMMON_SHARE = 0.05  # PostgreSQL: a term (pair or triple) of more than this share of cases is not asked of GIN
_COMMON: dict[str, tuple[float, frozenset[str]]] = {}  # by store: (when read, its common pairs)


def _common_pairs(session) -> frozenset[str]:
    """PostgreSQL: the terms more than COMMON_SHARE of the cases have, from the planner's statistics
    of the GIN index's expression (`ANALYZE`), read at most every ten minutes per store."""
    bind = session.get_bind()
    key, now = str(bind.engine.url), time.monotonic()
    known = _COMMON.get(key)
    if known is not None and now - known[0] < 600:
        return known[1]
    row = session.execute(sql_text(
        "SELECT most_common_elems::text::text[], most_common_elem_freqs FROM pg_stats "
        "WHERE schemaname = current_schema() AND tablename = :index"), {"index": INDEX}).first()
    common = frozenset(term for term, share in zip(row[0] or (), row[1] or ()) if share > COMMON_SHARE) \
        if row is not None else frozenset()
    _COMMON[key] = (now, common)
    return common


def _asked(session, pairs: set[str]) -> list[str]:
    """The pairs to ask GIN for: all but the common ones (each of which, in most cases' lists, would
    make GIN walk a list of most of the cases: 48 ms instead of 3 for a case number at 1,000,000
    cases), or all when every one is common. Fewer pairs find more candidates, never fewer; the search
    checks each on the columns. A number's digit pairs are mostly common at 1,000,000 cases, so a
    number's search of three or more characters asks for its triples (searched_number_terms)."""
    common = _common_pairs(session)
    rare = sorted(pair for pair in pairs if pair not in common)
    return rare or sorted(pairs)


def number_candidates(session: Session, text: str, after: int | None = None):
    """A select of the ids of the cases whose number may contain `text` (two or more characters;
    SQLite: it begins one of its tails; PostgreSQL: the number has every triple of it, or its pair),
    below `after`."""
    if _postgres(session):
        pairs = _asked(session, searched_number_terms(text))
        query = select(Case.id).where(_terms_column().contains(pairs)) if pairs else select(Case.id)
        return query.where(Case.id < after) if after else query
    prefix = NUMBER_MARK + text.lower()[:TERM_LENGTH - 1]
    query = select(CaseSearchTerm.case_id).where(CaseSearchTerm.term >= prefix,
                                                 CaseSearchTerm.term < prefix + "\U0010ffff")
    return query.where(CaseSearchTerm.case_id < after) if after else query


def row_condition(session: Session, text: str, *, number: bool = False):
    """PostgreSQL: the GIN question of number_candidates (`number`) or text_candidates as a condition on
    the case row itself (None: every case may hold it; SQLite: None, its index is a table of terms to
    select ids from), for a statement that filters the rows it reads: one bitmap heap scan of GIN's
    candidates with the search's LIKE on the same row, instead of the candidates' ids joined back to
    their rows twice (an auditor's count of 400 cases read 2,494 buffers that way, 76 this way)."""
    if not _postgres(session):
        return None
    pairs = _asked(session, searched_number_terms(text)) if number else _asked(session, text_terms(text))
    return _terms_column().contains(pairs) if pairs else None


def rarest_term(session: Session, text: str) -> str:
    """SQLite: of the pairs of characters of `text` (two or more characters), the one fewest cases
    have (counted up to COMMON each; of its first 24 pairs)."""
    return min(sorted(text_terms(text))[:24], key=lambda term: session.scalar(
        select(func.count()).select_from(select(CaseSearchTerm.case_id).where(CaseSearchTerm.term == term)
                                         .limit(COMMON).subquery())))


def text_candidates(session: Session, text: str):
    """A select of the ids of the cases whose searchable text may contain `text` (two or more
    characters): SQLite: those that have its rarest pair of characters; PostgreSQL: those that have
    every pair of it."""
    if _postgres(session):
        return select(Case.id).where(_terms_column().contains(_asked(session, text_terms(text))))
    return select(CaseSearchTerm.case_id).where(CaseSearchTerm.term == rarest_term(session, text))


def newest_with_text(session: Session, text: str, after: int | None, first: int, last_size: int):
    """Batches of the ids of the cases whose text may contain `text`, newest first (below `after`),
    read on the index: `first` ids, growing fourfold up to `last_size`."""
    if _postgres(session):
        # GIN gives a term's cases in no order: a common word (most cases of a kind) would be read
        # whole and sorted. So the newest WINDOW cases are read first on the primary key, and only
        # those below them on the index: a common word fills the page from the window.
        newest = select(Case.id, Case.search_text).order_by(Case.id.desc()).limit(WINDOW)
        newest = newest.where(Case.id < after).subquery() if after else newest.subquery()
        window = session.execute(select(newest.c.id, func.lower(newest.c.search_text).contains(text.lower(),
                                                                                            autoescape=True))
                                 .order_by(newest.c.id.desc())).all()
        batch = [case_id for case_id, holds in window if holds]
        if batch:
            yield batch
        if len(window) < WINDOW:
            return
        after = window[-1][0]
        candidates, column = text_candidates(session, text), Case.id
    else:
        term = rarest_term(session, text)
        candidates, column = select(CaseSearchTerm.case_id).where(CaseSearchTerm.term == term), CaseSearchTerm.case_id
    size, last = first, after
    while True:
        query = candidates.where(column < last) if last else candidates
        batch = list(session.scalars(query.order_by(column.desc()).limit(size)))
        if batch:
            yield batch
        if len(batch) < size:
            return
        last, size = batch[-1], min(size * 4, last_size)
