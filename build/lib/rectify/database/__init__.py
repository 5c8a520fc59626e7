"""Storage: the engine, sessions, column types and Alembic migrations."""

from rectify.database.core import Database, UTCDateTime, utcnow

__all__ = ["Database", "UTCDateTime", "utcnow"]
