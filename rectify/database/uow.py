"""The unit of work: one write transaction of the hazard write path, owned explicitly.

Everything a trigger changes (the hazard row, its events, timers, penalties, outbox entries,
idempotency records) goes through the UnitOfWork its transaction was given: statements run in
order on its one connection, and append-only rows (`add`) and row updates (`defer`) are queued
and sent as one executemany per table (per update statement and set of columns) right before
the next statement (`execute`, `rows`) and at commit. Nothing else flushes them and nothing
needs to remember to: every statement passes through here. A timer sweep of 500 timers thus
sends its 500 events and 500 hazard updates as two statements.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, Result, Table
from sqlalchemy.sql.util import find_tables

from rectify.database.dialect import Dialect

__all__ = ["DEFERRED_BATCH", "Mark", "UnitOfWork", "read_rows"]

Row = dict[str, Any]
DEFERRED_BATCH = 2000
"""Rows of one table queued before they are sent, while `deferring`."""


def read_rows(connection: Connection, statement: Any, **params: Any) -> list[Row]:
    """Rows of a Core select as dicts, JSON-ready (times and dates as ISO 8601)."""
    return [
        {k: v.isoformat() if isinstance(v, date) else v for k, v in row.items()}
        for row in connection.execute(statement, params).mappings()
    ]


_INSERTS: dict[Table, Any] = {}


def _insert(table: Table) -> Any:
    """The table's INSERT construct, built once (its compiled form is cached by SQLAlchemy)."""
    statement = _INSERTS.get(table)
    if statement is None:
        statement = _INSERTS[table] = table.insert()
    return statement


@dataclass(frozen=True)
class Mark:
    """A point in a transaction: statements sent, rows queued per table, commit actions."""

    writes: int
    queued: dict[Any, int]
    actions: int


_TABLES: dict[int, tuple[Any, frozenset[Any]]] = {}


def tables_of(statement: Any) -> frozenset[Any]:
    """The tables a Core statement names (its FROMs, joins, subqueries, DML target); found by
    walking it once per statement object (the write path's statements are built once)."""
    known = _TABLES.get(id(statement))
    if known is not None and known[0] is statement:
        return known[1]
    try:
        found = frozenset(find_tables(statement, include_crud=True, include_joins=True))
    except Exception:  # not a Core construct (text, a string): names nothing we can tell
        found = frozenset()
    if len(_TABLES) > 1000:
        _TABLES.clear()
    _TABLES[id(statement)] = (statement, found)
    return found


class UnitOfWork:
    """One write transaction on one connection, with its queued rows and commit actions."""

    def __init__(self, connection: Connection, dialect: Dialect) -> None:
        self.connection = connection
        self.dialect = dialect
        self.info: dict[str, Any] = {}  # per-transaction caches (e.g. active webhooks)
        # Per key, rows sent together: a Table (INSERT) or (statement, its parameters' keys).
        self._queued: dict[Any, list[Row]] = {}
        self._on_commit: list[Callable[[], None]] = []
        self.writes = 0  # statements sent that changed something
        self._defer = False  # see `deferring`

    def add(self, table: Table, row: Row) -> None:
        """Queue an INSERT of `row` (rows of one table share their keys) in this transaction."""
        rows = self._queued.setdefault(table, [])
        rows.append(row)
        if self._defer and len(rows) >= DEFERRED_BATCH:
            self.flush()

    @contextmanager
    def deferring(self) -> Iterator[None]:
        """Within: a statement that names none of the queued rows' tables runs before they are
        sent, so they go in batches of up to DEFERRED_BATCH (an import's events and timers).
        Only for code that reads the queued tables through `execute` or `rows`, never through
        the connection itself."""
        self._defer = True
        try:
            yield
        finally:
            self._defer = False

    def defer(self, statement: Any, params: Row) -> None:
        """Queue `statement` (an UPDATE with bound parameters) to run with `params` at the next
        flush, executemany with the other queued runs of it that set the same columns."""
        self._queued.setdefault((statement, tuple(params)), []).append(params)

    def flush(self) -> None:
        """Send the queued rows now, in the order their tables (statements) were first queued."""
        queued, self._queued = self._queued, {}
        for key, rows in queued.items():
            statement = _insert(key) if isinstance(key, Table) else key[0]
            self.connection.execute(statement, rows)
            self.writes += 1

    def execute(self, statement: Any, params: Any = None) -> Result[Any]:
        """Run one statement after the queued rows (which it may read or refer to)."""
        if self._queued and not (self._defer and self._apart(statement)):
            self.flush()
        self.writes += bool(getattr(statement, "is_dml", False))
        return self.connection.execute(statement, params)

    def _apart(self, statement: Any) -> bool:
        """True when the statement names tables and none of them has queued rows."""
        named = tables_of(statement)
        queued = {k if isinstance(k, Table) else k[0].table for k in self._queued}
        return bool(named) and not named & queued

    def rows(self, statement: Any, **params: Any) -> list[Row]:
        """The rows of a select, as dicts, times as ISO 8601 (JSON-ready)."""
        self.flush()
        return read_rows(self.connection, statement, **params)

    def mark(self) -> Mark:
        """Where this transaction stands now (see `undo_since`). What was queued before is sent
        first: it belongs to earlier commands, so a refusal after the mark must not count it as
        its own write (which would make the writer redo the whole batch)."""
        self.flush()
        return Mark(self.writes, {t: len(r) for t, r in self._queued.items()}, len(self._on_commit))

    def undo_since(self, mark: Mark) -> bool:
        """Forget the rows queued and commit actions added since `mark`; True when nothing was
        sent to the database since, so the transaction is as it was at `mark`."""
        for table in list(self._queued):
            kept = mark.queued.get(table, 0)
            if kept:
                del self._queued[table][kept:]
            else:
                del self._queued[table]
        del self._on_commit[mark.actions :]
        return self.writes == mark.writes

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run `action` once this transaction has committed (never if it rolls back)."""
        self._on_commit.append(action)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: on an error, what was done or queued inside it is undone."""
        self.flush()
        mark = len(self._on_commit)
        with self.connection.begin_nested():
            try:
                yield
                self.flush()
            except BaseException:
                self._queued.clear()
                del self._on_commit[mark:]
                raise

    def committed(self) -> None:
        """Called by the database once the commit is durable: run the commit actions."""
        actions, self._on_commit = self._on_commit, []
        for action in actions:
            action()

    def discard(self) -> None:
        """Called on rollback: forget what was queued."""
        self._queued.clear()
        self._on_commit.clear()
