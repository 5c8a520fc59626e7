"""The history: append-only events chained per hazard, and the workflow versions run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime

CONFIRMED = "trigger = 'confirm_rectified'"


class Event(SQLModel, table=True):
    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("hazard_id", "hazard_seq"),
        # When each hazard last asked for verification: one row per confirmation, for the
        # worklists' "waiting since" (rectify.hazards.worklists, migration 0013).
        Index(
            "ix_events_confirmed",
            "hazard_id",
            "at",
            sqlite_where=text(CONFIRMED),
            postgresql_where=text(CONFIRMED),
        ),
    )

    seq: int | None = Field(default=None, primary_key=True)
    hazard_id: int = Field(foreign_key="hazards.id", index=True)
    hazard_seq: int
    trigger: str
    from_state: dict[str, str] | None = Field(default=None, sa_type=JSON)
    to_state: dict[str, str] = Field(sa_type=JSON)
    actor: str
    actor_id: int | None = None  # the principal that fired it (None: the system)
    role: str
    at: datetime = Field(sa_type=UTCDateTime)
    payload: str  # canonical JSON text, exactly the bytes that were hashed
    workflow_name: str
    workflow_version: int
    prev_hash: str
    hash: str


class WorkflowVersion(SQLModel, table=True):
    """Every workflow definition version this database has run, with its content hash."""

    __tablename__ = "workflow_versions"

    name: str = Field(primary_key=True)
    version: int = Field(primary_key=True)
    content_hash: str
    first_seen: datetime = Field(sa_type=UTCDateTime)


class Checkpoint(SQLModel, table=True):
    """A Merkle root over every chain head at one moment, chained to the previous checkpoint."""

    __tablename__ = "checkpoints"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_type=UTCDateTime)
    merkle_root: str
    hazards: int  # chains covered
    events: int  # events covered
    max_seq: int  # the newest global event seq covered
    prev_hash: str  # the previous checkpoint's hash (GENESIS for the first)
    hash: str  # SHA-256 of `line`
    line: str  # one printable line an office can publish and later check
    created_by: str


class CheckpointHead(SQLModel, table=True):
    """A chain head a checkpoint sealed. Each checkpoint lists the chains that moved since the
    previous one (the first lists all), so checkpoint N's heads are, per hazard, its newest row
    with checkpoint_id <= N. The Merkle root detects a deleted or truncated chain; these rows
    name it. No foreign keys, on purpose: they must outlive the rows an attacker deletes."""

    __tablename__ = "checkpoint_heads"

    checkpoint_id: int = Field(primary_key=True)
    hazard_id: int = Field(primary_key=True)
    hazard_seq: int  # the head's place in its chain: the chain's event count
    head_hash: str
