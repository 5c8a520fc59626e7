"""The group-commit writer: a blocking caller that finds it idle applies its command itself; one
that finds it busy is queued behind what arrived before, and the queue keeps arrival order."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import column, table, text

from rectify.database.core import Database
from rectify.database.uow import UnitOfWork
from rectify.exceptions import Conflict


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'writer.db'}")
    with database.unit() as uow:
        uow.execute(text("CREATE TABLE log (n INTEGER NOT NULL)"))
    yield database
    database.dispose()


LOG = table("log", column("n"))


def _logged(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [n for (n,) in conn.execute(text("SELECT n FROM log ORDER BY rowid"))]


def test_an_idle_writer_lets_the_caller_apply_its_command(db: Database) -> None:
    def command(uow: UnitOfWork) -> int:
        uow.execute(text("INSERT INTO log (n) VALUES (1)"))
        return threading.get_ident()

    assert db.run(command) == threading.get_ident()  # no hand-over to the writer thread
    assert _logged(db) == [1]  # and it is committed when run returns


def test_a_busy_writer_queues_callers_in_arrival_order(db: Database) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(uow: UnitOfWork) -> None:
        uow.execute(text("INSERT INTO log (n) VALUES (0)"))
        started.set()
        release.wait(10)

    def add(n: int):
        return lambda uow: uow.execute(text(f"INSERT INTO log (n) VALUES ({n})"))

    first = threading.Thread(target=db.run, args=(slow,))
    first.start()
    assert started.wait(10)
    # While the first command holds the writer, later ones queue, in the order they came.
    futures = [db.writer.submit(add(n)) for n in (1, 2)]
    late = threading.Thread(target=db.run, args=(add(3),))
    late.start()
    release.set()
    first.join(10)
    late.join(10)
    for f in futures:
        f.result(10)
    assert _logged(db) == [0, 1, 2, 3]


def test_a_refusal_reaches_its_caller_and_leaves_nothing(db: Database) -> None:
    def refused(uow: UnitOfWork) -> None:
        uow.execute(LOG.insert().values(n=9))  # a write (DML), then a refusal
        raise Conflict("no")

    with pytest.raises(Conflict):
        db.run(refused)
    assert _logged(db) == []
    db.run(lambda uow: uow.execute(text("INSERT INTO log (n) VALUES (1)")))  # still usable
    assert _logged(db) == [1]


def test_a_command_may_not_run_another(db: Database) -> None:
    def nested(uow: UnitOfWork) -> None:
        db.run(lambda inner: None)

    with pytest.raises(RuntimeError, match="may not submit another"):
        db.run(nested)
