"""Webhook subscriptions and the outbox: deliveries written in the event's own transaction."""

from __future__ import annotations

from sqlmodel import Session

from rectify.audit.models import Event
from rectify.hazards.models import Hazard


def enqueue(*, session: Session, event: Event, hazard: Hazard) -> None:
    """Queue the event for every matching subscription, in the caller's transaction."""
