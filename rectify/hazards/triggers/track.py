"""The main track (SPEC 2): report, assign, dismiss, the plan, progress, confirmation,
verification, sign-off (销号), and regrading."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from rectify.exceptions import FieldError
from rectify.hazards import standards
from rectify.hazards.models import Grade, HazardCreate
from rectify.hazards.triggers.base import (
    PLAN_ELEMENTS,
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
from rectify.hazards.triggers.documents import Officers
from rectify.hazards.triggers.penalties import flag_for_closure
from rectify.inputs import Id, Instant, LongText, Money, Percent, Text
from rectify.timers.service import RECTIFICATION_TIMERS


@define
class Report(Trigger):
    """登记隐患: the first event of every history; its payload is the reported facts."""

    name: ClassVar[str] = "report"

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        # Replay rebuilds the reported facts from here; the live path already has them.
        facts = {k: p[k] for k in HazardCreate.model_fields if k in p}
        if p.get("recurrence_of") is not None:  # a repeat hazard (rectify.hazards.recurrence)
            facts["recurrence_of"] = p["recurrence_of"]
        e.hazard.set(**{k: v for k, v in facts.items() if e.hazard.values.get(k) != v})
        return p


class Plan(Trigger):
    """治理方案: which elements are required depends on the grade (checked in `required`)."""

    goals: LongText | None = None
    measures: LongText | None = None
    funds_yuan: Money | None = None
    responsible_person: Text | None = None
    deadline: Instant | None = None
    contingency_plan: LongText | None = None


@define
class Assign(Trigger):
    """交办: the responsible person and the deadline (from policy by grade when not given)."""

    name: ClassVar[str] = "assign"
    assignee: Text
    deadline: Instant | None = None
    officers: Officers = None  # who sign the 责令限期整改指令书

    def rules(self, s: Situation) -> list[FieldError]:
        return deadline_rules("deadline", self.deadline, s)

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        given = parse_instant(p.get("deadline"))
        h.set(assignee=p["assignee"], assigned_at=e.now)
        e.set_deadline(given or e.policy.count("rectification", h.grade, e.now))
        e.start("plan_due", first=True)  # assign happens once, from `reported`
        return e.provisional({**p, "deadline": iso(h.deadline)})


@define
class Dismiss(Trigger):
    """撤销: a false report, a duplicate, not a hazard."""

    name: ClassVar[str] = "dismiss"
    cites_hazard: ClassVar[str] = "duplicate_of"
    reason: LongText
    # A duplicate names the original (same enterprise), and is linked to it (recurrence_of).
    duplicate_of: Id | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        original = self.duplicate_of
        if original is None:
            return []
        if original == s.hazard.id:
            return [err("duplicate_of", "names this hazard itself; name the original")]
        if s.cited.get(original) != s.hazard.enterprise_id:
            return [err("duplicate_of", "must name another hazard of the same enterprise")]
        return []

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(resolution="dismissed")
        if p.get("duplicate_of") is not None:
            e.hazard.set(recurrence_of=p["duplicate_of"])
        e.stop()
        return e.lapse_extension(p)


@define
class Accept(Trigger):
    """接收并提交治理方案: the enterprise takes the hazard on with its plan."""

    name: ClassVar[str] = "accept"
    plan: Plan

    @classmethod
    def required(cls, raw: Payload, s: Situation) -> list[FieldError]:
        plan = raw.get("plan")
        if not isinstance(plan, dict):
            return []  # a missing or non-object plan is the shape's error
        grade = s.hazard.grade
        return [
            err(f"plan.{k}", f"required for a {grade} hazard")
            for k in PLAN_ELEMENTS[grade]
            if absent(plan.get(k))
        ]

    def rules(self, s: Situation) -> list[FieldError]:
        return deadline_rules("plan.deadline", self.plan.deadline, s)

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(plan=p["plan"])
        e.stop("plan_due")
        if e.hazard.supervision == "listed":
            e.start("progress_due")
        return p


@define
class RevisePlan(Accept):
    """修改治理方案: the plan replaced (the old one stays in history)."""

    name: ClassVar[str] = "revise_plan"

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(plan=p["plan"])
        return p


@define
class ReportProgress(Trigger):
    """报告整改进度: recorded; while listed, restarts the progress timer (13710)."""

    name: ClassVar[str] = "report_progress"
    note: LongText
    percent: Percent | None = None  # "50" is a string, not 50

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        # 13710 says "within 3 days": restarted by each report only where the policy says so.
        h = e.hazard
        if h.supervision == "listed" and e.policy.rule("progress_due", h.grade).recurring:
            e.start("progress_due")
        return p


@define
class ConfirmRectified(Trigger):
    """确认整改完成: with evidence (and the expert evaluation while suspended, 复产申请)."""

    name: ClassVar[str] = "confirm_rectified"
    cites_evidence: ClassVar[bool] = True
    summary: LongText
    evidence: list[str] = Field(min_length=1)
    evaluation_report: str | None = None

    @classmethod
    def required(cls, raw: Payload, s: Situation) -> list[FieldError]:
        if s.hazard.production == "suspended" and absent(raw.get("evaluation_report")):
            return [
                err(
                    "evaluation_report",
                    "required while production is suspended: the expert evaluation (复产申请)",
                )
            ]
        return []

    def rules(self, s: Situation) -> list[FieldError]:
        errors = uploaded("evidence", self.evidence, s.evidence)
        if self.evaluation_report and self.evaluation_report not in s.evidence:
            errors.append(err("evaluation_report", "is not evidence uploaded to this hazard"))
        return errors

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.stop(*RECTIFICATION_TIMERS)
        # A suspended enterprise's confirmation is its resumption application: the review's
        # own time limit (16号令 art. 23; coal mines 国务院令第446号) sets the timer's length.
        resumption = e.hazard.production == "suspended"
        if not e.hazard.self_managed:  # on the self-check path the enterprise verifies itself
            e.start("verification_due", rule="resumption_review" if resumption else None)
        return p


@define
class VerifyPass(Trigger):
    """验收通过: listed → delisted (摘牌), suspended → resumed (复产), by the workflow."""

    name: ClassVar[str] = "verify_pass"
    note: LongText
    officers: Officers = None  # who sign the 整改复查意见书

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.stop("verification_due")
        return e.lapse_extension(p)


@define
class VerifyFail(Trigger):
    """验收不通过: back to rectifying with a new deadline; failures counted."""

    name: ClassVar[str] = "verify_fail"
    findings: LongText
    new_deadline: Instant
    officers: Officers = None  # who sign the 整改复查意见书

    def rules(self, s: Situation) -> list[FieldError]:
        return deadline_rules("new_deadline", self.new_deadline, s)

    @classmethod
    def react(cls, r: Reaction) -> None:
        # 安全生产法第一百一十三条: still failing after 停产整顿 is a ground for closure.
        if r.hazard.production == "suspended":
            flag_for_closure(r, "failed_after_suspension")

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        failures = h.verify_failures + 1
        out = {**p, "previous_deadline": iso(h.deadline), "failures": failures}
        h.set(verify_failures=failures)
        e.stop("verification_due")
        e.set_deadline(parse_instant(p["new_deadline"]))
        if h.supervision == "listed":
            e.start("progress_due")
        return out


@define
class Close(Trigger):
    """销号: the guards of SPEC 2 (branches settled, a penalty or its waiver) come first."""

    name: ClassVar[str] = "close"
    note: LongText | None = None
    penalty_waiver_reason: LongText | None = None

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        e.hazard.set(resolution="rectified")
        e.stop()
        return e.lapse_extension(p)


@define
class Regrade(Trigger):
    """调整隐患等级: the new grade's deadline policy applies from now unless one is given."""

    name: ClassVar[str] = "regrade"
    grade: Grade
    basis: Text  # a standard of config/major_hazard_standards.toml and a clause
    deadline: Instant | None = None

    def rules(self, s: Situation) -> list[FieldError]:
        errors = deadline_rules("deadline", self.deadline, s)
        if standards.find(self.basis) is None or not standards.CLAUSE.search(self.basis):
            errors.append(
                err(
                    "basis",
                    "must name a standard for judging major hazards and its clause, e.g. "
                    "工贸企业重大事故隐患判定标准 第四条; the standards: "
                    + "、".join(standards.titles()),
                )
            )
        return errors

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        h = e.hazard
        named = standards.find(p["basis"])
        out: dict[str, Any] = {
            **p,
            "previous_grade": h.grade,
            "previous_deadline": iso(h.deadline),
            **({"standard": named.id} if named else {}),
        }
        h.set(grade=p["grade"])
        if p.get("deadline"):
            e.set_deadline(parse_instant(p["deadline"]))
        elif h.state in ("assigned", "rectifying"):
            # Recomputed from the moment the new grade is known (docs/DECISIONS.md).
            e.set_deadline(e.policy.count("rectification", h.grade, e.now))
        out["deadline"] = iso(h.deadline)
        return e.provisional(out)
