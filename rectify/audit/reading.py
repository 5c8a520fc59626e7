"""What the console's audit pages read, one use case each: a hazard's timeline with the chain
status of every event, a replay at an instant with the events around it, and the auditor's
overview. The checks are the audit's own (`verify.hazard_chain`, `replay.replay`); this module
only gathers what a page shows beside them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Text, cast, func, select

from rectify.audit.models import Checkpoint, Event
from rectify.audit.replay import replay
from rectify.audit.verify import hazard_chain
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.hazards import service as hazards
from rectify.hazards.row import HAZARDS, HazardRow
from rectify.workflow.definition import Definition

__all__ = [
    "AUDITORS",
    "CHAIN_READERS",
    "ChainView",
    "ReplayView",
    "TimelineEvent",
    "auditor_overview",
    "chain_view",
    "replay_view",
]

AUDITORS = ("auditor", "admin")
"""Who may verify, write checkpoints and export (the API's rule, audit/views.py)."""
CHAIN_READERS = ("dispatcher", "auditor", "admin")
"""Who may see a hazard's chain status: those who may replay it or verify every chain."""
EVENTS = Event.__table__  # type: ignore[attr-defined]
CHECKPOINTS = Checkpoint.__table__  # type: ignore[attr-defined]


@dataclass
class TimelineEvent:
    """One event as the timeline shows it, with what the chain check said of it."""

    hazard_seq: int
    trigger: str
    actor: str
    role: str
    at: datetime | None
    at_text: str  # the stored time when it cannot be read as one
    from_text: str | None
    to_text: str | None
    payload: str
    prev_hash: str
    hash: str
    problems: list[str] = field(default_factory=list)  # the walker's reasons (English)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class ChainView:
    hazard: HazardRow
    definition: Definition
    events: list[TimelineEvent]  # the page asked for, in chain order
    offset: int
    limit: int
    result: dict[str, Any]  # verify.hazard_chain's result

    @property
    def total(self) -> int:
        return self.hazard.version

    @property
    def breaks(self) -> list[dict[str, Any]]:
        return self.result["broken"]


@dataclass
class ReplayView:
    hazard: HazardRow
    definition: Definition
    at: datetime | None  # the instant asked for (None: now)
    result: dict[str, Any] | None  # audit.replay's result; None when `at` was refused
    at_error: str | None = None  # why `at` was refused, in Chinese
    at_detail: str | None = None  # the service's own words, when it refused
    last_event: TimelineEvent | None = None  # the newest event applied
    next_event: TimelineEvent | None = None  # the first event after `at`


def _events(connection: Connection, hazard_id: int, first: int, last: int) -> list[TimelineEvent]:
    """Events first..last of a chain, for display: from, to and the time read as stored text
    where the typed read fails (a tampered row must still be shown, not crash the page)."""
    c = EVENTS.c
    text_cols = [cast(c.from_state, Text), cast(c.to_state, Text)]
    base = [c.hazard_seq, c.trigger, c.actor, c.role, c.payload, c.prev_hash, c.hash]
    where = (c.hazard_id == hazard_id, c.hazard_seq >= first, c.hazard_seq <= last)
    order = c.hazard_seq
    try:
        stmt = select(*base, *text_cols, c.at).where(*where).order_by(order)
        rows = [(*r[:9], r[9], "") for r in connection.execute(stmt)]
    except (ValueError, TypeError):  # a time the column type cannot read
        stmt = select(*base, *text_cols, cast(c.at, Text)).where(*where).order_by(order)
        rows = [(*r[:9], None, str(r[9])) for r in connection.execute(stmt)]
    names = ("hazard_seq", "trigger", "actor", "role", "payload", "prev_hash", "hash")
    names += ("from_text", "to_text", "at", "at_text")
    return [TimelineEvent(**dict(zip(names, row, strict=True))) for row in rows]


def chain_view(
    *, ctx: Context, caller: Caller, hazard_id: int, offset: int = 0, limit: int = 100
) -> ChainView:
    """A hazard's events (a page of them, in chain order) with each one's chain status: the
    whole chain is checked by `verify.hazard_chain`, the walker verify uses."""
    with ctx.db.engine.connect() as connection:
        # Scope before role (SPEC 1): outside the caller's scope the hazard does not exist.
        hazard = hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
        page = _events(connection, hazard_id, offset + 1, offset + limit)
    result = hazard_chain(ctx=ctx, hazard_id=hazard_id)
    reasons: dict[Any, list[str]] = {}
    for b in result["broken"]:
        reasons.setdefault(b["hazard_seq"], []).append(b["reason"])
    for event in page:  # read before the walk: every event on the page was walked
        event.problems = reasons.get(event.hazard_seq, [])
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    return ChainView(hazard, definition, page, offset, limit, result)


def replay_view(
    *,
    ctx: Context,
    caller: Caller,
    hazard_id: int,
    at: datetime | None,
    refused: str | None = None,
) -> ReplayView:
    """The replay page: the hazard rebuilt at `at` (now when None) by `audit.replay`, and the
    events on either side of the instant. An `at` outside the hazard's life comes back as
    `at_error` (in Chinese) with no result, as does one the page already `refused` (why)."""
    with ctx.db.engine.connect() as connection:
        # Scope before role (SPEC 1): outside the caller's scope the hazard does not exist.
        hazard = hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
    definition = ctx.registry.get(hazard.workflow_name, hazard.workflow_version)
    view = ReplayView(hazard, definition, at, None, at_error=refused)
    now = ctx.now()
    if refused:
        return view
    if at is not None and at > now:
        view.at_error = "回放时间不能晚于现在：历史只记录已经发生的事。"
        return view
    if at is not None and at < hazard.created_at:
        view.at_error = "这个时间早于隐患登记的时间，那时还没有任何记录。"
        return view
    try:
        view.result = replay(ctx=ctx, caller=caller, hazard_id=hazard_id, at=at)
    except InvalidInput as exc:
        view.at_error = "无法回放到这个时间。"
        view.at_detail = "; ".join(e["message"] for e in exc.errors) or exc.detail
        return view
    applied = view.result["events_applied"]
    with ctx.db.engine.connect() as connection:
        around = _events(connection, hazard_id, applied, applied + 1)
    view.last_event = next((e for e in around if e.hazard_seq == applied), None)
    view.next_event = next((e for e in around if e.hazard_seq == applied + 1), None)
    return view


def auditor_overview(
    *, ctx: Context, caller: Caller, recent: int = 10, window: int = 2000
) -> dict[str, Any]:
    """The auditor's landing: the newest checkpoint, how many events were appended since it,
    and the newest events in the caller's scope among the last `window` events."""
    with ctx.db.engine.connect() as connection:
        latest = connection.execute(
            select(CHECKPOINTS).order_by(CHECKPOINTS.c.id.desc()).limit(1)
        ).first()
        max_seq = connection.execute(select(func.max(EVENTS.c.seq))).scalar_one() or 0
        newest = _newest_in_scope(connection, caller, max_seq, recent, window)
    since = max_seq - latest.max_seq if latest is not None else max_seq
    return {
        "checkpoint": dict(latest._mapping) if latest is not None else None,
        "events_since_checkpoint": max(since, 0),
        "newest_events": newest,
        "window": window,
        "now": ctx.now().astimezone(UTC),
    }


def _newest_in_scope(
    connection: Connection, caller: Caller, max_seq: int, recent: int, window: int
) -> list[dict[str, Any]]:
    """Newest first, walking back from the newest event in batches: a join filtered by region
    would have SQLite read every hazard of the region and sort all their events."""
    c, h = EVENTS.c, HAZARDS.c
    found: list[dict[str, Any]] = []
    top, floor = max_seq, max(max_seq - window, 0)
    while top > floor and len(found) < recent:
        batch = connection.execute(
            select(c.seq, c.hazard_id, c.hazard_seq, c.trigger, c.actor, c.at)
            .where(c.seq <= top, c.seq > max(top - 200, floor))
            .order_by(c.seq.desc())
        ).all()
        ids = {row.hazard_id for row in batch}
        hazards_of = {
            row.id: row
            for row in connection.execute(
                select(h.id, h.title, h.region_code, h.enterprise_id).where(h.id.in_(ids))
            )
        }
        for row in batch:
            hz = hazards_of.get(row.hazard_id)
            if hz is not None and caller.sees(
                region_code=hz.region_code, enterprise_id=hz.enterprise_id
            ):
                found.append(dict(row._mapping) | {"title": hz.title})
                if len(found) == recent:
                    break
        top -= 200
    return found
