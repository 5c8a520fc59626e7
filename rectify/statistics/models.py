"""The shapes of GET /api/v1/statistics."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

__all__ = ["GroupBy", "GroupFigures", "Statistics"]


class GroupBy(StrEnum):
    region = "region"
    industry = "industry"
    enterprise = "enterprise"
    grade = "grade"
    source = "source"
    month = "month"


class GroupFigures(BaseModel):
    """One group's figures (docs/STATISTICS.md defines each)."""

    key: str | int | None  # region code, industry, enterprise id, grade, source or YYYY-MM
    label: str | None = None  # how a page names it (Chinese)
    reported: int
    open: int
    closed: int
    dismissed: int
    overdue: int
    closed_on_time: int
    closed_late: int
    on_time_rate: float | None  # 按期整改率
    major_reported: int
    major_closed: int
    major_dismissed: int
    major_signoff_rate: float | None  # 重大隐患销号率
    mean_days_to_close: float | None
    p90_days_to_close: float | None
    repeat: int
    duplicates: int


class Statistics(BaseModel):
    group_by: GroupBy
    region: str | None  # the region the figures cover (the scope, or the narrower filter)
    level: str | None  # for group_by=region: province, city, county or township
    from_: date | None = Field(default=None, alias="from")
    to: date | None
    as_of: datetime  # "overdue now" is counted at this time
    groups: list[GroupFigures]
    total: GroupFigures
