"""Events of the timer engine (SPEC 3): what each timer kind appends when it fires, and the
escalation ladder it sets off. Actor `system:scheduler`; none changes a state by itself."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from rectify.hazards.row import HazardRow, overdue_seconds
from rectify.hazards.triggers import accountability
from rectify.hazards.triggers.base import Due, Effect, Payload, SystemEvent, define, parse_instant
from rectify.timers.policy import Policy


@define
class PlanOverdue(SystemEvent):
    """治理方案逾期未报 (13710: a plan within a day)."""

    name: ClassVar[str] = "plan_overdue"
    timer: ClassVar[str | None] = "plan_due"


@define
class ProgressOverdue(SystemEvent):
    """整改进度逾期未报 (13710: progress within 3 days, while listed)."""

    name: ClassVar[str] = "progress_overdue"
    timer: ClassVar[str | None] = "progress_due"


@define
class DeadlineReminder(SystemEvent):
    """整改期限临近提醒."""

    name: ClassVar[str] = "deadline_reminder"
    timer: ClassVar[str | None] = "reminder"


@define
class DeadlineMissed(SystemEvent):
    """逾期未整改: the hazard is overdue; the grade's escalation ladder starts from here."""

    name: ClassVar[str] = "deadline_missed"
    timer: ClassVar[str | None] = "rectification"

    @classmethod
    def on_timer(cls, hazard: HazardRow, due: Due, policy: Policy, now: datetime) -> Any:
        if hazard.deadline != due.due_at:
            return None  # the deadline moved; its own timer will fire
        return cls.name, {}

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        missed_at = parse_instant(p.get("due_at"))
        if missed_at is not None:
            for i, step in enumerate(e.policy.grades[e.hazard.grade].ladder):  # type: ignore[index]
                e.schedule("escalation", e.policy.ladder_due(step, missed_at), step=i)
        return p


@define
class VerificationOverdue(SystemEvent):
    """验收逾期（追责问责）: the verifying side is held to account."""

    name: ClassVar[str] = "verification_overdue"
    timer: ClassVar[str | None] = "verification_due"

    @classmethod
    def on_timer(cls, hazard: HazardRow, due: Due, policy: Policy, now: datetime) -> Any:
        return cls.name, {"accountability": accountability.verification_overdue(hazard)}

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        accountability.opened(e, p, e.seq)  # the 追责问责 entry, a record (issue 12)
        return p


@define
class JudicialDecisionOverdue(SystemEvent):
    """立案决定逾期 (国务院令第310号 art. 8: the police decide within 3 days)."""

    name: ClassVar[str] = "judicial_decision_overdue"
    timer: ClassVar[str | None] = "judicial_decision_due"


@define
class EscalationNotice(SystemEvent):
    """升级提醒: a step of the escalation ladder; an automatic listing step lists instead."""

    name: ClassVar[str] = "escalation_notice"
    timer: ClassVar[str | None] = "escalation"

    @classmethod
    def on_timer(cls, hazard: HazardRow, due: Due, policy: Policy, now: datetime) -> Any:
        step = policy.grades[hazard.grade].ladder[due.step]  # type: ignore[index]
        if overdue_seconds(hazard, now) is None:
            return None
        if step.requires == "listed_and_overdue" and hazard.supervision != "listed":
            return None
        extra: dict[str, Any] = {"step": due.step, "action": step.action, "mode": step.mode}
        if step.action == "list_for_supervision" and step.mode == "auto":
            return "list_for_supervision", {"level": step.level or "county", **extra}
        if step.level:
            extra["level"] = step.level
        if step.accountability and hazard.supervision == "listed":
            # config/policy.toml names who is held to account at this step (issue 12)
            extra["accountability"] = accountability.listed_overdue(
                hazard, due.step, step.action, step.accountability
            )
        return cls.name, extra

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        accountability.opened(e, p, e.seq)
        return p


@define
class ReconsiderationWindowClosed(SystemEvent):
    """复议申请期限届满 (workflow v2): no reconsideration was asked within 3 days of the refused
    filing (国务院令第310号 art. 9): the refusal is final."""

    name: ClassVar[str] = "reconsideration_window_closed"
    timer: ClassVar[str | None] = "reconsideration_window"


@define
class ReconsiderationAnswerOverdue(SystemEvent):
    """复议决定逾期 (workflow v2): the police have not answered the reconsideration in 3 days."""

    name: ClassVar[str] = "reconsideration_answer_overdue"
    timer: ClassVar[str | None] = "reconsideration_answer_due"


@define
class ClosureDecisionOverdue(SystemEvent):
    """关闭决定逾期 (workflow v2): the government has not decided the closure asked for in the
    policy's time (coal mines: 7 days, 国务院令第446号)."""

    name: ClassVar[str] = "closure_decision_overdue"
    timer: ClassVar[str | None] = "closure_decision_due"
