"""Writing and cancelling timers inside the caller's transaction (the trigger's own)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from rectify.database.core import defer_insert, flush_deferred, read_rows, utcnow
from rectify.timers.models import Timer
from rectify.timers.policy import Counted

# Timers that stop mattering once the enterprise has confirmed rectification.
RECTIFICATION_TIMERS = ("plan_due", "progress_due", "reminder", "rectification", "escalation")


def schedule(
    *, session: Session, hazard_id: int, kind: str, due_at: datetime | Counted, step: int = 0
) -> None:
    """Add one pending timer (a Counted due time keeps what recounting it needs)."""
    due = due_at if isinstance(due_at, Counted) else Counted(due_at)
    row = dict(
        hazard_id=hazard_id,
        kind=kind,
        due_at=due.at,
        step=step,
        created_at=utcnow(),
        provisional=due.provisional,
        counted_from=due.counted_from,
        rule=due.rule,
    )
    defer_insert(session, Timer.__table__, row)  # type: ignore[arg-type]


_table = Timer.__table__
_IS_PENDING = (_table.c.fired_at.is_(None), _table.c.cancelled_at.is_(None))
_CANCEL_ALL = (
    update(_table)  # Core, not ORM: no identity-map synchronisation; built once, compiled once
    .where(_table.c.hazard_id == bindparam("b_hazard_id"), *_IS_PENDING)
    .values(cancelled_at=bindparam("now"))
)
_CANCEL_KINDS = _CANCEL_ALL.where(_table.c.kind.in_(bindparam("kinds", expanding=True)))
_PENDING = (
    sa_select(_table.c.kind, _table.c.due_at, _table.c.provisional)
    .where(_table.c.hazard_id == bindparam("hid"), *_IS_PENDING)
    .order_by(_table.c.due_at)
)


def cancel(
    *, session: Session, hazard_id: int, now: datetime, kinds: Iterable[str] | None = None
) -> None:
    """Cancel the hazard's pending timers (of the given kinds, or all)."""
    params: dict[str, object] = {"b_hazard_id": hazard_id, "now": now}
    if kinds is not None:
        params["kinds"] = list(kinds)
    flush_deferred(session)  # timers queued earlier in this transaction can be cancelled too
    session.connection().execute(_CANCEL_ALL if kinds is None else _CANCEL_KINDS, params)


def reschedule(
    *, session: Session, hazard_id: int, kind: str, due_at: datetime | Counted, now: datetime
) -> None:
    """Replace the pending timer of one kind."""
    cancel(session=session, hazard_id=hazard_id, now=now, kinds=[kind])
    schedule(session=session, hazard_id=hazard_id, kind=kind, due_at=due_at)


def pending(*, session: Session, hazard_id: int) -> list[dict[str, Any]]:
    """The hazard's pending timers, soonest first: `kind`, `due_at` (ISO 8601) and
    `provisional` (counted over a year without holiday data)."""
    return read_rows(session, _PENDING, hid=hazard_id)
