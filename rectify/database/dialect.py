"""What differs between SQLite and PostgreSQL, in one place.

SQLite (one file, one writer at a time): WAL with synchronous=FULL, write transactions begin
IMMEDIATE so writers queue instead of failing on a stale snapshot, and row locks are not needed.
PostgreSQL (several processes): rows are locked FOR UPDATE, claims skip what another process
holds, advisory locks serialise what has no row to lock, and streamed reads use server cursors.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Engine, event, func, select, text

__all__ = ["Dialect"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: the "begin" hook below issues BEGIN itself.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")  # an acknowledged commit survives a power cut
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    mode = "IMMEDIATE" if conn.get_execution_options().get("rectify_write") else "DEFERRED"
    conn.exec_driver_sql(f"BEGIN {mode}")


class Dialect:
    """The backend-specific parts of statements and transactions."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.is_sqlite = name == "sqlite"

    def configure(self, engine: Engine) -> None:
        """Per-connection settings of the backend (SQLite: pragmas and BEGIN IMMEDIATE)."""
        if self.is_sqlite:
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)

    def for_update(self, statement: Any) -> Any:
        """Lock the selected rows until commit (SQLite's write transaction already holds all)."""
        return statement if self.is_sqlite else statement.with_for_update()

    def claim(self, statement: Any, *, of: list[Any]) -> Any:
        """Lock the selected rows, skipping rows another process holds (work sharing)."""
        return statement if self.is_sqlite else statement.with_for_update(of=of, skip_locked=True)

    def lock_declared(self, uow: Any, commands: list[Any]) -> None:
        """Lock, in one order for every process (table name, then id), the rows the commands of
        a batch declare (`command.locks`: (table, id) pairs) before any of them runs. Two
        processes' batches then queue on each other instead of locking in arrival order and
        deadlocking (PostgreSQL; SQLite's write lock already serialises batches)."""
        wanted: dict[Any, set[int]] = {}
        for command in commands:
            for table, row_id in getattr(command, "locks", ()):
                wanted.setdefault(table, set()).add(row_id)
        for table in sorted(wanted, key=lambda t: t.name):
            ids = sorted(wanted[table])
            uow.execute(
                select(table.c.id).where(table.c.id.in_(ids)).order_by(table.c.id).with_for_update()
            )

    def advisory_lock(self, connection: Connection, key: str) -> None:
        """Serialise transactions on a name no row stands for; held until commit."""
        if self.is_sqlite:
            return
        lock_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big", signed=True)
        connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": lock_id})

    def raw_cursor(self, connection: Connection, name: str, sql: str, params: tuple = ()) -> Any:
        """An executed DB-API cursor over `sql` (? placeholders), streamed: no SQLAlchemy rows or
        type processing, for reads where those cost more than the work (verify)."""
        raw = connection.connection.driver_connection
        if self.is_sqlite:
            cursor = raw.cursor()  # type: ignore[union-attr]
        else:
            cursor = raw.cursor(name=f"rectify_{name}")  # type: ignore[union-attr]
            cursor.itersize = 2000
            sql = sql.replace("?", "%s")
        cursor.execute(sql, params)
        return cursor

    def as_bytes(self, column: str) -> str:
        """SQL giving a text column's UTF-8 bytes (hashed as stored, never decoded)."""
        return f"CAST({column} AS BLOB)" if self.is_sqlite else f"convert_to({column}, 'UTF8')"

    def json_as_bytes(self, column: str) -> str:
        """SQL giving a JSON column's stored text as UTF-8 bytes."""
        return self.as_bytes(column) if self.is_sqlite else f"convert_to({column}::text, 'UTF8')"

    def time_as_bytes(self, column: str) -> str:
        """SQL giving a UTC time as bytes 'YYYY-MM-DD HH:MM:SS.ffffff' (SQLite's stored form)."""
        if self.is_sqlite:
            return self.as_bytes(column)
        return (
            f"convert_to(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), 'UTF8')"
        )

    def china_month(self, column: Any) -> Any:
        """A Core expression: the China-time month (YYYY-MM) of a UTC time column."""
        if self.is_sqlite:
            return func.strftime("%Y-%m", column, "+8 hours")
        return func.to_char(func.timezone("Asia/Shanghai", column), "YYYY-MM")
