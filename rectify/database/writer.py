"""Group commit: one writer thread per process applies write commands in arrival order and
commits them together, acknowledging each only once its batch is durable.

No request's fate is tied to another's:
- a command refused by a domain rule (409, 422, ...) changed nothing (the service checks before
  it changes; should a refused command have sent a write, the batch is redone as below), so the
  refusal is its own and the rest of the batch commits;
- a database error (or any unexpected error, or a failed commit) rolls the batch back and runs
  each of its commands again in a transaction of its own, so only a command that fails by itself
  fails.
A command therefore must not have effects outside its transaction (it may run twice) and must
not submit another command (the writer would wait for itself).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from rectify.database.uow import UnitOfWork
from rectify.exceptions import RectifyError

__all__ = ["Writer"]

log = logging.getLogger(__name__)
T = TypeVar("T")
Command = Callable[[UnitOfWork], Any]
MAX_BATCH = 64  # commands per commit; more wait for the next one


class _Redo(Exception):
    """The batch must be redone one command at a time."""


class Writer:
    """The process's writer thread (started on first use, stopped with the database).

    A blocking caller (`run`) whose command finds the writer idle, with nothing queued, applies
    it itself, on its own thread, as a batch of one: no hand-over to the writer thread and back
    (two thread switches, a good part of an in-process transition). Whoever holds the writer,
    the calling thread or the writer thread, is the only one applying commands; a command that
    arrives meanwhile is queued, and the queue is applied in arrival order."""

    def __init__(
        self,
        unit: Callable[[], AbstractContextManager[UnitOfWork]],
        prepare: Callable[[UnitOfWork, list[Command]], None] | None = None,
    ) -> None:
        self._unit = unit
        self._prepare = prepare  # run first in each batch of several (e.g. lock rows in order)
        self._queue: queue.SimpleQueue[tuple[Command, Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        # Who applies commands: `_owner` is the thread doing so (None: the writer is idle);
        # `_pending` counts commands queued and not yet taken into a batch.
        self._turn = threading.Condition(threading.Lock())
        self._owner: int | None = None
        self._pending = 0

    def submit(self, command: Command) -> Future[Any]:
        """Queue `command`; its future resolves once it is committed (or refused)."""
        self._refuse_nested()
        self._ensure_started()
        future: Future[Any] = Future()
        with self._turn:
            self._pending += 1
            self._queue.put((command, future))
        return future

    def run(self, command: Callable[[UnitOfWork], T]) -> T:
        """Apply `command` and return its result once durable (or raise its error): on the
        calling thread when the writer is idle, else through the queue."""
        self._refuse_nested()
        with self._turn:
            inline = self._owner is None and self._pending == 0
            if inline:
                self._owner = threading.get_ident()
        if not inline:
            return self.submit(command).result()
        future: Future[Any] = Future()
        try:
            self._run([(command, future)])
        finally:
            self._release()
        return future.result()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()
        self._thread = None

    def _refuse_nested(self) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError("a write command may not submit another one")

    def _acquire(self) -> None:
        """Wait until no thread applies commands, then be the one (the writer thread)."""
        with self._turn:
            while self._owner is not None:
                self._turn.wait()
            self._owner = threading.get_ident()

    def _release(self) -> None:
        with self._turn:
            self._owner = None
            self._turn.notify_all()

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._start:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._loop, name="rectify-writer", daemon=True
                )
                self._thread.start()

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            self._acquire()
            try:
                batch, stop = [first], False
                while len(batch) < MAX_BATCH:
                    try:
                        job = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if job is None:
                        stop = True
                        break
                    batch.append(job)
                with self._turn:
                    self._pending -= len(batch)
                self._run(batch)
            finally:
                self._release()
            if stop:
                return

    def _run(self, batch: list[tuple[Command, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with self._unit() as uow:
                if self._prepare is not None and len(batch) > 1:
                    self._prepare(uow, [command for command, _ in batch])
                for command, future in batch:
                    outcomes.append((future, *_attempt(uow, command)))
        except BaseException as exc:  # noqa: BLE001  (any failure: redo each command alone)
            if len(batch) == 1:  # already alone: the failure is its own
                _settle(batch[0][1], None, exc.__cause__ if isinstance(exc, _Redo) else exc)
                return
            log.warning("write batch of %d failed (%r); redoing one by one", len(batch), exc)
            for command, future in batch:
                self._alone(command, future)
            return
        for future, value, error in outcomes:
            _settle(future, value, error)

    def _alone(self, command: Command, future: Future[Any]) -> None:
        try:
            with self._unit() as uow:
                value = command(uow)
        except BaseException as exc:  # noqa: BLE001  (the command's own failure, reported to it)
            future.set_exception(exc)
        else:
            future.set_result(value)


def _attempt(uow: UnitOfWork, command: Command) -> tuple[Any, RectifyError | None]:
    """Run one command of a batch: its value, or its refusal when that left nothing behind."""
    mark = uow.mark()
    try:
        return command(uow), None
    except RectifyError as refusal:
        if not uow.undo_since(mark):
            raise _Redo from refusal  # a refused command had already written: isolate it
        return None, refusal


def _settle(future: Future[Any], value: Any, error: BaseException | None) -> None:
    if error is None:
        future.set_result(value)
    else:
        future.set_exception(error)
