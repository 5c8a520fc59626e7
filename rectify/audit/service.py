"""Appending to and reading a hazard's history; the only code that writes events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from rectify.audit.chain import Encoder, canonical_json, format_at
from rectify.audit.models import Event
from rectify.auth.scope import Caller
from rectify.database.uow import UnitOfWork
from rectify.hazards.row import HazardRow

EVENTS = Event.__table__  # type: ignore[attr-defined]
_ENCODER = Encoder()


def append_event(
    *,
    uow: UnitOfWork,
    hazard: HazardRow,
    trigger: str,
    from_state: dict[str, str] | None,
    caller: Caller,
    at: datetime,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Add the next event of the hazard's chain and move the hazard's head and version.

    The row is queued (sent with the transaction's next statement) and returned as a dict
    without its global `seq`."""
    seq = hazard.version + 1 if from_state is not None else 1
    fields: dict[str, Any] = dict(
        hazard_id=hazard.id,
        hazard_seq=seq,
        trigger=trigger,
        from_state=from_state,
        to_state=hazard.workflow_state,
        actor=caller.actor,
        actor_id=caller.actor_id,
        role=caller.role,
        at=at,
        payload=canonical_json(payload),
        workflow_name=hazard.workflow_name,
        workflow_version=hazard.workflow_version,
        prev_hash=hazard.head_hash,
    )
    fields["hash"] = _ENCODER.hash(**fields)
    uow.add(EVENTS, fields)
    hazard.set(version=seq, head_hash=fields["hash"], updated_at=at)
    return fields


def history(*, connection: Connection, hazard_id: int) -> list[Any]:
    """The hazard's events (rows) in chain order."""
    stmt = select(EVENTS).where(EVENTS.c.hazard_id == hazard_id).order_by(EVENTS.c.hazard_seq)
    return list(connection.execute(stmt))


def to_public(event: Any) -> dict[str, Any]:
    """An event as the API shows it: `from`/`to`, payload parsed, time with `Z`; `actor_id`
    (the principal) beside the actor's name when a principal fired it."""
    public = {
        "seq": event.seq,
        "hazard_id": event.hazard_id,
        "hazard_seq": event.hazard_seq,
        "trigger": event.trigger,
        "from": event.from_state,
        "to": event.to_state,
        "actor": event.actor,
        "role": event.role,
        "at": format_at(event.at),
        "payload": json.loads(event.payload),
        "workflow": {"name": event.workflow_name, "version": event.workflow_version},
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }
    if event.actor_id is not None:
        public["actor_id"] = event.actor_id
    return public
