"""The engine and its transactions: SQLite (WAL, synchronous=FULL) or PostgreSQL (psycopg 3).

Three ways in, each for one job: `session()` reads (ORM or Core); `write()` is an ORM session
for the administrative records (enterprises, principals, subscriptions); `unit()` is the hazard
write path's UnitOfWork, and `run()` hands a command to the process's group-commit writer,
which applies concurrent commands in arrival order and commits them together
(`database.writer`). Backend differences live in `database.dialect`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

from rectify.database.dialect import Dialect
from rectify.database.uow import UnitOfWork, read_rows
from rectify.database.writer import Writer

T = TypeVar("T")
__all__ = ["MAX_ID", "Database", "UTCDateTime", "read_rows", "utcnow"]


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


_JSON_TEXT: dict[tuple[Any, ...], str] = {}


def _json_text(value: Any) -> str:
    """JSON columns' text, as json.dumps writes it. A small dict of strings (a workflow state:
    every event stores two) is remembered by its items, which are few: dumping them was a third
    of what an event cost in a timer sweep. (Strings only: 1 and True are equal keys.)"""
    if type(value) is dict and len(value) <= 8:
        key = tuple(value.items())
        if all(type(k) is str and type(v) is str for k, v in key):
            text = _JSON_TEXT.get(key)
            if text is None:
                if len(_JSON_TEXT) >= 4096:
                    _JSON_TEXT.clear()
                text = _JSON_TEXT[key] = json.dumps(value)
            return text
    return json.dumps(value)


MAX_ID = 2**63 - 1
"""The largest id a BIGINT holds: a larger one names no row and must not reach the driver."""


class Database:
    """One engine per process: read sessions, administrative writes, the hazard write path."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = make_url(url)
        self.dialect = Dialect(self.url.get_backend_name())
        self.is_sqlite = self.dialect.is_sqlite
        kwargs: dict[str, Any] = {"echo": echo, "json_serializer": _json_text}
        if self.is_sqlite:
            if self.url.database and self.url.database != ":memory:":
                Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
            # Enough connections kept open for the request threads (anyio's 40) and the writer:
            # with the default 5 an API under load opened and closed a connection (and ran its
            # pragmas) on most requests. A SQLite connection is a file handle and a page cache.
            kwargs.update(pool_size=20, max_overflow=30)
        else:
            kwargs.update(pool_size=10, max_overflow=20, pool_pre_ping=True)
        self.engine: Engine = create_engine(url, **kwargs)
        self.dialect.configure(self.engine)
        self._write_engine = self.engine.execution_options(rectify_write=True)
        # SQLite has one writer at a time. Threads of this process queue here, in order, rather
        # than in SQLite's busy handler, which polls with sleeps of up to 100 ms. Other
        # processes still meet the busy handler. PostgreSQL locks rows instead.
        self._lock: AbstractContextManager[Any] = (
            threading.RLock() if self.is_sqlite else nullcontext()
        )
        self.writer = Writer(self.unit, None if self.is_sqlite else self.dialect.lock_declared)

    def session(self) -> Session:
        """A session for reading."""
        return Session(self.engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """An ORM write transaction for administrative records: commits, or rolls back."""
        with self._lock, Session(self._write_engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def unit(self) -> Iterator[UnitOfWork]:
        """One transaction of the hazard write path: commits (then runs its commit actions),
        or rolls back and forgets what it queued."""
        with self._lock, self._write_engine.connect() as connection:
            uow = UnitOfWork(connection, self.dialect)
            try:
                with connection.begin():
                    yield uow
                    uow.flush()
            except BaseException:
                uow.discard()
                raise
            uow.committed()

    def run(self, command: Callable[[UnitOfWork], T]) -> T:
        """Apply `command` through the group-commit writer; returns once it is durable."""
        return self.writer.run(command)

    def dispose(self) -> None:
        self.writer.stop()
        self.engine.dispose()
