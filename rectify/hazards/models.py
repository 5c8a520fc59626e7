"""Hazards (事故隐患): the table rows (hazard, penalty, idempotency record) and API shapes."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import StrictBool
from sqlalchemy import JSON, Index, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlmodel import Field, SQLModel

from rectify.database.core import MAX_ID, UTCDateTime, utcnow
from rectify.hazards.extensions import ExtensionRequest
from rectify.inputs import Id, maybe_text, text


class Grade(StrEnum):
    general = "general"  # 一般事故隐患
    major = "major"  # 重大事故隐患


class Source(StrEnum):
    self_check = "self_check"  # 企业自查
    inspection = "inspection"  # 执法检查
    public_report = "public_report"  # 群众举报
    monitoring = "monitoring"  # 监测预警


STATISTICS_INDEX = (
    "region_code",
    "state",
    "grade",
    "tenths_to_close",
    "deadline",
    "rectified_at",
    "closed_at",
    "recurrence_of",
    "discovered_at",
    "seconds_to_close",
)
"""The columns of the statistics' covering index, in its order (migration 0015)."""


class HazardBase(SQLModel):
    enterprise_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10000)
    grade: Grade
    industry: str = Field(min_length=1, max_length=100)
    source: Source
    location: str = Field(default="", max_length=500)
    violation: bool = False


class HazardCreate(HazardBase):
    """What a reporter sends: strict types (rectify.inputs), nothing coerced."""

    enterprise_id: Id  # 3, not "3"
    title: text(300)  # type: ignore[valid-type]
    description: maybe_text(10000, long=True) = ""  # type: ignore[valid-type]
    industry: text(100)  # type: ignore[valid-type]
    location: maybe_text(500) = ""  # type: ignore[valid-type]
    violation: StrictBool = False  # "true" is a string: a 422, not a silent yes


# A pending extension request: a JSON null (how the JSON type writes None) is none.
_EXTENSION_PENDING = (
    "pending_extension IS NOT NULL AND CAST(pending_extension AS VARCHAR) != 'null'"
)


class Hazard(HazardBase, table=True):
    __tablename__ = "hazards"
    # An enterprise's open (major) hazards, counted from the index alone: the enterprise page
    # and the closure rule (migration 0012).
    # The worklists (rectify.hazards.worklists, migration 0013): each list from an index range.
    __table_args__ = (
        Index("ix_hazards_enterprise_grade_state", "enterprise_id", "grade", "state"),
        Index("ix_hazards_state_deadline", "state", "grade", "deadline", "id", "region_code"),
        Index("ix_hazards_supervision_region", "supervision", "region_code"),
        Index("ix_hazards_production_region", "production", "region_code"),
        Index("ix_hazards_judicial_region", "judicial", "region_code"),
        Index("ix_hazards_enterprise_deadline", "enterprise_id", "deadline"),
        *(
            Index(
                f"ix_hazards_extension_pending_{column}",
                column,
                sqlite_where=sql_text(_EXTENSION_PENDING),
                postgresql_where=sql_text(_EXTENSION_PENDING),
            )
            for column in ("region_code", "enterprise_id")
        ),
        # Statistics (rectify.statistics) read a region's hazards from this index alone, in
        # its order: no table row is fetched and a region's groups need no sort (migration 0015).
        Index("ix_hazards_statistics", *STATISTICS_INDEX),
    )

    id: int | None = Field(default=None, primary_key=True)
    enterprise_id: int = Field(foreign_key="enterprises.id", index=True)
    region_code: str = Field(index=True)  # the enterprise's, copied for scope filters
    grade: str
    source: str
    state: str = Field(index=True)
    supervision: str
    production: str
    judicial: str
    resolution: str | None = None  # rectified | dismissed | shut_down, once final
    supervision_level: str | None = None
    workflow_name: str
    workflow_version: int
    version: int = 1  # the number of events; If-Match and ETag carry it
    head_hash: str  # hash of the newest event of this hazard's chain
    reported_by: str
    assignee: str | None = None
    assigned_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deadline: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # The first rectification deadline set (at assign), kept while extensions, a failed
    # verification or a regrade move `deadline` (migration 0014; the ledgers and the view).
    original_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The deadline was counted over a year without holiday data (provisional calendar); it is
    # recounted when the year's notice is loaded (rectify.calendar.service).
    deadline_provisional: bool = False
    plan: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    pending_extension: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    verify_failures: int = 0
    penalty_count: int = 0
    # On the self-check path (workflow v2, 16号令 art. 15): rectified and accepted within the
    # enterprise until the office takes it over.
    self_managed: bool = False  # kept by record_penalty; the close guard reads it
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When it was found (the report, or the date an imported ledger row names), when the
    # enterprise last said it was rectified, and when it reached a final state (statistics).
    discovered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    rectified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # From discovery to its closing (销号): seconds, and whole tenths of a day (statistics).
    seconds_to_close: int | None = None
    tenths_to_close: int | None = None
    # The hazard this one repeats (重复隐患) or duplicates (dismissed as a duplicate of it).
    recurrence_of: int | None = Field(default=None, index=True)

    @property
    def workflow_state(self) -> dict[str, str]:
        return {
            "state": self.state,
            "supervision": self.supervision,
            "production": self.production,
            "judicial": self.judicial,
        }


class Penalty(SQLModel, table=True):
    """A penalty decision (行政处罚) recorded against a hazard and so its enterprise."""

    __tablename__ = "penalties"

    id: int | None = Field(default=None, primary_key=True)
    hazard_id: int = Field(foreign_key="hazards.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprises.id", index=True)
    decision_no: str
    kind: str
    amount_yuan: float | None = None
    legal_basis: str
    recorded_by: str
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    # The date of the decision (安全生产法 art. 113 counts penalties by it); rows recorded
    # before it was kept have the China date of `at` (migration 0008).
    decided_on: date | None = Field(default=None, index=True)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a transition request carrying an Idempotency-Key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (UniqueConstraint("principal_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    principal_id: int = Field(foreign_key="principals.id")
    key: str
    request_hash: str
    hazard_id: int
    status_code: int
    body: dict[str, Any] = Field(sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class PenaltyPublic(SQLModel):
    id: int
    decision_no: str
    kind: str
    amount_yuan: float | None
    legal_basis: str
    recorded_by: str
    at: datetime
    decided_on: date | None


class TimerPublic(SQLModel):
    kind: str
    due_at: datetime
    provisional: bool  # counted over a year without holiday data: recounted when it is loaded


class HazardSummary(HazardBase):
    """One row of the hazard list."""

    id: int
    region_code: str
    state: str
    supervision: str
    production: str
    judicial: str
    resolution: str | None
    supervision_level: str | None
    version: int
    deadline: datetime | None
    # The first deadline set; extensions move `deadline`. Defaults: a response stored for an
    # Idempotency-Key before these fields existed is answered again as it was.
    original_deadline: datetime | None = None
    deadline_provisional: bool  # counted with the provisional calendar (no holiday data yet)
    self_managed: bool  # on the self-check path (workflow v2): the enterprise verifies
    overdue: bool
    overdue_seconds: int | None
    created_at: datetime
    updated_at: datetime
    discovered_at: datetime | None  # when it was found (an imported row's date)
    closed_at: datetime | None  # when it reached a final state
    recurrence_of: int | None  # the hazard it repeats or duplicates (重复隐患)


class HazardPublic(HazardSummary):
    """The whole hazard as one caller may see it."""

    state_label: str
    labels: dict[str, str]  # Chinese label of each region's current state
    workflow: dict[str, Any]
    reported_by: str
    assignee: str | None
    plan: dict[str, Any] | None
    pending_extension: dict[str, Any] | None
    extensions: list[ExtensionRequest] = []  # every request, its decision, decider and time
    verify_failures: int
    penalties: list[PenaltyPublic]
    pending_timers: list[TimerPublic]
    evidence: list[dict[str, Any]]
    allowed_triggers: list[str]


class HazardPage(SQLModel):
    items: list[HazardSummary]
    total: int
    limit: int
    offset: int


class TransitionRequest(SQLModel):
    trigger: str = Field(min_length=1, max_length=100)
    payload: dict[str, Any] = {}
