"""Document numbers (文号): the next number of an office, kind and year, taken in the issuing
step's own transaction.

One upsert moves the counter row and returns the number. The row stays locked until the
transaction ends (PostgreSQL: a second transaction issuing the same kind waits on it; SQLite:
the write lock already serialises writers), so numbers are unique and gapless; a transaction
that rolls back takes its number back with it, and the next one gets it: no gap, and no number
that was ever issued (committed) is given twice.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite

from rectify.database.uow import UnitOfWork
from rectify.documents.models import DocumentCounter

__all__ = ["next_seq"]

COUNTERS = DocumentCounter.__table__  # type: ignore[attr-defined]


def _upsert(insert: Any) -> Any:
    # INSERT … ON CONFLICT DO UPDATE … RETURNING: PostgreSQL 9.5+, SQLite 3.35+.
    stmt = insert(COUNTERS)
    return stmt.on_conflict_do_update(
        index_elements=[COUNTERS.c.office, COUNTERS.c.kind, COUNTERS.c.year],
        set_={"last": COUNTERS.c.last + 1},
    ).returning(COUNTERS.c.last)


_NEXT = {True: _upsert(sqlite.insert), False: _upsert(postgresql.insert)}


def next_seq(uow: UnitOfWork, *, office: str, kind: str, year: int) -> int:
    """The next number (1, 2, 3 …) of this office, kind and year, in the caller's transaction."""
    # The VALUES come from the parameters: the statement stays the one built (and compiled) once.
    params = {"office": office, "kind": kind, "year": year, "last": 1}
    return int(uow.execute(_NEXT[uow.dialect.is_sqlite], params).scalar_one())
