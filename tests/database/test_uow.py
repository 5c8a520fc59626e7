"""The UnitOfWork's queue: deferred updates go out with the next statement, one executemany per
statement and set of columns, and what was queued after a mark can be forgotten."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, bindparam, delete, select, update

from rectify.database.core import Database

META = MetaData()
ITEMS = Table(
    "bench_uow_items",
    META,
    Column("id", Integer, primary_key=True),
    Column("name", String, nullable=False),
    Column("n", Integer, nullable=False),
)
RENAME = update(ITEMS).where(ITEMS.c.id == bindparam("item_id"))


@pytest.fixture
def db(backend: str):
    database = Database(backend)
    META.create_all(database.engine)  # not one of rectify's tables: emptied here
    with database.unit() as uow:
        uow.execute(delete(ITEMS))
        for i in (1, 2, 3):
            uow.add(ITEMS, {"id": i, "name": f"item {i}", "n": 0})
    yield database
    database.dispose()


def test_deferred_updates_are_sent_together_before_the_next_read(db: Database) -> None:
    with db.unit() as uow:
        uow.defer(RENAME, {"name": "one", "item_id": 1})
        uow.defer(RENAME, {"name": "two", "item_id": 2})
        uow.defer(RENAME, {"n": 5, "item_id": 3})  # other columns: a statement of its own
        before = uow.writes
        rows = uow.rows(select(ITEMS).order_by(ITEMS.c.id))  # sees them
        assert uow.writes - before == 2
    assert [(r["name"], r["n"]) for r in rows] == [("one", 0), ("two", 0), ("item 3", 5)]


def test_what_was_deferred_after_a_mark_can_be_forgotten(db: Database) -> None:
    with db.unit() as uow:
        uow.defer(RENAME, {"name": "kept", "item_id": 1})
        mark = uow.mark()  # sends what came before: it is not the refused command's
        uow.defer(RENAME, {"name": "dropped", "item_id": 2})
        uow.add(ITEMS, {"id": 4, "name": "dropped", "n": 0})
        assert uow.undo_since(mark)  # nothing was sent since: as it was at the mark
    with db.engine.connect() as conn:
        names = list(conn.execute(select(ITEMS.c.name).order_by(ITEMS.c.id)).scalars())
    assert names == ["kept", "item 2", "item 3"]
