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
    """The process's writer thread (started on first use, stopped with the database)."""

    def __init__(self, unit: Callable[[], AbstractContextManager[UnitOfWork]]) -> None:
        self._unit = unit
        self._queue: queue.SimpleQueue[tuple[Command, Future[Any]] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def submit(self, command: Command) -> Future[Any]:
        """Queue `command`; its future resolves once it is committed (or refused)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("a write command may not submit another one")
        self._ensure_started()
        future: Future[Any] = Future()
        self._queue.put((command, future))
        return future

    def run(self, command: Callable[[UnitOfWork], T]) -> T:
        """Apply `command` and return its result once durable (or raise its error)."""
        return self.submit(command).result()

    def stop(self) -> None:
        """Finish what is queued, then end the thread."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()
        self._thread = None

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
            self._run(batch)
            if stop:
                return

    def _run(self, batch: list[tuple[Command, Future[Any]]]) -> None:
        outcomes: list[tuple[Future[Any], Any, BaseException | None]] = []
        try:
            with self._unit() as uow:
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
