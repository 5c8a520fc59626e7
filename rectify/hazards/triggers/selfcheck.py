"""The self-check path (workflow v2; 安全生产事故隐患排查治理暂行规定 art. 15): a general hazard
the enterprise found itself, rectified and accepted within the enterprise where the policy
allows it, until the office takes it over."""

from __future__ import annotations

from typing import ClassVar

from rectify.exceptions import FieldError
from rectify.hazards.triggers.base import (
    Effect,
    Payload,
    Situation,
    Trigger,
    deadline_rules,
    define,
    iso,
    parse_instant,
)
from rectify.hazards.triggers.track import Close
from rectify.inputs import Instant, LongText, Text


@define
class SelfAssign(Trigger):
    """企业自行整改: the enterprise takes its own general hazard on, naming who is responsible
    and by when (the policy's deadline when not given)."""

    name: ClassVar[str] = "self_assign"
    assignee: Text
    deadline: Instant | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        return deadline_rules("deadline", self.deadline, s)

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        given = parse_instant(p.get("deadline"))
        h.set(assignee=p["assignee"], assigned_at=e.now, self_managed=True)
        e.set_deadline(given or e.policy.count("rectification", h.grade, e.now))
        e.start("plan_due", first=True)
        return e.provisional({**p, "deadline": iso(h.deadline)})


@define
class SelfVerify(Trigger):
    """企业自行验收: the enterprise's own person in charge accepts the work."""

    name: ClassVar[str] = "self_verify"
    verifier: Text  # the person in charge who accepted it
    note: LongText

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.stop("verification_due")
        return e.lapse_extension(p)


@define
class SelfClose(Close):
    """企业自行销号: the enterprise signs its own hazard off (the close guards still hold)."""

    name: ClassVar[str] = "self_close"


@define
class TakeOver(Trigger):
    """监管部门接管: the office takes a self-managed hazard over; it follows the office's track
    from where it stands (the office verifies and signs off)."""

    name: ClassVar[str] = "take_over"
    reason: LongText

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(self_managed=False)
        return p
