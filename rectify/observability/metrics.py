"""Prometheus metrics: the metric objects and the `record_*` functions the services call.

No domain imports here: the services import this module (the database gauges read at scrape
time are in `scrape.py`).

Counters and the histogram live in this process (see docs/DECISIONS.md, Observability): each
`rectify serve` process is scraped on its own and Prometheus adds them up. What happens inside
a database transaction (a trigger applied, a timer fired) is counted only when that
transaction commits, so a rolled-back batch that another process retries is counted once.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache, partial
from typing import Any

from prometheus_client import Counter, Histogram, disable_created_metrics

from rectify.database.uow import UnitOfWork

# `*_created` series only double the output; nothing here needs counter creation times.
disable_created_metrics()

TRANSITIONS = Counter(
    "rectify_transitions",
    "Triggers applied to hazards (committed), by trigger and the caller's role.",
    ["trigger", "role"],
)
TIMER_LATENESS = Histogram(
    "rectify_timer_lateness_seconds",
    "How late each timer was processed: fired_at - due_at (SPEC 3: within 2 s while running).",
    ["kind"],
    # Seconds while the service runs; hours to days for the catch-up after an outage.
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600, 6 * 3600, 86400, 7 * 86400),
)
WEBHOOK_FAILURES = Counter(
    "rectify_webhook_delivery_failures",
    "Failed webhook delivery attempts, by reason: network, or the receiver's status class.",
    ["reason"],
)


# -- record_* (called by the services) ------------------------------------------------------


# The labelled children, looked up once: `labels()` costs more than the increment (it runs on
# every trigger and every timer). prometheus_client keeps one child per label values anyway.
@lru_cache(maxsize=1024)
def _transitions(trigger: str, role: str) -> Any:
    return TRANSITIONS.labels(trigger=trigger, role=role)


@lru_cache(maxsize=256)
def _lateness(kind: str) -> Any:
    return TIMER_LATENESS.labels(kind=kind)


def record_transition(uow: UnitOfWork, trigger: str, role: str) -> None:
    """Count one applied trigger once its transaction commits."""
    uow.on_commit(_transitions(trigger, role).inc)


def record_timer_fired(uow: UnitOfWork, kind: str, due_at: datetime, fired_at: datetime) -> None:
    """Observe how late a timer was processed, once its transaction commits."""
    late = max(0.0, (fired_at - due_at).total_seconds())
    uow.on_commit(partial(_lateness(kind).observe, late))


def record_webhook_failure(status_code: int | None) -> None:
    """Count a failed delivery attempt: no answer (None) or a non-2xx status."""
    reason = "network" if status_code is None else f"{status_code // 100}xx"
    WEBHOOK_FAILURES.labels(reason=reason).inc()
