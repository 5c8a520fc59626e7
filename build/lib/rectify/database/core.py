"""The engine and sessions: SQLite (WAL, synchronous=FULL) or PostgreSQL (psycopg 3).

Write transactions on SQLite begin with BEGIN IMMEDIATE so that two writers queue for the lock
instead of failing on a stale read snapshot; on PostgreSQL the services lock the hazard row.
Append-only rows (events, timers) can be queued with `defer_insert` and go out as one
executemany before the session's next query, flush or commit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, Table, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session


def utcnow() -> datetime:
    """Server time: timezone-aware UTC with microseconds."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC and always hands back aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


MAX_ID = 2**63 - 1
"""The largest id a BIGINT holds: a larger one names no row and must not reach the driver."""

_DEFERRED = "rectify_deferred_inserts"


def defer_insert(session: Session, table: Table, row: dict[str, Any]) -> None:
    """Queue an INSERT of `row` (every row of a table with the same keys) in this session's
    transaction. An ORM object costs ~100 µs to build and flush; a queued row a few µs."""
    session.info.setdefault(_DEFERRED, {}).setdefault(table, []).append(row)


def read_rows(session: Session, statement: Any, **params: Any) -> list[dict[str, Any]]:
    """Rows of a Core select in the session's transaction, JSON-ready (times as ISO 8601).
    Queued rows are sent first: a Core read does not trigger the session's own flushes."""
    flush_deferred(session)
    result = session.connection().execute(statement, params).mappings()
    return [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        for row in result
    ]


def flush_deferred(session: Session) -> None:
    """Send the queued rows now, in the order their tables were first queued."""
    pending: dict[Table, list[dict[str, Any]]] | None = session.info.pop(_DEFERRED, None)
    if pending:
        connection = session.connection()
        for table, rows in pending.items():
            connection.execute(table.insert(), rows)


# Every read or write the session makes sees the queued rows: they are sent before any ORM
# statement, before the unit of work flushes objects (which may refer to them) and at commit.
event.listen(Session, "do_orm_execute", lambda state: flush_deferred(state.session))
event.listen(Session, "before_flush", lambda session, _ctx, _objs: flush_deferred(session))
event.listen(Session, "before_commit", flush_deferred)
# A rollback (of the transaction, or of a savepoint begun after a `flush_deferred`) discards
# what was queued since, as it discards the statements already sent.
event.listen(Session, "after_soft_rollback", lambda session, _tx: session.info.pop(_DEFERRED, None))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level: SQLAlchemy's "begin" hook below issues BEGIN itself.
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


class Database:
    """One engine per process, with a read session and a write session."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._write_engine = self.engine.execution_options(rectify_write=True)
        # SQLite has one writer at a time. Threads of this process queue here, in order, rather
        # than in SQLite's busy handler, which polls with sleeps of up to 100 ms: under 32
        # concurrent requests that polling, not the work, made the p99 latency (bench/case_api).
        # Other processes still meet the busy handler. PostgreSQL locks rows instead.
        self._writer: AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )

    def session(self) -> Session:
        """A session for reading (and for writes that need no serialisation)."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commits on success, rolls back on any error."""
        with self._writer, Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
