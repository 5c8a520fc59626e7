"""What a trigger definition is: one class holding its payload, its rules and its effect.

A definition is a pydantic model (the payload's shape) with, beside its fields:
- `required(raw, s)`: fields required on a condition, read from the raw payload so that one 422
  names them even when the shape is wrong too (the plan's elements by grade, ...);
- `rules(s)`: rules on the parsed values (deadlines in the future, evidence uploaded here, ...);
- `effect(e, p)`: what the trigger does besides moving the state, as a function of the hazard,
  the clean payload, the policy and the time, with no I/O. It changes the hazard through
  `e.hazard.set(...)`, asks for timers and records through `e`, and returns the payload to
  record, completed with what it decided (an effective deadline, the one replaced), so that the
  history alone says what happened. The live path and replay run this same function (replay
  with the recorded payload, which already holds every decision);
- `react(r)`: rarely, what must be looked up in the database after the effect (the closure rule
  of art. 113 counts an enterprise's penalties);
- for events of the timer engine, `timer` (the timer kind that appends them) and `on_timer`.
The workflow file gives each trigger its roles, label and transitions; this class the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from rectify.auth.scope import Caller
from rectify.exceptions import FieldError, InvalidInput
from rectify.hazards.row import HazardRow
from rectify.timers.policy import Counted, Policy
from rectify.workflow.guards import Facts

if TYPE_CHECKING:
    from rectify.context import Context
    from rectify.database.uow import UnitOfWork
    from rectify.workflow.definition import Definition

__all__ = [
    "PLAN_ELEMENTS",
    "REGISTRY",
    "Due",
    "Effect",
    "Payload",
    "Reaction",
    "SystemEvent",
    "Trigger",
    "absent",
    "define",
    "err",
    "facts_of",
    "deadline_rules",
    "iso",
    "parse_instant",
    "plan_missing",
    "uploaded",
    "validate",
]

Payload = dict[str, Any]


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


def plan_missing(plan: dict[str, Any] | None, grade: str) -> list[str]:
    """The required plan elements a plan lacks for a grade (what the confirm guard sees).

    Kept to None and "" so that replaying old histories sees what the guard saw then; blank
    text is refused earlier, by the payload rules."""
    plan = plan or {}
    return [k for k in PLAN_ELEMENTS[grade] if plan.get(k) in (None, "")]


def facts_of(hazard: HazardRow, now: datetime, policy: Policy) -> Facts:
    """What the workflow's guards may know of a hazard beyond its state (the live path and
    replay gather them here alike); `policy` is the hazard's (its region and industry)."""
    grade = hazard.grade or "general"
    return Facts(
        now=now,
        deadline=hazard.deadline,
        pending_extension=hazard.pending_extension is not None,
        penalty_count=hazard.penalty_count or 0,
        violation=bool(hazard.violation),
        plan_missing=tuple(plan_missing(hazard.plan, grade)) if hazard.plan else (),
        self_check=grade == "general"
        and hazard.source == "self_check"
        and policy.self_check.allowed,
        self_managed=bool(hazard.self_managed),
    )


# -- what the rules see ----------------------------------------------------------------------
@dataclass(frozen=True)
class Situation:
    """What the rules beyond shape need to know."""

    hazard: HazardRow
    caller: Caller
    now: datetime
    evidence: frozenset[str] = frozenset()  # sha256 uploaded to this hazard (cites_evidence)
    horizon: timedelta = timedelta(days=1827)  # settings.deadline_horizon_days
    # Hazards a payload names (Trigger.cites_hazard), found in the caller's scope: id → its
    # enterprise id (a duplicate's original).
    cited: dict[int, int] = field(default_factory=dict)
    # Applied by the import of a ledger (rectify.hazards.importing): a deadline the ledger
    # names stands even when it has passed (the hazard is overdue at once).
    imported: bool = False


def err(field: str, message: str) -> FieldError:
    """One bad payload field."""
    return {"field": f"payload.{field}", "message": message}


def absent(value: Any) -> bool:
    """Missing for a required field: not given, null, or text that is only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def deadline_rules(field: str, value: datetime | None, s: Situation) -> list[FieldError]:
    """A deadline, when given, lies after now and at most the horizon ahead (a typo such as 2062
    for 2026 is refused, and no timer is set centuries away; the horizon is ours, not the
    law's: docs/DECISIONS.md)."""
    if value is None:
        return []
    if value <= s.now and not s.imported:  # an imported ledger's deadline may have passed
        return [err(field, f"must be in the future (now is {s.now.isoformat()})")]
    limit = s.now + s.horizon
    if value > limit:
        return [
            err(
                field,
                f"must be at most {s.horizon.days} days ahead, not after {limit.isoformat()} "
                "(the configured deadline_horizon_days)",
            )
        ]
    return []


def uploaded(field: str, shas: list[str], known: frozenset[str]) -> list[FieldError]:
    """Every sha256 must name evidence uploaded to this hazard."""
    return [
        err(f"{field}.{i}", f"{sha} is not evidence uploaded to this hazard")
        for i, sha in enumerate(shas)
        if sha not in known
    ]


def parse_instant(value: Any) -> datetime | None:
    """An instant from its recorded ISO 8601 text (or as it is)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def iso(value: datetime | None) -> str | None:
    """An instant as recorded: ISO 8601 with its offset."""
    return value.isoformat() if value else None


# -- what the effect produces -----------------------------------------------------------------
@dataclass(frozen=True)
class Due:
    """A timer the engine claimed: what firing it needs to know."""

    id: int
    kind: str
    due_at: datetime
    step: int


@dataclass
class Effect:
    """The changes one trigger makes: hazard columns (on `hazard`), timers and records.

    `timers` holds ("cancel", kinds or None for all) and ("schedule", kind, due_at, step) in
    order; `records` holds (table name, row) pairs such as ("penalties", {...}) to insert;
    `changes` (table name, row id, values) to update (an accountability entry resolved)."""

    hazard: HazardRow
    actor: str
    role: str
    policy: Policy
    now: datetime
    definition: Definition | None = None  # the workflow version the hazard is pinned to
    timers: list[tuple[Any, ...]] = field(default_factory=list)
    records: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    changes: list[tuple[str, int, dict[str, Any]]] = field(default_factory=list)
    document_no: str | None = None  # the number of the document this step issues (文号)

    def set_deadline(self, deadline: datetime | Counted, *, recount: bool = False) -> None:
        """Move the rectification deadline and the timers that hang off it (a Counted deadline
        may be provisional: counted over a year without holiday data). The first deadline set
        stays as `original_deadline`; a `recount` of it (the holiday calendar) moves it too."""
        h = self.hazard
        counted = deadline if isinstance(deadline, Counted) else Counted(deadline)
        original = h.values.get("original_deadline")
        if original is None or (recount and original == h.deadline):
            h.set(original_deadline=counted.at)
        if h.deadline is not None:  # without a deadline there are no timers hanging off it
            self.stop("rectification", "reminder", "escalation")
        h.set(deadline=counted.at, deadline_provisional=counted.provisional)
        self.schedule("rectification", counted)
        reminder = self.policy.count("reminder", h.grade, counted.at)
        if reminder.at > self.now:
            self.schedule("reminder", reminder)

    def start(self, kind: str, *, first: bool = False, rule: str | None = None) -> None:
        """(Re)start a timer of the policy from now (`first`: none of its kind can exist;
        `rule`: the policy's rule for its length when it is not the kind's own)."""
        if not first:
            self.stop(kind)
        self.schedule(kind, self.policy.count(rule or kind, self.hazard.grade, self.now))

    @property
    def scheduled(self) -> bool:
        """Whether the effect started any timer (its event then records the rule applied)."""
        return any(op[0] == "schedule" for op in self.timers)

    def schedule(self, kind: str, due_at: datetime | Counted, step: int = 0) -> None:
        self.timers.append(("schedule", kind, due_at, step))

    def provisional(self, p: Payload) -> Payload:
        """Say so in the history when the deadline was counted with the provisional calendar."""
        return {**p, "deadline_provisional": True} if self.hazard.deadline_provisional else p

    def stop(self, *kinds: str) -> None:
        """Cancel pending timers of these kinds (all of them, with none named)."""
        self.timers.append(("cancel", kinds or None))

    def offers(self, trigger: str) -> bool:
        """Whether the hazard's workflow version has this trigger (some effects start a timer
        only for a step their version offers)."""
        return self.definition is not None and trigger in self.definition.triggers

    def record(self, table: str, row: dict[str, Any]) -> None:
        self.records.append((table, row))

    def change(self, table: str, row_id: int, values: dict[str, Any]) -> None:
        """Update a row an earlier event of this hazard recorded."""
        self.changes.append((table, row_id, values))

    @property
    def seq(self) -> int:
        """The hazard_seq of the event this effect belongs to (the next one)."""
        return (self.hazard.version or 0) + 1

    def lapse_extension(self, p: Payload) -> Payload:
        """Drop an undecided extension request once rectification is over, saying so."""
        request = self.hazard.pending_extension
        if request is None:
            return p
        self.hazard.set(pending_extension=None)
        return {**p, "lapsed_extension": request}


@dataclass
class Reaction:
    """What a definition's `react` may use: the transaction, and the way to fire a system event."""

    uow: UnitOfWork
    ctx: Context
    hazard: HazardRow
    now: datetime
    fire_system: Callable[[str, Payload], None]


# -- the definitions ---------------------------------------------------------------------------
class Trigger(BaseModel):
    """Base of every trigger definition (see the module docstring)."""

    # Fields the spec does not name are dropped, not recorded (docs/DECISIONS.md).
    model_config = ConfigDict(extra="ignore")

    name: ClassVar[str]
    cites_evidence: ClassVar[bool] = False  # the rules need the hazard's uploaded sha256s
    cites_hazard: ClassVar[str | None] = None  # a payload field naming another hazard

    @classmethod
    def required(cls, raw: Payload, s: Situation) -> list[FieldError]:
        """Fields required on a condition, checked on the raw payload."""
        return []

    def rules(self, s: Situation) -> list[FieldError]:
        """Rules on the parsed values."""
        return []

    @staticmethod
    def effect(e: Effect, p: Payload) -> Payload:
        """What the trigger does besides moving the state; returns the payload to record."""
        return p

    @classmethod
    def react(cls, r: Reaction) -> None:
        """What must be looked up after the effect (rare)."""


class SystemEvent(Trigger):
    """An event of the timer engine or of the service itself (actor `system:scheduler`): it
    carries what the engine puts in it (timer id, due_at, fired_at, ...)."""

    model_config = ConfigDict(extra="allow")

    timer: ClassVar[str | None] = None  # the timer kind whose firing appends this event

    @classmethod
    def on_timer(cls, hazard: HazardRow, due: Due, policy: Policy, now: datetime) -> Any:
        """(trigger, extra payload) to apply for a fired timer, or None to skip it."""
        return cls.name, {}


REGISTRY: dict[str, type[Trigger]] = {}
"""Every trigger definition by name (filled as the definition modules are imported)."""


T = TypeVar("T", bound=type[Trigger])


def define(cls: T) -> T:
    """Register a trigger definition under its `name`."""
    if cls.name in REGISTRY:
        raise RuntimeError(f"trigger {cls.name} is defined twice")
    REGISTRY[cls.name] = cls
    return cls


def validate(definition: type[Trigger], raw: Payload, s: Situation) -> Payload:
    """The payload, normalised (JSON-ready), or InvalidInput naming every bad field."""
    required = definition.required(raw, s)
    try:
        parsed = definition.model_validate(raw)
    except ValidationError as exc:
        shape = [_field_error(e) for e in exc.errors()]
        raise InvalidInput.fields(_merge(required, shape)) from None
    errors = _merge(required, parsed.rules(s))
    if errors:
        raise InvalidInput.fields(errors)
    clean = parsed.model_dump(mode="json", exclude_none=True)
    if s.caller.role == "system":
        # The engine's own fields (due_at, fired_at, timer_id) stay in the record.
        return {**raw, **clean}
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
