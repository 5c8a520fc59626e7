"""Principals: who may call the API, with their role and scope; tokens stored as hashes."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow

ROLES = ("dispatcher", "inspector", "enterprise", "auditor", "admin")


class Principal(SQLModel, table=True):
    __tablename__ = "principals"

    id: int | None = Field(default=None, primary_key=True)
    name: str
    role: str = Field(index=True)
    region_code: str | None = None
    enterprise_id: int | None = Field(default=None, foreign_key="enterprises.id")
    token_hash: str = Field(unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked: bool = False

    @property
    def actor(self) -> str:
        """How the history names this principal: `role:name`."""
        return f"{self.role}:{self.name}"
