"""Timers: deadlines kept in the database, written in the trigger's own transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow


class Timer(SQLModel, table=True):
    __tablename__ = "timers"
    # The sweep asks "what is due and pending, oldest first": served by this partial index.
    __table_args__ = (
        Index(
            "ix_timers_pending_due",
            "due_at",
            sqlite_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("fired_at IS NULL AND cancelled_at IS NULL"),
        ),
        # "Which pending timers are still provisional?" (start-up, after a year is loaded).
        Index(
            "ix_timers_pending_provisional",
            "hazard_id",
            sqlite_where=text("provisional AND fired_at IS NULL AND cancelled_at IS NULL"),
            postgresql_where=text("provisional AND fired_at IS NULL AND cancelled_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    hazard_id: int = Field(foreign_key="hazards.id", index=True)
    kind: str  # plan_due, progress_due, reminder, rectification, verification_due, ...
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    fired_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    outcome: str | None = None  # fired | skipped (hazard moved on)
    step: int = 0  # index into the escalation ladder, for ladder timers
    # Counted over a year without holiday data (the provisional calendar): recounted when the
    # year is loaded. What recounting needs, for timers counted in working days: the instant
    # counted from (the deadline, for a reminder) and the rule ("general.rectification P7D
    # working").
    provisional: bool = False
    counted_from: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rule: str | None = None
