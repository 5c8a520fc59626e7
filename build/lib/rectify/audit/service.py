"""Appending to and reading a hazard's history; the only code that writes events."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from rectify.audit.chain import canonical_event, canonical_json, format_at, link
from rectify.audit.models import Event
from rectify.database.core import defer_insert
from rectify.hazards.models import Hazard


def append_event(
    *,
    session: Session,
    hazard: Hazard,
    trigger: str,
    from_state: dict[str, str] | None,
    actor: str,
    role: str,
    at: datetime,
    payload: dict[str, Any],
) -> dict[str, Any]:
    """Add the next event of the hazard's chain and move the hazard's head and version.

    The row is queued (`defer_insert`) and returned as a dict without its global `seq`."""
    seq = hazard.version + 1 if from_state is not None else 1
    fields: dict[str, Any] = dict(
        hazard_id=hazard.id,
        hazard_seq=seq,
        trigger=trigger,
        from_state=from_state,
        to_state=hazard.workflow_state,
        actor=actor,
        role=role,
        at=at,
        payload=canonical_json(payload),
        workflow_name=hazard.workflow_name,
        workflow_version=hazard.workflow_version,
        prev_hash=hazard.head_hash,
    )
    fields["hash"] = link(hazard.head_hash, canonical_event(**fields))
    defer_insert(session, Event.__table__, fields)  # type: ignore[arg-type]
    hazard.version, hazard.head_hash, hazard.updated_at = seq, fields["hash"], at
    return fields


def stored(*, session: Session, row: dict[str, Any]) -> Event:
    """The event `append_event` queued, as stored (with its global `seq`)."""
    stmt = select(Event).where(
        Event.hazard_id == row["hazard_id"], Event.hazard_seq == row["hazard_seq"]
    )
    return session.exec(stmt).one()


def history(*, session: Session, hazard_id: int) -> list[Event]:
    """The hazard's events in chain order."""
    stmt = select(Event).where(Event.hazard_id == hazard_id).order_by(Event.hazard_seq)
    return list(session.exec(stmt))


def to_public(event: Event) -> dict[str, Any]:
    """An event as the API shows it: `from`/`to`, payload parsed, time with `Z`."""
    return {
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
