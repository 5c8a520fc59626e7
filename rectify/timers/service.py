"""Writing and cancelling timers inside the caller's transaction (the trigger's own)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from rectify.database.core import defer_insert, utcnow
from rectify.timers.models import Timer

# Timers that stop mattering once the enterprise has confirmed rectification.
RECTIFICATION_TIMERS = ("plan_due", "progress_due", "reminder", "rectification", "escalation")


def schedule(
    *, session: Session, hazard_id: int, kind: str, due_at: datetime, step: int = 0
) -> None:
    """Add one pending timer."""
    row = dict(hazard_id=hazard_id, kind=kind, due_at=due_at, step=step, created_at=utcnow())
    defer_insert(session, Timer.__table__, row)  # type: ignore[arg-type]


def cancel(
    *, session: Session, hazard_id: int, now: datetime, kinds: Iterable[str] | None = None
) -> None:
    """Cancel the hazard's pending timers (of the given kinds, or all)."""
    stmt = (
        update(Timer)
        .where(col(Timer.hazard_id) == hazard_id)
        .where(col(Timer.fired_at).is_(None), col(Timer.cancelled_at).is_(None))
    )
    if kinds is not None:
        stmt = stmt.where(col(Timer.kind).in_(list(kinds)))
    # No in-session synchronisation: it scans every Timer in the identity map (quadratic in a
    # batch), and nothing reads a cancelled timer back in the same transaction.
    stmt = stmt.values(cancelled_at=now).execution_options(synchronize_session=False)
    session.exec(stmt)  # type: ignore[call-overload]


def reschedule(
    *, session: Session, hazard_id: int, kind: str, due_at: datetime, now: datetime
) -> None:
    """Replace the pending timer of one kind."""
    cancel(session=session, hazard_id=hazard_id, now=now, kinds=[kind])
    schedule(session=session, hazard_id=hazard_id, kind=kind, due_at=due_at)


def pending(*, session: Session, hazard_id: int) -> list[Timer]:
    """The hazard's pending timers, soonest first."""
    stmt = (
        select(Timer)
        .where(Timer.hazard_id == hazard_id)
        .where(col(Timer.fired_at).is_(None), col(Timer.cancelled_at).is_(None))
        .order_by(col(Timer.due_at))
    )
    return list(session.exec(stmt))
