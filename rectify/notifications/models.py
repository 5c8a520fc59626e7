"""Webhook subscriptions and the outbox of deliveries (written with the event they carry)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"

    id: int | None = Field(default=None, primary_key=True)
    url: str
    secret: str  # HMAC-SHA256 key for the X-Rectify-Signature header
    event_types: list[str] = Field(sa_type=JSON)  # triggers or timer events; ["*"] for all
    region_code: str | None = None  # the creator's scope: only hazards inside it are sent
    created_by: str  # the creator's actor name, for people; ownership is `principal_id`
    # The principal that subscribed: only it (and admins) may see or stop the subscription.
    principal_id: int | None = Field(default=None, foreign_key="principals.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One event for one subscriber; retried with backoff until delivered or given up."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhooks.id", index=True)
    idempotency_id: str = Field(unique=True)  # sent as Idempotency-Key; the same on retries
    event_seq: int | None = None
    hazard_id: int | None = None
    event_type: str
    body: str  # the exact JSON bytes signed and sent
    status: str = "pending"  # pending | delivered | failed
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    last_status_code: int | None = None
    # One of service.ERROR_CLASSES, never the receiver's words or the OS's: a receiver (or a
    # probe of the office's network) must not be able to read anything back through the log.
    last_error_class: str | None = None
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
