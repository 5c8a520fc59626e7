"""Payload rules per trigger, in three kinds: shape (pydantic), fields required on a condition
(the plan's elements by grade, `document_no`, `evaluation_report`, `case_no`) and rules that need
valid values (deadlines, evidence, level). Every problem is collected so that one 422 names every
missing or bad field: the conditional checks read the raw payload, so they run even when the
shape is wrong."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from rectify.auth.scope import LEVELS, Caller
from rectify.exceptions import FieldError, InvalidInput
from rectify.hazards.models import Grade, Hazard

# Text a person must give (required, or optional but not blank when given): one line (Text) or
# prose (LongText); numbers and instants only as JSON numbers and ISO 8601 text (rectify.inputs).
from rectify.inputs import Instant, LongText, Money, Percent, Text

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

    goals: LongText | None = None
    measures: LongText | None = None
    funds_yuan: Money | None = None
    responsible_person: Text | None = None
    deadline: Instant | None = None
    contingency_plan: LongText | None = None


class Assign(_Payload):
    assignee: Text
    deadline: Instant | None = None


class Dismiss(_Payload):
    reason: LongText


class Accept(_Payload):
    plan: Plan


class ReportProgress(_Payload):
    note: LongText
    percent: Percent | None = None  # "50" is a string, not 50


class RequestExtension(_Payload):
    reason: LongText
    new_deadline: Instant


class DecideExtension(_Payload):
    approved: StrictBool  # "yes" or "true" is not a decision
    note: LongText | None = None


class ConfirmRectified(_Payload):
    summary: LongText
    evidence: list[str] = Field(min_length=1)
    evaluation_report: str | None = None


class VerifyPass(_Payload):
    note: LongText


class VerifyFail(_Payload):
    findings: LongText
    new_deadline: Instant


class Close(_Payload):
    note: LongText | None = None
    penalty_waiver_reason: LongText | None = None


class ListForSupervision(_Payload):
    level: Literal["county", "city", "province"]
    document_no: Text | None = None
    deadline: Instant | None = None


class OrderSuspension(_Payload):
    order_no: Text
    reason: LongText


class OrderClosure(_Payload):
    decision_no: Text
    reason: LongText


class TransferToJudicial(_Payload):
    receiving_organ: Text
    case_summary: LongText
    officers: list[Text] = Field(min_length=2)
    attachments: list[str] = Field(min_length=1)

    @field_validator("officers")
    @classmethod
    def _two_people(cls, names: list[str]) -> list[str]:
        # Two enforcement officers handle a transfer: the same name twice is one officer.
        if len({n.strip() for n in names}) < 2:
            raise PydanticCustomError("distinct", "needs at least two different officers")
        return names


class RecordJudicialDecision(_Payload):
    decision: Literal["filed", "not_filed"]
    case_no: Text | None = None
    reason: LongText | None = None


class Regrade(_Payload):
    grade: Grade
    basis: Text
    deadline: Instant | None = None


class RecordPenalty(_Payload):
    decision_no: Text
    kind: Literal[
        "warning", "fine", "daily_fine", "confiscation", "suspension", "license_revocation"
    ]
    amount_yuan: Money | None = None
    legal_basis: Text


class SystemEvent(_Payload):
    """Timer events carry what the engine puts in them (due_at, fired_at, ...)."""

    model_config = ConfigDict(extra="allow")


class DeadlineRecomputed(SystemEvent):
    """The calendar's recount (rectify.calendar.service): the new deadline, and how it was
    counted (`counted_from`, `rule`, `notices`, kept as given)."""

    deadline: AwareDatetime
    previous_deadline: AwareDatetime | None = None
    deadline_provisional: StrictBool = False


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
    "deadline_recomputed": DeadlineRecomputed,
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
    horizon: timedelta = timedelta(days=1827)  # settings.deadline_horizon_days


def validate(trigger: str, payload: dict[str, Any], where: Situation) -> dict[str, Any]:
    """The payload, normalised (JSON-ready), or InvalidInput naming every bad field."""
    model = MODELS.get(trigger, SystemEvent)
    # Conditional requirements read the raw payload, so a shape error elsewhere cannot hide them.
    required = _required(trigger, payload, where)
    try:
        parsed = model.model_validate(payload)
    except ValidationError as exc:
        shape = [_field_error(e) for e in exc.errors()]
        raise InvalidInput.fields(_merge(required, shape)) from None
    errors = _merge(required, _rules(trigger, parsed, where), _horizon(trigger, parsed, where))
    if errors:
        raise InvalidInput.fields(errors)
    clean = parsed.model_dump(mode="json", exclude_none=True)
    if where.caller.role == "system":
        # The timer engine's own fields (due_at, fired_at, timer_id) stay in the record.
        return {**payload, **clean}
    return clean


def _merge(*groups: list[FieldError]) -> list[FieldError]:
    """One error per field, the first one given (the conditional rules say why it is needed)."""
    merged: dict[str, FieldError] = {}
    for group in groups:
        for error in group:
            merged.setdefault(error["field"], error)
    return list(merged.values())


def _field_error(e: Any) -> FieldError:
    loc = ".".join(str(p) for p in ("payload", *e["loc"]))
    return {"field": loc, "message": e["msg"]}


def _err(field: str, message: str) -> FieldError:
    return {"field": f"payload.{field}", "message": message}


def _absent(value: Any) -> bool:
    """Missing for a required field: not given, null, or text that is only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


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
    """The required plan elements a plan lacks for a grade (what the close/confirm guard sees).

    Kept to None and "" so that replaying old histories sees what the guard saw then; blank
    text is refused earlier, by the payload rules."""
    plan = plan or {}
    return [k for k in PLAN_ELEMENTS[grade] if plan.get(k) in (None, "")]


def _required(trigger: str, raw: dict[str, Any], w: Situation) -> list[FieldError]:
    """Fields required on a condition, checked on the raw payload (shape may still be bad)."""
    h = w.hazard
    match trigger:
        case "accept" | "revise_plan":
            plan = raw.get("plan")
            if not isinstance(plan, dict):
                return []  # a missing or non-object plan is the shape's error
            return [
                _err(f"plan.{k}", f"required for a {h.grade} hazard")
                for k in PLAN_ELEMENTS[h.grade]
                if _absent(plan.get(k))
            ]
        case "list_for_supervision":
            if w.caller.role != "system" and _absent(raw.get("document_no")):
                return [_err("document_no", "required: the number of the listing document")]
        case "confirm_rectified":
            if h.production == "suspended" and _absent(raw.get("evaluation_report")):
                return [
                    _err(
                        "evaluation_report",
                        "required while production is suspended: the expert evaluation (复产申请)",
                    )
                ]
        case "record_judicial_decision":
            if raw.get("decision") == "filed" and _absent(raw.get("case_no")):
                return [_err("case_no", "required when the decision is filed (立案)")]
    return []


def _rules(trigger: str, p: Any, w: Situation) -> list[FieldError]:
    """Rules on valid values: deadlines, uploaded evidence, the caller's level."""
    h, now = w.hazard, w.now
    match trigger:
        case "assign" | "regrade" | "list_for_supervision":
            errors = _future("deadline", p.deadline, now)
            if trigger == "list_for_supervision":
                errors += _listing(p, w.caller)
            return errors
        case "accept" | "revise_plan":
            return _future("plan.deadline", p.plan.deadline, now)
        case "request_extension":
            if h.deadline is not None and p.new_deadline <= h.deadline:
                return [_err("new_deadline", f"must be later than {h.deadline.isoformat()}")]
            return _future("new_deadline", p.new_deadline, now)
        case "verify_fail":
            return _future("new_deadline", p.new_deadline, now)
        case "confirm_rectified":
            errors = _evidence("evidence", p.evidence, w.evidence)
            if p.evaluation_report and p.evaluation_report not in (w.evidence or ()):
                errors.append(_err("evaluation_report", "is not evidence uploaded to this hazard"))
            return errors
        case "transfer_to_judicial":
            return _evidence("attachments", p.attachments, w.evidence)
    return []


# Every deadline a payload can set, by trigger (the plan's inside `plan`).
DEADLINES = {
    "assign": "deadline",
    "regrade": "deadline",
    "list_for_supervision": "deadline",
    "accept": "plan.deadline",
    "revise_plan": "plan.deadline",
    "request_extension": "new_deadline",
    "verify_fail": "new_deadline",
}


def _horizon(trigger: str, p: Any, w: Situation) -> list[FieldError]:
    """A deadline at most `horizon` ahead (a typo such as 2062 for 2026 is refused, and no
    timer is set centuries away); ours, not the law's: docs/DECISIONS.md."""
    field = DEADLINES.get(trigger)
    value = p.plan.deadline if field == "plan.deadline" else getattr(p, field or "", None)
    limit = w.now + w.horizon
    if value is not None and value > limit:
        days = w.horizon.days
        return [
            _err(
                field,
                f"must be at most {days} days ahead, not after {limit.isoformat()} "  # type: ignore[arg-type]
                "(the configured deadline_horizon_days)",
            )
        ]
    return []


def _listing(p: ListForSupervision, caller: Caller) -> list[FieldError]:
    if caller.level and LEVELS.index(p.level) > LEVELS.index(caller.level):
        return [_err("level", f"must not be above your own level ({caller.level})")]
    return []
