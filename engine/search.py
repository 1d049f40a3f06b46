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
`index_case` keeps it on every write that sets a case's searchable text (registering);
`rebuild` fills it for every case (the migration, and a seeder after a bulk load)."""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from .rows import Prepared
from .store import Case, CaseSearchTerm

COMMON = 2000  # a term of more cases than this counts as common
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


_INSERT_TERMS = Prepared(insert(CaseSearchTerm.__table__))  # compiled once: every registration runs it


def index_case(session: Session, case_id: int, number: str | None, text: str | None, *, new: bool = False) -> None:
    """(Re)write one case's terms, in the caller's transaction (`new`: a case just inserted, which has
    none to delete yet)."""
    conn = session.connection()
    if not new:
        conn.execute(delete(CaseSearchTerm).where(CaseSearchTerm.case_id == case_id))
    rows = [{"term": term, "case_id": case_id} for term in sorted(terms_of(number, text))]
    if rows:
        _INSERT_TERMS.insert_many(conn, rows)


def index_rows(connection, cases: Iterable[tuple[int, str | None, str | None]]) -> int:
    """Insert the terms of (id, number, search_text) rows whose terms are not there yet (a bulk load's
    new cases, on a SQLAlchemy connection). Returns how many terms were written."""
    rows = [{"term": term, "case_id": case_id} for case_id, number, text in cases
            for term in sorted(terms_of(number, text))]
    if rows:
        connection.execute(insert(CaseSearchTerm), rows)
    return len(rows)


def rebuild(db, *, chunk: int = 2000, progress=None) -> int:
    """Fill the search index afresh for every case (`db`: the store's Database): what a seeder that
    copies cases in bulk calls after loading them, and what the migration does for existing cases.
    Returns how many cases were indexed."""
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
def number_candidates(text: str):
    """A select of the ids of the cases whose number may contain `text` (it begins one of its tails)."""
    prefix = NUMBER_MARK + text.lower()[:TERM_LENGTH - 1]
    return select(CaseSearchTerm.case_id).where(CaseSearchTerm.term >= prefix,
                                                CaseSearchTerm.term < prefix + "\U0010ffff")


def rarest_term(session: Session, text: str) -> str:
    """Of the pairs of characters of `text` (two or more characters), the one fewest cases have
    (counted up to COMMON each; of its first 24 pairs)."""
    return min(sorted(text_terms(text))[:24], key=lambda term: session.scalar(
        select(func.count()).select_from(select(CaseSearchTerm.case_id).where(CaseSearchTerm.term == term)
                                         .limit(COMMON).subquery())))


def text_candidates(session: Session, text: str):
    """A select of the ids of the cases whose searchable text may contain `text` (two or more
    characters): those that have its rarest pair of characters."""
    return select(CaseSearchTerm.case_id).where(CaseSearchTerm.term == rarest_term(session, text))
