"""Enterprises (生产经营单位): the table row and the API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import StringConstraints, field_validator
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime, utcnow
from rectify.enterprises.codes import check_credit_code
from rectify.inputs import RegionCode, text


class EnterpriseBase(SQLModel):
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(description="统一社会信用代码, 18 characters (GB 32100-2015)")
    industry: str = Field(min_length=1, max_length=100)
    region_code: str = Field(description="行政区划代码: 6 digits, or 9 for a township or street")


class EnterpriseCreate(EnterpriseBase):
    """What a dispatcher sends: strict types (rectify.inputs), nothing coerced."""

    name: text(200)  # type: ignore[valid-type]
    credit_code: Annotated[str, StringConstraints(strict=True, max_length=100)] = Field(
        description="统一社会信用代码, 18 characters (GB 32100-2015)"
    )
    industry: text(100)  # type: ignore[valid-type]
    region_code: RegionCode = Field(
        description="行政区划代码 in ASCII digits: 6, or 9 for a township or street (乡级)"
    )

    @field_validator("credit_code")
    @classmethod
    def _credit_code(cls, v: str) -> str:
        return check_credit_code(v)


class Enterprise(EnterpriseBase, table=True):
    __tablename__ = "enterprises"

    id: int | None = Field(default=None, primary_key=True)
    credit_code: str = Field(unique=True, index=True)
    region_code: str = Field(index=True)
    closure_recommended: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PenaltyWindow(SQLModel):
    """Penalties decided within one window of the closure rule (安全生产法第一百一十三条)."""

    days: int
    threshold: int  # this many within `days` (with an open major hazard) flags the enterprise
    count: int


class PenaltyCounts(SQLModel):
    total: int  # every penalty, under any law
    counted_laws: list[str]  # the laws whose penalties the closure rule counts
    windows: list[PenaltyWindow]


class EnterprisePublic(EnterpriseBase):
    id: int
    closure_recommended: bool
    created_at: datetime
    penalty_counts: PenaltyCounts
