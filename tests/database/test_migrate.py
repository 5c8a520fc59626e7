"""`rectify serve` migrates on start, so two processes started at once on a fresh database
migrate it at the same time: both must come up, and the schema must end at head, once.

Real processes (forked, released together by a barrier) on a real SQLite file and a real
PostgreSQL database, never a mock: the race is between connections, not inside one.
"""

from __future__ import annotations

import multiprocessing
import os
import traceback
import uuid
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from rectify.database.migrate import alembic_config, upgrade
from rectify.database.tables import metadata

PROCESSES = 4
# Fork: the children need nothing but `upgrade`, and start in milliseconds (spawn re-imports).
FORK = multiprocessing.get_context("fork")


@pytest.fixture(params=["sqlite", "postgres"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database that nothing has migrated yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    pg = os.environ.get("RECTIFY_TEST_POSTGRES_URL")
    if not pg:
        if os.environ.get("RECTIFY_REQUIRE_POSTGRES") == "1":
            pytest.fail("RECTIFY_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("RECTIFY_TEST_POSTGRES_URL not set")
    base = make_url(pg)
    name = f"rectify_migrate_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrate(url: str, start: Barrier, errors: Any) -> None:
    """One `rectify serve` start-up, as far as the schema goes."""
    try:
        start.wait(timeout=30)
        upgrade(url)
    except BaseException:
        errors.put(traceback.format_exc())
        raise SystemExit(1) from None  # the parent reports it, with the traceback


def _heads(url: str) -> tuple[set[str], set[str]]:
    """The revisions the database is at, and the head revisions of the migration scripts."""
    script = ScriptDirectory.from_config(alembic_config(url))
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    missing = set(metadata.tables) - tables
    assert not missing, f"tables missing after the migration: {sorted(missing)}"
    return current, set(script.get_heads())


def test_concurrent_first_starts_both_migrate_a_fresh_database(fresh_url: str) -> None:
    start, errors = FORK.Barrier(PROCESSES), FORK.Queue()
    workers = [
        FORK.Process(target=_migrate, args=(fresh_url, start, errors)) for _ in range(PROCESSES)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    failures = []
    while not errors.empty():
        failures.append(errors.get())
    assert all(w.exitcode == 0 for w in workers), "\n".join(failures) or [
        w.exitcode for w in workers
    ]
    current, heads = _heads(fresh_url)
    assert current == heads
    upgrade(fresh_url)  # and a later start finds nothing left to do
    assert _heads(fresh_url)[0] == heads
