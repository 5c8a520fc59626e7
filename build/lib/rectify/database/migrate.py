"""Bring a database to the current schema with Alembic (`rectify serve` does it on start).

Several `rectify serve` processes may start at once on a fresh database; each migrates it. Alembic
does not guard against that (both create `alembic_version` and the tables, and one fails), so
callers take turns under a lock: a PostgreSQL advisory lock, or an exclusive lock on a file
beside the SQLite database. The second finds the schema at head and does nothing.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_lock key of schema migrations: any fixed bigint, the same in every process.
# Advisory locks are per database, so databases on one server do not wait on each other.
ADVISORY_LOCK_KEY = 0x7265637469667900  # b"rectify\0"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for a database URL, without an alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str) -> None:
    """Apply every migration not yet applied; concurrent callers take turns."""
    with migration_lock(url):
        command.upgrade(alembic_config(url), "head")


@contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock (blocks while another process holds it)."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        with _advisory_lock(url):
            yield
    elif backend == "sqlite" and parsed.database not in (None, "", ":memory:"):
        with _file_lock(Path(f"{parsed.database}.migrate.lock")):
            yield
    else:  # an in-memory database has one connection to race with: itself
        yield


@contextmanager
def _advisory_lock(url: str) -> Iterator[None]:
    # A dedicated connection, outside any transaction (autocommit), so that holding the lock
    # through a long migration never leaves a session idle in a transaction.
    engine = create_engine(url, poolclass=pool.NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                # Closing the session releases it too; unlocking says so explicitly.
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
    finally:
        engine.dispose()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    # flock conflicts between open file descriptions, so threads of one process wait too;
    # the kernel releases it if the process dies. The file itself is left in place: removing
    # it would let a late process lock a new file while another still holds the old one.
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
