"""The process's document renderer: a thread that renders pending documents right after the
commit that wrote them (woken by `wake`, a commit action of the issuing transaction) and
catches up every `documents_interval_seconds` (after a restart, or once a missing font is
installed). Outside the group-commit writer, so a render never holds up other requests."""

from __future__ import annotations

import logging
import threading

from rectify.context import Context

__all__ = ["DocumentWorker", "wake"]

log = logging.getLogger(__name__)

_WAKE = threading.Event()  # one per process: set by every issuing commit


def wake() -> None:
    """Something was issued: render it now (a no-op where no worker runs, as in tests)."""
    _WAKE.set()


class DocumentWorker:
    """Started by `rectify serve` (with the scheduler), stopped at shutdown."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rectify-documents", daemon=True)

    def start(self) -> DocumentWorker:
        # No font check here: reading the fonts costs a quarter second of CPU at every start;
        # a missing font fails the first render, which logs why and keeps the document pending.
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        _WAKE.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        from rectify.documents.service import render_pending

        interval = self.ctx.settings.documents_interval_seconds
        while not self._stop.is_set():
            _WAKE.clear()
            try:
                while render_pending(ctx=self.ctx) and not self._stop.is_set():
                    pass  # more may have come while rendering
            except Exception:  # the next pass retries; a render failure is logged per document
                log.exception("document rendering pass failed")
            _WAKE.wait(interval)
