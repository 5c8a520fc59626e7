"""Decide one trigger on one hazard's state by the definition's rules; no I/O.

The rules are the definition's transitions, compiled once per definition: a trigger fires when
a transition of its first region (the primary one) has its source, `when` and payload selector
met and no `unless` state or guard refuses it; transitions of the other regions then move where
their own conditions hold. This is the only code that decides; `workflow.machine` builds the
same definition as a transitions machine for validation and checks that both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rectify.exceptions import GuardFailed, TriggerNotAllowed
from rectify.workflow.guards import GUARDS, Facts

if TYPE_CHECKING:  # definition.py builds a machine, which uses these rules
    from rectify.workflow.definition import Definition

__all__ = ["Rule", "WorkflowState", "allowed_triggers", "check_state", "decide", "rules_of"]

WorkflowState = dict[str, str]
"""The whole state of a hazard: {"state": ..., "supervision": ..., "production": ...}."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One transition of a trigger: where it may fire, what may refuse it, where it goes."""

    field: str
    source: frozenset[str]
    to: str | None
    when: tuple[tuple[str, frozenset[str]], ...]
    unless: tuple[tuple[str, frozenset[str]], ...]
    guards: tuple[str, ...]
    payload: tuple[tuple[str, Any], ...]
    primary: bool

    def matches(self, before: WorkflowState, payload: dict | None) -> bool:
        """The state (and, when the payload is known, its selecting values) admit this rule."""
        if before[self.field] not in self.source:
            return False
        if any(before[f] not in states for f, states in self.when):
            return False
        return payload is None or all(payload.get(k) == v for k, v in self.payload)

    def refusals(self, before: WorkflowState, facts: Facts, payload: dict | None) -> list[str]:
        """Why the blocking states and guards refuse this rule (empty when it may fire)."""
        return [reason for reason, _ in self.refused_by(before, facts, payload)]

    def refused_by(
        self, before: WorkflowState, facts: Facts, payload: dict | None
    ) -> list[tuple[str, str | None]]:
        """(reason, the guard that gave it; None for a blocking state) for each refusal."""
        out: list[tuple[str, str | None]] = [
            (f"{f} is {before[f]}", None) for f, states in self.unless if before[f] in states
        ]
        for name in self.guards:
            reason = GUARDS[name](before, facts, payload)
            if reason:
                out.append((reason, name))
        return out


_COMPILED: dict[int, tuple[Definition, dict[str, tuple[Rule, ...]]]] = {}


def _compiled(definition: Definition) -> dict[str, tuple[Rule, ...]]:
    # Definitions are few and live as long as the process; keyed by identity (they are models,
    # not hashable), holding the definition so that its id cannot be reused.
    found = _COMPILED.get(id(definition))
    if found is None:
        found = _COMPILED[id(definition)] = (definition, _compile(definition))
    return found[1]


def _compile(definition: Definition) -> dict[str, tuple[Rule, ...]]:
    fields = {r.name: r.field for r in definition.regions}
    out: dict[str, tuple[Rule, ...]] = {}
    for name, trig in definition.triggers.items():
        first = trig.transitions[0].region if trig.transitions else None
        out[name] = tuple(
            Rule(
                field=fields[t.region],
                source=frozenset(t.source),
                to=t.to,
                when=tuple((fields[r], frozenset(s)) for r, s in t.when.items()),
                unless=tuple((fields[r], frozenset(s)) for r, s in t.unless.items()),
                guards=tuple(t.guards),
                payload=tuple(t.payload.items()),
                primary=t.region == first,
            )
            for t in trig.transitions
        )
    return out


def rules_of(definition: Definition, trigger: str) -> tuple[Rule, ...]:
    """The compiled rules of a trigger (empty for an unknown one)."""
    return _compiled(definition).get(trigger, ())


def decide(
    definition: Definition,
    trigger: str,
    before: WorkflowState,
    facts: Facts,
    payload: dict[str, Any],
    *,
    role: str | None = None,
) -> WorkflowState:
    """The state after `trigger`; TriggerNotAllowed or GuardFailed when it is refused."""
    spec = definition.triggers.get(trigger)
    if spec is None or spec.creates:
        raise _not_allowed(definition, trigger, before, facts, role, unknown=True)
    rules = rules_of(definition, trigger)
    after, moved, refused = dict(before), set(), []
    for rule in rules:  # the primary region decides whether the trigger fires
        if rule.primary and rule.field not in moved and rule.matches(before, payload):
            found = rule.refused_by(before, facts, payload)
            refused += found
            if not found:
                moved.add(rule.field)
                after[rule.field] = rule.to or after[rule.field]
    if not moved:
        if refused:
            reasons = list(dict.fromkeys(reason for reason, _ in refused))
            raise GuardFailed(
                f"{trigger} refused: " + "; ".join(reasons),
                state=before,
                reasons=reasons,
                sources=_sources(definition, spec.source, refused),
                allowed_triggers=allowed_triggers(definition, before, facts, role),
            )
        raise _not_allowed(definition, trigger, before, facts, role)
    for rule in rules:  # then the other regions move where their own conditions hold
        if (
            not rule.primary
            and rule.field not in moved
            and rule.matches(before, payload)
            and not rule.refusals(before, facts, payload)
        ):
            moved.add(rule.field)
            after[rule.field] = rule.to or after[rule.field]
    return after


def _sources(
    definition: Definition, trigger_source: str | None, refused: list[tuple[str, str | None]]
) -> list[str]:
    """Where each refusing rule comes from (the guard's source; the trigger's for a blocking
    state), as the definition cites them; empty for a definition that cites none."""
    out = []
    for _, guard in refused:
        info = definition.guards.get(guard) if guard else None
        source = info.source if info else trigger_source
        if source and source not in out:
            out.append(source)
    return out


def _not_allowed(
    definition: Definition,
    trigger: str,
    before: WorkflowState,
    facts: Facts,
    role: str | None,
    unknown: bool = False,
) -> TriggerNotAllowed:
    allowed = allowed_triggers(definition, before, facts, role)
    where = ", ".join(f"{k} {v}" for k, v in before.items())
    what = "is not a trigger of this workflow" if unknown else f"is not allowed in {where}"
    return TriggerNotAllowed(
        f"{trigger} {what}; allowed now: {', '.join(allowed) or 'none'}",
        state=before,
        allowed_triggers=allowed,
    )


def allowed_triggers(
    definition: Definition, before: WorkflowState, facts: Facts, role: str | None = None
) -> list[str]:
    """Triggers the state and guards allow now (for `role`, when given); payload not known."""
    return [
        name
        for name, trig in definition.triggers.items()
        if not trig.creates
        and not trig.internal
        and (role is None or role in trig.roles)
        and any(
            r.primary and r.matches(before, None) and not r.refusals(before, facts, None)
            for r in rules_of(definition, name)
        )
    ]


def check_state(
    definition: Definition, trigger: str, before: WorkflowState, facts: Facts, role: str
) -> None:
    """Raise TriggerNotAllowed unless the state allows `trigger` (guards come later, in decide)."""
    if not any(r.primary and r.matches(before, None) for r in rules_of(definition, trigger)):
        raise _not_allowed(definition, trigger, before, facts, role)
