"""Prometheus metrics: the metric objects and the `record_*` functions the services call.

No domain imports here: the services import this module (the database gauges read at scrape
time are in `scrape.py`).

Counters and the histogram live in this process (see docs/DECISIONS.md, Observability): each
`rectify serve` process is scraped on its own and Prometheus adds them up. What happens inside
a database transaction (a trigger applied, a timer fired) is counted only when that
transaction commits, so a rolled-back batch that another process retries is counted once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prometheus_client import Counter, Histogram, disable_created_metrics
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

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


def record_transition(session: Session, trigger: str, role: str) -> None:
    """Count one applied trigger once the session's transaction commits."""
    _on_commit(session, lambda: TRANSITIONS.labels(trigger=trigger, role=role).inc())


def record_timer_fired(session: Session, kind: str, due_at: datetime, fired_at: datetime) -> None:
    """Observe how late a timer was processed, once the session's transaction commits."""
    late = max(0.0, (fired_at - due_at).total_seconds())
    _on_commit(session, lambda: TIMER_LATENESS.labels(kind=kind).observe(late))


def record_webhook_failure(status_code: int | None) -> None:
    """Count a failed delivery attempt: no answer (None) or a non-2xx status."""
    reason = "network" if status_code is None else f"{status_code // 100}xx"
    WEBHOOK_FAILURES.labels(reason=reason).inc()


# -- counting on commit ---------------------------------------------------------------------

_PENDING = "rectify.metrics.pending"  # session.info key: [(transaction, action), ...]


def _on_commit(session: Session, action: Callable[[], None]) -> None:
    # Remember the innermost transaction, so a rolled-back savepoint drops its own actions
    # (None: the session has not begun one yet; its next commit or rollback decides).
    transaction = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((transaction, action))


@event.listens_for(Session, "after_commit")
def _run_pending(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released; the outer transaction may still roll back
    for _, action in session.info.pop(_PENDING, []):
        action()


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [
            (t, a) for t, a in pending if not _within(t, previous_transaction)
        ]


@event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # The outer transaction ended (after_commit already ran what it committed): the rest was
    # rolled back or abandoned with the session.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False
