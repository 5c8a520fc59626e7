"""Evidence files attached to a hazard; the bytes live in the content-addressed store."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow


class Evidence(SQLModel, table=True):
    __tablename__ = "evidence"

    hazard_id: int = Field(foreign_key="hazards.id", primary_key=True)
    sha256: str = Field(primary_key=True, min_length=64, max_length=64)
    size: int
    content_type: str
    filename: str | None = None
    uploaded_by: str
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class EvidencePublic(SQLModel):
    sha256: str
    size: int
    content_type: str
