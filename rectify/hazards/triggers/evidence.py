"""Evidence uploaded to a hazard is history too: the upload itself appends this event."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, StrictInt

from rectify.hazards.triggers.base import Effect, Payload, Trigger, define


@define
class EvidenceAdded(Trigger):
    """上传证据材料: recorded by the upload (`internal` in the workflow file), in its own
    transaction; never fired through the transitions endpoint."""

    name: ClassVar[str] = "evidence_added"
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: StrictInt = Field(ge=1)
    content_type: str
    filename: str | None = None

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.record(
            "evidence",
            {"hazard_id": e.hazard.id, "filename": None}
            | p
            | {"uploaded_by": e.actor, "at": e.now},
        )
        return p
