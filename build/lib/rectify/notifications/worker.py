"""The webhook delivery job: one pass over due deliveries, safe to run every second from any
number of processes (claims are leased; see `service.claim`)."""

from __future__ import annotations

import logging

import httpx

from rectify.context import Context
from rectify.notifications import service

log = logging.getLogger(__name__)

_client: httpx.Client | None = None  # one connection pool per process, reused across passes


def _http() -> httpx.Client:
    global _client
    if _client is None or _client.is_closed:
        _client = httpx.Client(timeout=service.TIMEOUT, follow_redirects=False)
    return _client


def run_once(ctx: Context, worker: str, *, batch: int = 50) -> int:
    """Deliver what is due now; returns how many were attempted. Never raises."""
    try:
        return service.deliver_due(ctx=ctx, worker=worker, batch=batch, client=_http())
    except Exception:  # a scheduler job must survive a database hiccup; the next pass retries
        log.exception("webhook delivery pass of worker %s failed", worker)
        return 0


def close() -> None:
    """Release the shared HTTP client (at shutdown)."""
    global _client
    if _client is not None:
        _client.close()
        _client = None
