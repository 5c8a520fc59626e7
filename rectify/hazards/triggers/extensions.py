"""Extensions (延期): the enterprise asks before the deadline, the dispatcher decides."""

from __future__ import annotations

from typing import ClassVar

from pydantic import StrictBool

from rectify.exceptions import FieldError
from rectify.hazards.triggers.base import (
    Effect,
    Payload,
    Situation,
    Trigger,
    deadline_rules,
    define,
    err,
    iso,
    parse_instant,
)
from rectify.inputs import Instant, LongText


@define
class RequestExtension(Trigger):
    """申请延期: one request pending at a time, a new deadline later than the current one."""

    name: ClassVar[str] = "request_extension"
    reason: LongText
    new_deadline: Instant

    def rules(self, s: Situation) -> list[FieldError]:
        deadline = s.hazard.deadline
        if deadline is not None and self.new_deadline <= deadline:
            return [err("new_deadline", f"must be later than {deadline.isoformat()}")]
        return deadline_rules("new_deadline", self.new_deadline, s)

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(pending_extension={**p, "requested_by": e.actor, "requested_at": iso(e.now)})
        return p


@define
class DecideExtension(Trigger):
    """审批延期: approved moves the deadline (the original stays in history)."""

    name: ClassVar[str] = "decide_extension"
    approved: StrictBool  # "yes" or "true" is not a decision
    note: LongText | None = None

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        request = h.pending_extension or {}
        h.set(pending_extension=None)
        out = {**p, "request": request}
        if p["approved"]:
            out["previous_deadline"] = iso(h.deadline)
            e.set_deadline(parse_instant(request["new_deadline"]))
        return out


@define
class WithdrawExtension(Trigger):
    """撤回延期申请: the enterprise takes back its pending request; nothing else moves."""

    name: ClassVar[str] = "withdraw_extension"
    reason: LongText | None = None

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        request = e.hazard.pending_extension
        e.hazard.set(pending_extension=None)
        return {**p, "request": request}
