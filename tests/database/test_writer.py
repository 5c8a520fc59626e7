"""The group-commit writer: a blocking caller that finds it idle applies its command itself; one
that finds it busy is queued behind what arrived before, and the queue keeps arrival order."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, delete, select

from rectify.database.core import Database
from rectify.database.uow import UnitOfWork
from rectify.database.writer import Writer
from rectify.exceptions import Conflict

META = MetaData()
LOG = Table(
    "bench_writer_log",
    META,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("n", Integer, nullable=False),
)


@pytest.fixture
def db(backend: str):
    database = Database(backend)
    META.create_all(database.engine)  # not one of rectify's tables: emptied here
    with database.unit() as uow:
        uow.execute(delete(LOG))
    yield database
    database.dispose()


def _logged(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(LOG.c.n).order_by(LOG.c.id)).scalars())


def _add(n: int):
    return lambda uow: uow.execute(LOG.insert().values(n=n))


def test_an_idle_writer_lets_the_caller_apply_its_command(db: Database) -> None:
    def command(uow: UnitOfWork) -> int:
        uow.execute(LOG.insert().values(n=1))
        return threading.get_ident()

    assert db.run(command) == threading.get_ident()  # no hand-over to the writer thread
    assert _logged(db) == [1]  # and it is committed when run returns


def test_a_busy_writer_queues_callers_in_arrival_order(db: Database) -> None:
    started, release = threading.Event(), threading.Event()

    def slow(uow: UnitOfWork) -> None:
        uow.execute(LOG.insert().values(n=0))
        started.set()
        release.wait(10)

    first = threading.Thread(target=db.run, args=(slow,))
    first.start()
    assert started.wait(10)
    # While the first command holds the writer, later ones queue, in the order they came.
    futures = [db.writer.submit(_add(n)) for n in (1, 2)]
    late = threading.Thread(target=db.run, args=(_add(3),))
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
    db.run(_add(1))  # still usable
    assert _logged(db) == [1]


def test_a_command_may_not_run_another(db: Database) -> None:
    def nested(uow: UnitOfWork) -> None:
        db.run(lambda inner: None)

    with pytest.raises(RuntimeError, match="may not submit another"):
        db.run(nested)


def test_a_batch_first_locks_the_rows_its_commands_declare(db: Database) -> None:
    seen: list[list[int]] = []

    def prepare(uow: UnitOfWork, commands: list) -> None:
        seen.append(sorted(i for c in commands for _, i in getattr(c, "locks", ())))
        db.dialect.lock_declared(uow, commands)  # PostgreSQL: SELECT … ORDER BY id FOR UPDATE

    writer = Writer(db.unit, prepare)
    started, release = threading.Event(), threading.Event()

    def slow(uow: UnitOfWork) -> None:
        started.set()
        release.wait(10)

    first = threading.Thread(target=writer.run, args=(slow,))
    first.start()
    assert started.wait(10)
    queued = []
    for n in (7, 3):  # queued behind the slow one: they form one batch
        command = _add(n)
        command.locks = ((LOG, n),)  # type: ignore[attr-defined]
        queued.append(writer.submit(command))
    release.set()
    first.join(10)
    for f in queued:
        f.result(10)
    writer.stop()
    assert seen == [[3, 7]]  # a batch of one (the slow command) is not prepared
    assert _logged(db) == [7, 3]  # the commands still run in arrival order
