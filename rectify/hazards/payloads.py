"""Payload rules per trigger: shape (pydantic) then rules that need the hazard (deadlines, plan,
evidence). Every problem is collected so that one 422 names every missing or bad field."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from rectify.auth.scope import LEVELS, Caller
from rectify.exceptions import FieldError, InvalidInput
from rectify.hazards.models import Grade, Hazard

Text = Field(min_length=1, max_length=10000)

# 安全生产事故隐患排查治理暂行规定 art. 15: the six elements of a major-hazard plan.
PLAN_ELEMENTS = {
    "major": (
        "goals",
        "measures",
        "funds_yuan",
        "responsible_person",
        "deadline",
        "contingency_plan",
    ),
    "general": ("measures", "responsible_person", "deadline"),
}


class _Payload(BaseModel):
    # Fields the spec does not name are dropped, not recorded (docs/DECISIONS.md).
    model_config = ConfigDict(extra="ignore")


class Plan(_Payload):
    """治理方案: which elements are required depends on the grade (checked below)."""

    goals: str | None = Field(default=None, min_length=1)
    measures: str | None = Field(default=None, min_length=1)
    funds_yuan: float | None = Field(default=None, ge=0)
    responsible_person: str | None = Field(default=None, min_length=1)
    deadline: AwareDatetime | None = None
    contingency_plan: str | None = Field(default=None, min_length=1)


class Assign(_Payload):
    assignee: str = Text
    deadline: AwareDatetime | None = None


class Dismiss(_Payload):
    reason: str = Text


class Accept(_Payload):
    plan: Plan


class ReportProgress(_Payload):
    note: str = Text
    percent: int | None = Field(default=None, ge=0, le=100)


class RequestExtension(_Payload):
    reason: str = Text
    new_deadline: AwareDatetime


class DecideExtension(_Payload):
    approved: bool
    note: str | None = None


class ConfirmRectified(_Payload):
    summary: str = Text
    evidence: list[str] = Field(min_length=1)
    evaluation_report: str | None = None


class VerifyPass(_Payload):
    note: str = Text


class VerifyFail(_Payload):
    findings: str = Text
    new_deadline: AwareDatetime


class Close(_Payload):
    note: str | None = None
    penalty_waiver_reason: str | None = Field(default=None, min_length=1)


class ListForSupervision(_Payload):
    level: Literal["county", "city", "province"]
    document_no: str | None = Field(default=None, min_length=1)
    deadline: AwareDatetime | None = None


class OrderSuspension(_Payload):
    order_no: str = Text
    reason: str = Text


class OrderClosure(_Payload):
    decision_no: str = Text
    reason: str = Text


class TransferToJudicial(_Payload):
    receiving_organ: str = Text
    case_summary: str = Text
    officers: list[str] = Field(min_length=2)
    attachments: list[str] = Field(min_length=1)


class RecordJudicialDecision(_Payload):
    decision: Literal["filed", "not_filed"]
    case_no: str | None = Field(default=None, min_length=1)
    reason: str | None = None


class Regrade(_Payload):
    grade: Grade
    basis: str = Text
    deadline: AwareDatetime | None = None


class RecordPenalty(_Payload):
    decision_no: str = Text
    kind: Literal[
        "warning", "fine", "daily_fine", "confiscation", "suspension", "license_revocation"
    ]
    amount_yuan: float | None = Field(default=None, ge=0)
    legal_basis: str = Text


class SystemEvent(_Payload):
    """Timer events carry what the engine puts in them (due_at, fired_at, ...)."""

    model_config = ConfigDict(extra="allow")


MODELS: dict[str, type[_Payload]] = {
    "assign": Assign,
    "dismiss": Dismiss,
    "accept": Accept,
    "revise_plan": Accept,
    "report_progress": ReportProgress,
    "request_extension": RequestExtension,
    "decide_extension": DecideExtension,
    "confirm_rectified": ConfirmRectified,
    "verify_pass": VerifyPass,
    "verify_fail": VerifyFail,
    "close": Close,
    "list_for_supervision": ListForSupervision,
    "order_suspension": OrderSuspension,
    "order_closure": OrderClosure,
    "transfer_to_judicial": TransferToJudicial,
    "record_judicial_decision": RecordJudicialDecision,
    "regrade": Regrade,
    "record_penalty": RecordPenalty,
}


# Triggers whose payload names uploaded evidence by sha256 (the service looks them up).
CITES_EVIDENCE = frozenset({"confirm_rectified", "transfer_to_judicial"})


@dataclass(frozen=True)
class Situation:
    """What the rules beyond shape need to know."""

    hazard: Hazard
    caller: Caller
    now: datetime
    evidence: frozenset[str] | None  # sha256 uploaded to this hazard (CITES_EVIDENCE only)


def validate(trigger: str, payload: dict[str, Any], where: Situation) -> dict[str, Any]:
    """The payload, normalised (JSON-ready), or InvalidInput naming every bad field."""
    model = MODELS.get(trigger, SystemEvent)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput.fields([_field_error(e) for e in exc.errors()]) from None
    errors = _rules(trigger, parsed, where)
    if errors:
        raise InvalidInput.fields(errors)
    clean = parsed.model_dump(mode="json", exclude_none=True)
    if where.caller.role == "system":
        # The timer engine's own fields (due_at, fired_at, timer_id) stay in the record.
        return {**payload, **clean}
    return clean


def _field_error(e: Any) -> FieldError:
    loc = ".".join(str(p) for p in ("payload", *e["loc"]))
    return {"field": loc, "message": e["msg"]}


def _err(field: str, message: str) -> FieldError:
    return {"field": f"payload.{field}", "message": message}


def _future(field: str, value: datetime | None, now: datetime) -> list[FieldError]:
    if value is not None and value <= now:
        return [_err(field, f"must be in the future (now is {now.isoformat()})")]
    return []


def _evidence(field: str, shas: list[str], known: frozenset[str] | None) -> list[FieldError]:
    known = known or frozenset()
    return [
        _err(f"{field}.{i}", f"{sha} is not evidence uploaded to this hazard")
        for i, sha in enumerate(shas)
        if sha not in known
    ]


def plan_missing(plan: dict[str, Any] | None, grade: str) -> list[str]:
    """The required plan elements a plan lacks for a grade."""
    plan = plan or {}
    return [k for k in PLAN_ELEMENTS[grade] if plan.get(k) in (None, "")]


def _rules(trigger: str, p: Any, w: Situation) -> list[FieldError]:
    h, now = w.hazard, w.now
    match trigger:
        case "assign" | "regrade" | "list_for_supervision":
            errors = _future("deadline", p.deadline, now)
            if trigger == "list_for_supervision":
                errors += _listing(p, w.caller)
            return errors
        case "accept" | "revise_plan":
            missing = plan_missing(p.plan.model_dump(exclude_none=True), h.grade)
            errors = [_err(f"plan.{k}", f"required for a {h.grade} hazard") for k in missing]
            return errors + _future("plan.deadline", p.plan.deadline, now)
        case "request_extension":
            if h.deadline is not None and p.new_deadline <= h.deadline:
                return [_err("new_deadline", f"must be later than {h.deadline.isoformat()}")]
            return _future("new_deadline", p.new_deadline, now)
        case "verify_fail":
            return _future("new_deadline", p.new_deadline, now)
        case "confirm_rectified":
            errors = _evidence("evidence", p.evidence, w.evidence)
            if h.production == "suspended" and not p.evaluation_report:
                errors.append(
                    _err(
                        "evaluation_report",
                        "required while production is suspended: the expert evaluation (复产申请)",
                    )
                )
            elif p.evaluation_report and p.evaluation_report not in (w.evidence or ()):
                errors.append(_err("evaluation_report", "is not evidence uploaded to this hazard"))
            return errors
        case "transfer_to_judicial":
            return _evidence("attachments", p.attachments, w.evidence) + [
                _err(f"officers.{i}", "must be a name")
                for i, o in enumerate(p.officers)
                if not o.strip()
            ]
        case "record_judicial_decision":
            if p.decision == "filed" and not p.case_no:
                return [_err("case_no", "required when the decision is filed (立案)")]
    return []


def _listing(p: ListForSupervision, caller: Caller) -> list[FieldError]:
    errors = []
    if caller.role != "system" and not p.document_no:
        errors.append(_err("document_no", "required: the number of the listing document"))
    if caller.level and LEVELS.index(p.level) > LEVELS.index(caller.level):
        errors.append(_err("level", f"must not be above your own level ({caller.level})"))
    return errors
