"""Fixtures: a real SQLite file and a real PostgreSQL database, never a mocked one.

Every test that takes `backend` (or `world`) runs on both. PostgreSQL comes from
RECTIFY_TEST_POSTGRES_URL; where RECTIFY_REQUIRE_POSTGRES=1 (CI) its absence is a failure.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from rectify.api.app import create_app
from rectify.config import Settings
from rectify.context import Context, build_context
from rectify.database.migrate import upgrade
from rectify.database.tables import metadata
from tests.support import Clock, FakeDNS, World, build_world

PG_URL = os.environ.get("RECTIFY_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (migrating each time is slow). The
    shipped calendar years are stored in it as a first start stores them, so each test's start
    finds them there instead of writing them again."""
    folder = tmp_path_factory.mktemp("template")
    path = folder / "rectify.db"
    upgrade(f"sqlite:///{path}")
    settings = Settings(
        database_url=f"sqlite:///{path}", data_dir=folder / "data", demo=False, scheduler=False
    )
    build_context(settings).db.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, migrated, dropped at the end."""
    if not PG_URL:
        if os.environ.get("RECTIFY_REQUIRE_POSTGRES") == "1":
            pytest.fail("RECTIFY_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("RECTIFY_TEST_POSTGRES_URL not set")
    base = make_url(PG_URL)
    name = f"rectify_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(
        f'"{t.name}"' for t in metadata.sorted_tables if t.name != "workflow_versions"
    )
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    """The database URL of a clean database, SQLite file or PostgreSQL."""
    if request.param == "sqlite":
        db = tmp_path / "rectify.db"
        shutil.copy(sqlite_template, db)
        return f"sqlite:///{db}"
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    return url


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(backend: str, tmp_path: Path) -> Settings:
    # No background scheduler in-process: tests drive the timer engine with the clock.
    # Steps need not name the officers who sign their documents here (tests/documents turns
    # the rule on): most tests are about other things.
    return Settings(
        database_url=backend,
        data_dir=tmp_path / "data",
        demo=False,
        evidence_max_bytes=256 * 1024,
        scheduler=False,
        documents_require_officers=False,
    )


@pytest.fixture
def ctx(settings: Settings, clock: Clock) -> Iterator[Context]:
    context = build_context(settings, clock=clock, resolve=FakeDNS())
    yield context
    context.db.dispose()


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(ctx), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def world(client: TestClient, ctx: Context, clock: Clock) -> World:
    return build_world(client, ctx, clock)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`slow` tests (real processes, thousands of timers) run in CI (CI=true) or with
    RECTIFY_SLOW=1; a quick local run skips them."""
    if os.environ.get("CI") == "true" or os.environ.get("RECTIFY_SLOW") == "1":
        return
    skip = pytest.mark.skip(reason="slow: set RECTIFY_SLOW=1 (CI runs it)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
