"""The calendar_years table: one row per published year, shared by every process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow


class CalendarYear(SQLModel, table=True):
    """A year's holiday data as last loaded. `seq` grows with every load (of any year), so a
    process knows it is up to date when the highest `seq` is the one it holds."""

    __tablename__ = "calendar_years"

    year: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = Field(unique=True)
    revision: int
    digest: str  # sha256 of the data's canonical JSON
    data: dict[str, Any] = Field(sa_type=JSON)  # the validated year file (data.YearFile)
    source: str  # the file it came from
    loaded_by: str
    loaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
