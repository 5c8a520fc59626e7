"""执法文书 in the history: the officers a step names, the document rendered and bound into the
chain (`document_issued`, by the service after the issuing step's commit), and its service
(`serve_document`, 送达). Both events are `internal` in the workflow file: recorded by their own
use cases (rectify.documents.service), never fired through /transitions."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StrictInt

from rectify.exceptions import FieldError
from rectify.hazards.triggers.base import Situation, SystemEvent, Trigger, define, err
from rectify.inputs import Id, Instant, LongText, Text

__all__ = ["DocumentIssued", "Officers", "ServeDocument"]

Officers = Annotated[list[Id | Text] | None, Field(min_length=1, max_length=2)]
"""The enforcement officers who sign the step's document (执法人员, each by principal id or
username); with one named, the caller is the other. Required where the document's kind needs
two officers (config/documents.toml); see rectify.documents.issue."""


@define
class DocumentIssued(SystemEvent):
    """文书已生成: the document a step issued, rendered; its SHA-256 proves a printed copy."""

    name: ClassVar[str] = "document_issued"
    document_id: StrictInt
    kind: str
    number: str
    issued_by: StrictInt  # the hazard_seq of the step that issued it
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: StrictInt = Field(ge=1)


@define
class ServeDocument(Trigger):
    """文书送达: when, how and to whom a document was served (民事诉讼法 送达 methods)."""

    name: ClassVar[str] = "serve_document"
    document_id: StrictInt
    number: Text
    served_at: Instant
    method: Literal[
        "in_person", "left", "electronic", "entrusted", "post", "forwarded", "public_notice"
    ]
    recipient: Text
    note: LongText | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        if self.served_at > s.now:
            return [err("served_at", f"must not be in the future (now is {s.now.isoformat()})")]
        return []
