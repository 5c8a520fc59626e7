"""追责问责 entries: the table (one row per entry, written by the event that opened it and
updated by the event that resolved it) and the API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime
from rectify.inputs import LongText, Text

__all__ = [
    "OUTCOMES",
    "Outcome",
    "RULES",
    "STATE_LABELS",
    "Accountability",
    "AccountabilityPage",
    "AccountabilityPublic",
    "ResolveRequest",
]

RULES: dict[str, str] = {
    # SPEC.md section 3: verification due → an entry against the verifying side.
    "verification_overdue": "验收逾期",
    # config/policy.toml: a ladder step naming `accountability`, reached while listed (挂牌督办).
    "listed_overdue": "挂牌督办隐患逾期未整改",
}
"""Why an entry is opened (the rule), with its Chinese name."""

# How the handling ended. [ours: the identifiers]; the measures are those of 中国共产党问责条例
# art. 8 and 公职人员政务处分法 (批评教育、诫勉、组织调整、处分), plus a finding of no fault
# and a transfer to the discipline inspection body (移送纪检监察机关).
OUTCOMES: dict[str, str] = {
    "no_fault": "经查无责",
    "criticism": "批评教育",
    "admonishment": "诫勉",
    "organisational": "组织调整或组织处理",
    "sanction": "党纪政务处分",
    "transferred": "移送纪检监察机关",
    "other": "其他",
}
Outcome = Literal[
    "no_fault", "criticism", "admonishment", "organisational", "sanction", "transferred", "other"
]

STATE_LABELS = {"open": "待处理", "resolved": "已处理"}


class Accountability(SQLModel, table=True):
    """One 追责问责 entry: opened by an event of the hazard's chain, resolved by another."""

    __tablename__ = "accountability"

    id: int | None = Field(default=None, primary_key=True)
    hazard_id: int = Field(foreign_key="hazards.id", index=True)
    enterprise_id: int = Field(foreign_key="enterprises.id", index=True)
    region_code: str = Field(index=True, max_length=12)  # the hazard's, for scope filters
    hazard_seq: int  # the event that opened it
    rule: str = Field(max_length=40)  # RULES
    body: str = Field(max_length=300)  # the body held to account (单位)
    person: str | None = Field(default=None, max_length=300)  # where known
    reason: str = Field(max_length=1000)
    opened_at: datetime = Field(sa_type=UTCDateTime, index=True)
    state: str = Field(default="open", max_length=10, index=True)  # open | resolved
    outcome: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, max_length=10000)
    resolved_by: str | None = Field(default=None, max_length=300)  # role:name
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    resolved_seq: int | None = None  # the resolve_accountability event


class AccountabilityPublic(BaseModel):
    """An entry as the API lists it."""

    id: int
    hazard_id: int
    enterprise_id: int
    region_code: str
    hazard_seq: int
    rule: str
    rule_label: str
    body: str
    person: str | None
    reason: str
    opened_at: datetime
    state: Literal["open", "resolved"]
    state_label: str
    outcome: str | None
    outcome_label: str | None
    note: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    resolved_seq: int | None


class AccountabilityPage(BaseModel):
    items: list[AccountabilityPublic]
    total: int
    limit: int
    offset: int


class ResolveRequest(BaseModel):
    """How an entry was handled: the outcome and a note (what was decided, by whom, its
    document)."""

    outcome: Outcome
    note: LongText
    person: Text | None = None  # the person held to account, when it was found out later
