"""The timer engine: claim due timers in bounded batches, apply each through the hazard
service (the API's own path) and mark it fired in the same commit, so it fires once in effect.

PostgreSQL: claimed with FOR UPDATE OF timers, hazards SKIP LOCKED, so several processes
share the work and a killed one's batch rolls back for another to take. SQLite: the batch
runs in one BEGIN IMMEDIATE transaction, which serialises every writer.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from rectify.audit.chain import format_at
from rectify.context import Context
from rectify.database.core import flush_deferred
from rectify.exceptions import RectifyError
from rectify.hazards import service as hazards
from rectify.hazards.models import Hazard
from rectify.observability import metrics
from rectify.timers import service as timers
from rectify.timers.models import Timer

log = logging.getLogger(__name__)

# The event each timer kind appends when it fires (SPEC.md section 3).
EVENTS = {
    "plan_due": "plan_overdue",
    "progress_due": "progress_overdue",
    "reminder": "deadline_reminder",
    "rectification": "deadline_missed",
    "verification_due": "verification_overdue",
    "judicial_decision_due": "judicial_decision_overdue",
}


class Due(NamedTuple):
    """A claimed timer: what firing it needs to know."""

    id: int
    kind: str
    due_at: datetime
    step: int


@dataclass(frozen=True)
class Batch:
    claimed: int
    fired: int
    skipped: int


def fire_due(*, ctx: Context, limit: int = 500) -> Batch:
    """Fire up to `limit` due timers, oldest first, in one transaction."""
    try:
        return _fire_batch(ctx, limit, isolate=False)
    except SQLAlchemyError:
        # A database error fails the whole fast batch: redo it with a savepoint per timer so
        # that one bad timer is marked `error` instead of blocking every later one.
        log.exception("timer batch failed; retrying it one timer at a time")
        return _fire_batch(ctx, limit, isolate=True)


def _fire_batch(ctx: Context, limit: int, *, isolate: bool) -> Batch:
    now = ctx.now()
    fired = skipped = 0
    with ctx.db.write() as session:
        claimed = _claim(session, now, limit, ctx.db.is_sqlite)
        marks = []
        fire = _fire_isolated if isolate else _fire_one
        for timer, hazard in claimed:
            outcome = fire(session, ctx, timer, hazard, now)
            fired, skipped = (fired + 1, skipped) if outcome == "fired" else (fired, skipped + 1)
            marks.append({"timer_id": timer.id, "fired_at": now, "outcome": outcome})
            metrics.record_timer_fired(session, timer.kind, timer.due_at, now)
        if marks:  # in the batch's own commit: fired once in effect
            flush_deferred(session)
            session.connection().execute(_MARK, marks)
    return Batch(claimed=len(claimed), fired=fired, skipped=skipped)


_MARK = (
    update(Timer.__table__)  # type: ignore[arg-type]
    .where(Timer.__table__.c.id == bindparam("timer_id"))  # type: ignore[attr-defined]
    .values(fired_at=bindparam("fired_at"), outcome=bindparam("outcome"))
)


def _fire_isolated(
    session: Session, ctx: Context, timer: Due, hazard: Hazard, now: datetime
) -> str:
    flush_deferred(session)  # what earlier timers queued is theirs: out before the savepoint
    try:
        with session.begin_nested():
            return _fire_one(session, ctx, timer, hazard, now)
    except SQLAlchemyError:
        log.exception("timer %s on hazard %s failed", timer.id, hazard.id)
        return "error"


def catch_up(*, ctx: Context, limit: int = 500, max_batches: int | None = None) -> int:
    """Fire everything due now, batch after batch; returns how many timers were processed."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        batch = fire_due(ctx=ctx, limit=limit)
        total, batches = total + batch.claimed, batches + 1
        if batch.claimed == 0:  # not `< limit`: firing may schedule timers already due
            break
    return total


def _claim(session: Session, now: datetime, limit: int, sqlite: bool) -> list[tuple[Due, Hazard]]:
    # The timer as plain columns (it is only read, then marked in one statement); the hazard as
    # the ORM row that `apply` changes.
    stmt = (
        select(col(Timer.id), col(Timer.kind), col(Timer.due_at), col(Timer.step), Hazard)
        .join(Hazard, col(Hazard.id) == col(Timer.hazard_id))
        .where(col(Timer.due_at) <= now)
        .where(col(Timer.fired_at).is_(None), col(Timer.cancelled_at).is_(None))
        .order_by(col(Timer.due_at), col(Timer.id))
        .limit(limit)
    )
    if not sqlite:
        stmt = stmt.with_for_update(of=[Timer, Hazard], skip_locked=True)  # type: ignore[list-item]
    return [(Due(i, k, d, st), h) for i, k, d, st, h in session.exec(stmt)]


def _fire_one(session: Session, ctx: Context, timer: Due, hazard: Hazard, now: datetime) -> str:
    payload: dict[str, Any] = {
        "timer_id": timer.id,
        "timer": timer.kind,
        "due_at": format_at(timer.due_at),
        "fired_at": format_at(now),
    }
    if timer.kind == "escalation":
        return _escalate(session, ctx, timer, hazard, payload)
    if timer.kind == "rectification" and hazard.deadline != timer.due_at:
        return "skipped"  # the deadline moved; its own timer will fire
    if timer.kind == "verification_due":
        payload["accountability"] = {"against": "verifying side (inspector)", "entry": "追责问责"}
    if not _apply(session, ctx, hazard, EVENTS[timer.kind], payload):
        return "skipped"
    if timer.kind == "rectification":
        _schedule_ladder(session, ctx, hazard, timer.due_at)
    return "fired"


def _schedule_ladder(session: Session, ctx: Context, hazard: Hazard, missed_at: datetime) -> None:
    ladder = ctx.policy.grades[hazard.grade].ladder  # type: ignore[index]
    for i, step in enumerate(ladder):
        timers.schedule(
            session=session,
            hazard_id=hazard.id,
            kind="escalation",
            due_at=missed_at + step.after,
            step=i,
        )


def _escalate(
    session: Session, ctx: Context, timer: Due, hazard: Hazard, payload: dict[str, Any]
) -> str:
    step = ctx.policy.grades[hazard.grade].ladder[timer.step]  # type: ignore[index]
    overdue = hazards.overdue_seconds(hazard, ctx.now()) is not None
    if not overdue or (step.requires == "listed_and_overdue" and hazard.supervision != "listed"):
        return "skipped"
    payload |= {"step": timer.step, "action": step.action, "mode": step.mode}
    if step.action == "list_for_supervision" and step.mode == "auto":
        listing = {"level": step.level or "county", **payload}
        return (
            "fired" if _apply(session, ctx, hazard, "list_for_supervision", listing) else "skipped"
        )
    if step.level:
        payload["level"] = step.level
    return "fired" if _apply(session, ctx, hazard, "escalation_notice", payload) else "skipped"


def _apply(session: Session, ctx: Context, hazard: Hazard, trigger: str, payload: dict) -> bool:
    """Apply a system trigger; False when the hazard has moved on (the trigger is refused).

    No savepoint: `apply` checks everything before it changes anything, so a refusal leaves
    the session as it was and the other timers of the batch go on.
    """
    try:
        hazards.apply_system(
            session=session, ctx=ctx, hazard=hazard, trigger=trigger, payload=payload
        )
    except RectifyError as exc:  # moved on (409), or a refusal that must not block the batch
        log.info("timer on hazard %s skipped: %s", hazard.id, exc.detail)
        return False
    return True
