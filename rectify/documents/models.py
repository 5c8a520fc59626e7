"""执法文书: the document rows (one per issuing step, pending until rendered), the number
counters (one row per office, kind and year), and the API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel
from sqlalchemy import Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from rectify.database.core import UTCDateTime
from rectify.inputs import Instant, LongText
from rectify.inputs import Text as OneLine

__all__ = [
    "SERVICE_METHODS",
    "Document",
    "DocumentCounter",
    "DocumentPublic",
    "ServeRequest",
    "Service",
]

# 送达 methods: 民事诉讼法 第七章第二节 (送达), which 行政处罚法 art. 61 applies to penalty
# decisions [law]; the same list serves every document. [ours: the identifiers]
SERVICE_METHODS: dict[str, str] = {
    "in_person": "直接送达",
    "left": "留置送达",
    "electronic": "电子送达",
    "entrusted": "委托送达",
    "post": "邮寄送达",
    "forwarded": "转交送达",
    "public_notice": "公告送达",
}
ServiceMethod = Literal[
    "in_person", "left", "electronic", "entrusted", "post", "forwarded", "public_notice"
]

STATUS_LABELS = {"pending": "待生成", "issued": "已生成"}


class Document(SQLModel, table=True):
    """One issued document: written pending in the issuing step's transaction (number and
    snapshot), rendered after commit (sha256, `document_issued` event), then maybe served."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("office", "kind", "year", "seq"),)

    id: int | None = Field(default=None, primary_key=True)
    hazard_id: int = Field(foreign_key="hazards.id", index=True)
    kind: str = Field(max_length=40)
    office: str = Field(max_length=20)  # the office's region code, or default:<region>
    year: int
    seq: int
    number: str = Field(max_length=200)  # 文号, from the kind's number template
    trigger: str = Field(max_length=40)  # the issuing step
    hazard_seq: int  # its event
    issued_at: datetime = Field(sa_type=UTCDateTime)  # the issuing event's time
    snapshot: str = Field(sa_type=Text)  # canonical JSON: everything the document shows
    status: str = Field(default="pending", max_length=10, index=True)  # pending | issued
    sha256: str | None = Field(default=None, max_length=64)
    size: int | None = None
    rendered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    issued_seq: int | None = None  # hazard_seq of its document_issued event
    attempts: int = 0  # failed renders (a missing font, a broken template)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    served_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    served_method: str | None = Field(default=None, max_length=20)
    served_recipient: str | None = Field(default=None, max_length=1000)
    served_seq: int | None = None  # hazard_seq of its serve_document event


class DocumentCounter(SQLModel, table=True):
    """The last number given per office, kind and year; moved in the issuing transaction."""

    __tablename__ = "document_counters"

    office: str = Field(primary_key=True, max_length=20)
    kind: str = Field(primary_key=True, max_length=40)
    year: int = Field(primary_key=True)
    last: int


class Service(BaseModel):
    """How a document was served (送达)."""

    served_at: datetime
    method: str
    method_label: str
    recipient: str
    hazard_seq: int


class DocumentPublic(BaseModel):
    """A document as the API lists it."""

    id: int
    hazard_id: int
    kind: str
    name: str  # 责令限期整改指令书 ...
    number: str
    trigger: str
    hazard_seq: int
    issued_at: datetime
    status: Literal["pending", "issued"]
    status_label: str
    sha256: str | None
    size: int | None
    issued_seq: int | None
    served: Service | None
    href: str | None  # the PDF (GET /api/v1/documents/{id}), once rendered


class ServeRequest(BaseModel):
    """送达: when, how and to whom a document was served."""

    served_at: Instant
    method: ServiceMethod
    recipient: OneLine
    note: LongText | None = None
