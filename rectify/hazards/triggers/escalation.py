"""The three escalation branches (SPEC 2): 挂牌督办, 停产整顿 / 关闭取缔, 移交司法."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator
from pydantic_core import PydanticCustomError

from rectify.auth.scope import LEVELS
from rectify.exceptions import FieldError
from rectify.hazards.triggers.base import (
    Effect,
    Payload,
    Situation,
    Trigger,
    absent,
    deadline_rules,
    define,
    err,
    iso,
    parse_instant,
    uploaded,
)
from rectify.hazards.triggers.documents import Officers
from rectify.inputs import Instant, LongText, Text
from rectify.timers.service import RECTIFICATION_TIMERS


@define
class ListForSupervision(Trigger):
    """挂牌督办: at a level not above the caller's; the system numbers its own listings."""

    name: ClassVar[str] = "list_for_supervision"
    level: Literal["county", "city", "province"]
    document_no: Text | None = None
    deadline: Instant | None = None

    @classmethod
    def required(cls, raw: Payload, s: Situation) -> list[FieldError]:
        if s.caller.role != "system" and absent(raw.get("document_no")):
            return [err("document_no", "required: the number of the listing document")]
        return []

    def rules(self, s: Situation) -> list[FieldError]:
        errors = deadline_rules("deadline", self.deadline, s)
        own = s.caller.level
        if own and LEVELS.index(self.level) > LEVELS.index(own):
            errors.append(err("level", f"must not be above your own level ({own})"))
        return errors

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        h.set(supervision_level=p["level"])
        out = dict(p)
        if e.role == "system" and not p.get("document_no"):
            # The number of the notice the listing issued; SYS-… where none is issued.
            out["document_no"] = e.document_no or f"SYS-{e.now:%Y%m%d}-{h.id}"
        if p.get("deadline"):
            out["previous_deadline"] = iso(h.deadline)
            e.set_deadline(parse_instant(p["deadline"]))
        if h.state == "rectifying":
            e.start("progress_due")
        return out


@define
class OrderSuspension(Trigger):
    """责令停产整顿 (安全生产法 art. 65, 102)."""

    name: ClassVar[str] = "order_suspension"
    order_no: Text
    reason: LongText
    officers: Officers = None  # who sign the suspension order


@define
class OrderClosure(Trigger):
    """提请关闭取缔: the hazard ends with the enterprise's operation."""

    name: ClassVar[str] = "order_closure"
    decision_no: Text
    reason: LongText

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(resolution="shut_down")
        e.stop(*RECTIFICATION_TIMERS, "verification_due")
        return e.lapse_extension(p)


@define
class TransferToJudicial(Trigger):
    """移交司法机关 (国务院令第310号): two officers and the file's attachments."""

    name: ClassVar[str] = "transfer_to_judicial"
    cites_evidence: ClassVar[bool] = True
    receiving_organ: Text
    case_summary: LongText
    officers: list[Text] = Field(min_length=2)
    attachments: list[str] = Field(min_length=1)

    @field_validator("officers")
    @classmethod
    def _two_people(cls, names: list[str]) -> list[str]:
        # Two enforcement officers handle a transfer (art. 5): the same name twice is one.
        if len({n.strip() for n in names}) < 2:
            raise PydanticCustomError("distinct", "needs at least two different officers")
        return names

    def rules(self, s: Situation) -> list[FieldError]:
        return uploaded("attachments", self.attachments, s.evidence)

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.start("judicial_decision_due")
        return p


@define
class RecordJudicialDecision(Trigger):
    """登记立案决定: filed (with the case number) or not filed."""

    name: ClassVar[str] = "record_judicial_decision"
    decision: Literal["filed", "not_filed"]
    case_no: Text | None = None
    reason: LongText | None = None

    @classmethod
    def required(cls, raw: Payload, s: Situation) -> list[FieldError]:
        if raw.get("decision") == "filed" and absent(raw.get("case_no")):
            return [err("case_no", "required when the decision is filed (立案)")]
        return []

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.stop("judicial_decision_due")
        return p
