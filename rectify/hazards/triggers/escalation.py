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
    Reaction,
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
from rectify.hazards.triggers.penalties import flag_for_closure
from rectify.inputs import Day, Instant, LongText, Text
from rectify.timers.policy import CHINA_TZ
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
            out["document_no"] = f"SYS-{e.now:%Y%m%d}-{h.id}"
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


@define
class RecordSuspensionRefusal(Trigger):
    """登记拒不执行停产整顿 (workflow v2): the enterprise refuses a suspension order, a ground
    for closure (安全生产法第一百一十三条)."""

    name: ClassVar[str] = "record_suspension_refusal"
    facts: LongText  # what was found: production going on, the seal broken, ...
    found_on: Day | None = None

    @classmethod
    def react(cls, r: Reaction) -> None:
        flag_for_closure(r, "refused_suspension")


@define
class OrderClosure(Trigger):
    """提请关闭取缔. Version 1: the hazard ends with the enterprise's operation. Version 2: a
    request to the people's government, which decides (安全生产法 art. 113); its timer runs until
    `decide_closure` records the decision."""

    name: ClassVar[str] = "order_closure"
    decision_no: Text
    reason: LongText

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        if e.hazard.production == "closure_requested":  # v2: requested, not yet decided
            e.start("closure_decision_due")
            return p
        return _shut_down(e, p)


def _shut_down(e: Effect, p: Payload) -> Payload:
    e.hazard.set(resolution="shut_down")
    e.stop(*RECTIFICATION_TIMERS, "verification_due", "closure_decision_due")
    return e.lapse_extension(p)


@define
class DecideClosure(Trigger):
    """登记关闭决定 (workflow v2): the people's government's decision on the closure the office
    asked for: approved shuts the enterprise down and ends the hazard; rejected leaves the
    enterprise suspended."""

    name: ClassVar[str] = "decide_closure"
    decision: Literal["approved", "rejected"]
    decided_on: Day
    decision_no: Text  # the government's document
    deciding_body: Text  # e.g. 武汉市江岸区人民政府
    note: LongText | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        today = s.now.astimezone(CHINA_TZ).date()
        if self.decided_on > today:
            return [err("decided_on", f"must not be after today ({today.isoformat()})")]
        return []

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        if p["decision"] == "approved":
            return _shut_down(e, p)
        e.stop("closure_decision_due")
        return p


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
    """登记立案决定: the police filed the case (with its number) or did not; in version 2 also
    their answer to a reconsideration and the outcome of 立案监督 (国务院令第310号 art. 8, 9)."""

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
        e.stop("judicial_decision_due", "reconsideration_answer_due")
        if e.hazard.judicial == "not_filed" and e.offers("request_reconsideration"):
            e.start("reconsideration_window")  # v2: 3 days to ask for reconsideration
        return p


@define
class RequestReconsideration(Trigger):
    """申请复议 (workflow v2): the office asks the police to reconsider a refused filing, within
    the window (国务院令第310号 art. 9); the police answer within 3 days."""

    name: ClassVar[str] = "request_reconsideration"
    document_no: Text  # the request's own number
    reason: LongText

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.stop("reconsideration_window")
        e.start("reconsideration_answer_due")
        return p


@define
class RequestFilingSupervision(Trigger):
    """提请立案监督 (workflow v2): the police upheld their refusal; the office asks the
    procuratorate to supervise the filing (国务院令第310号 art. 9)."""

    name: ClassVar[str] = "request_filing_supervision"
    procuratorate: Text  # e.g. 武汉市江岸区人民检察院
    document_no: Text
    reason: LongText


@define
class OrderOnTheSpot(Trigger):
    """现场处理措施 (workflow v2): at discovery, before any assignment, an inspector orders work
    stopped, people withdrawn or equipment stopped where safety cannot be assured (安全生产法
    art. 65); production is suspended until a verification passes."""

    name: ClassVar[str] = "order_on_the_spot"
    measures: list[Literal["stop_work", "withdraw_people", "stop_equipment"]] = Field(min_length=1)
    scope: Text  # where: the workshop, the line, the site
    reason: LongText
    order_no: Text | None = None  # the on-the-spot decision's number, when one was issued
