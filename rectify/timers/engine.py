"""The timer engine: claim due timers in bounded batches, apply each one's event through the
hazard service (the API's own path) and mark it fired in the same commit, so it fires once.

Which event a timer kind appends, and whether a fired timer still applies, is said by the
event's definition (`hazards.triggers.timer_events`). A batch runs as one command of the
process's writer. PostgreSQL: claimed with FOR UPDATE OF timers, hazards SKIP LOCKED, so
several processes share the work and a killed one's batch rolls back for another to take.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import SQLAlchemyError

from rectify.audit.chain import format_at
from rectify.context import Context
from rectify.database.uow import UnitOfWork
from rectify.exceptions import RectifyError
from rectify.hazards import service as hazards
from rectify.hazards.row import HAZARDS, HazardRow
from rectify.hazards.triggers import Due, timer_event
from rectify.observability import metrics
from rectify.timers.service import TIMERS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    claimed: int
    fired: int
    skipped: int


def fire_due(*, ctx: Context, limit: int = 500) -> Batch:
    """Fire up to `limit` due timers, oldest first, in one transaction."""
    try:
        return ctx.db.run(lambda uow: _fire_batch(uow, ctx, limit, isolate=False))
    except SQLAlchemyError:
        # A database error fails the whole fast batch: redo it with a savepoint per timer so
        # that one bad timer is marked `error` instead of blocking every later one.
        log.exception("timer batch failed; retrying it one timer at a time")
        return ctx.db.run(lambda uow: _fire_batch(uow, ctx, limit, isolate=True))


def catch_up(*, ctx: Context, limit: int = 500, max_batches: int | None = None) -> int:
    """Fire everything due now, batch after batch; returns how many timers were processed."""
    total, batches = 0, 0
    while max_batches is None or batches < max_batches:
        batch = fire_due(ctx=ctx, limit=limit)
        total, batches = total + batch.claimed, batches + 1
        if batch.claimed == 0:  # not `< limit`: firing may schedule timers already due
            break
    return total


def _fire_batch(uow: UnitOfWork, ctx: Context, limit: int, *, isolate: bool) -> Batch:
    now = ctx.now()
    claimed = _claim(uow, now, limit)
    marks, fired = [], 0
    for due, hazard in claimed:
        outcome = (
            _isolated(uow, ctx, due, hazard, now) if isolate else _fire(uow, ctx, due, hazard, now)
        )
        fired += outcome == "fired"
        marks.append({"timer_id": due.id, "fired_at": now, "outcome": outcome})
        metrics.record_timer_fired(uow, due.kind, due.due_at, now)
    if marks:  # in the batch's own commit: fired once in effect
        uow.execute(_MARK, marks)
    return Batch(claimed=len(claimed), fired=fired, skipped=len(claimed) - fired)


_MARK = (
    update(TIMERS)
    .where(TIMERS.c.id == bindparam("timer_id"))
    .values(fired_at=bindparam("fired_at"), outcome=bindparam("outcome"))
)
_DUE = (
    select(TIMERS.c.id, TIMERS.c.kind, TIMERS.c.due_at, TIMERS.c.step, HAZARDS)
    .join(HAZARDS, HAZARDS.c.id == TIMERS.c.hazard_id)
    .where(TIMERS.c.due_at <= bindparam("now"))
    .where(TIMERS.c.fired_at.is_(None), TIMERS.c.cancelled_at.is_(None))
    .order_by(TIMERS.c.due_at, TIMERS.c.id)
    .limit(bindparam("limit"))
)


def _claim(uow: UnitOfWork, now: datetime, limit: int) -> list[tuple[Due, HazardRow]]:
    # One row per timer: the timer's columns, then the hazard's. A hazard with several due
    # timers is one HazardRow, so that each timer sees what the earlier ones changed.
    statement = uow.dialect.claim(_DUE, of=[TIMERS, HAZARDS])
    out, loaded = [], {}
    for r in uow.execute(statement, {"now": now, "limit": limit}):
        timer_id, kind, due_at, step, *columns = r
        values = dict(zip(HAZARDS.c.keys(), columns, strict=True))
        hazard = loaded.setdefault(values["id"], HazardRow(values))
        out.append((Due(timer_id, kind, due_at, step), hazard))
    return out


def _isolated(uow: UnitOfWork, ctx: Context, due: Due, hazard: HazardRow, now: datetime) -> str:
    saved = dict(hazard.values), dict(hazard.changed)
    try:
        with uow.savepoint():
            return _fire(uow, ctx, due, hazard, now)
    except SQLAlchemyError:
        log.exception("timer %s on hazard %s failed", due.id, hazard.id)
        hazard.values, hazard.changed = saved  # as the rolled-back savepoint left the row
        return "error"


def _fire(uow: UnitOfWork, ctx: Context, due: Due, hazard: HazardRow, now: datetime) -> str:
    """Apply the timer's event; `skipped` when its definition or the workflow says the hazard
    has moved on (nothing changes then, and the batch goes on)."""
    policy = ctx.policy.for_(hazard.region_code, hazard.industry)
    chosen = timer_event(due.kind).on_timer(hazard, due, policy, now)
    if chosen is None:
        return "skipped"
    trigger, extra = chosen
    payload: dict[str, Any] = {
        "timer_id": due.id,
        "timer": due.kind,
        "due_at": format_at(due.due_at),
        "fired_at": format_at(now),
    }
    try:
        hazards.apply_system(
            uow=uow, ctx=ctx, hazard=hazard, trigger=trigger, payload=extra | payload
        )
    except RectifyError as exc:  # moved on (409), or a refusal that must not block the batch
        log.info("timer on hazard %s skipped: %s", hazard.id, exc.detail)
        return "skipped"
    return "fired"
