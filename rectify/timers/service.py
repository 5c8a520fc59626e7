"""Writing and cancelling timers inside the trigger's own transaction, and reading them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy import select as sa_select

from rectify.database.core import read_rows, utcnow
from rectify.database.uow import UnitOfWork
from rectify.timers.models import Timer
from rectify.timers.policy import Counted

# Timers that stop mattering once the enterprise has confirmed rectification.
RECTIFICATION_TIMERS = ("plan_due", "progress_due", "reminder", "rectification", "escalation")

TIMERS = Timer.__table__  # type: ignore[attr-defined]


def schedule(
    *, uow: UnitOfWork, hazard_id: int, kind: str, due_at: datetime | Counted, step: int = 0
) -> None:
    """Add one pending timer (queued: sent with the transaction's next statement); a Counted
    due time keeps what recounting it needs (provisional, counted_from, rule)."""
    due = due_at if isinstance(due_at, Counted) else Counted(due_at)
    row = dict(hazard_id=hazard_id, kind=kind, due_at=due.at, step=step, created_at=utcnow())
    row |= {"provisional": due.provisional, "counted_from": due.counted_from, "rule": due.rule}
    uow.add(TIMERS, row)


_IS_PENDING = (TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
_CANCEL_ALL = (
    update(TIMERS)  # built once, compiled once
    .where(TIMERS.c.hazard_id == bindparam("b_hazard_id"), *_IS_PENDING)
    .values(cancelled_at=bindparam("now"))
)
_CANCEL_KINDS = _CANCEL_ALL.where(TIMERS.c.kind.in_(bindparam("kinds", expanding=True)))
_PENDING = (
    sa_select(TIMERS.c.kind, TIMERS.c.due_at, TIMERS.c.provisional)
    .where(TIMERS.c.hazard_id == bindparam("hid"), *_IS_PENDING)
    .order_by(TIMERS.c.due_at)
)


def cancel(
    *, uow: UnitOfWork, hazard_id: int, now: datetime, kinds: Iterable[str] | None = None
) -> None:
    """Cancel the hazard's pending timers (of the given kinds, or all), queued ones included."""
    params: dict[str, object] = {"b_hazard_id": hazard_id, "now": now}
    if kinds is not None:
        params["kinds"] = list(kinds)
    uow.execute(_CANCEL_ALL if kinds is None else _CANCEL_KINDS, params)


def pending(*, connection: Connection, hazard_id: int) -> list[dict[str, Any]]:
    """The hazard's pending timers, soonest first: `kind`, `due_at` (ISO 8601) and
    `provisional` (counted over a year without holiday data)."""
    return read_rows(connection, _PENDING, hid=hazard_id)
