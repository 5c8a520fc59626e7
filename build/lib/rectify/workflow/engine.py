"""Apply one trigger to one hazard's state on a transitions HierarchicalMachine; no I/O.

Each thread keeps one machine per definition version with one bound carrier object and
resets the carrier's state per call: building a machine or binding a model costs ~0.7 ms,
`set_state` plus the trigger a fraction of that (bench/bench_machine.py measures it).

The machine is a pure function of (state, trigger, which rules' conditions hold), so each
compiled machine memoises the outcomes it has computed under that key: the machine still
decides every distinct case, a repeated case (a timer sweep over thousands of hazards in
the same state) costs a dictionary lookup.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import Any

from transitions import MachineError
from transitions.extensions.nesting import HierarchicalMachine, NestedState

from rectify.exceptions import GuardFailed, TriggerNotAllowed
from rectify.workflow.definition import Definition
from rectify.workflow.guards import GUARDS, Facts

WorkflowState = dict[str, str]
"""The whole state of a hazard: {"state": ..., "supervision": ..., "production": ...}."""

ROOT = "hazard"


class _State(NestedState):
    # Our state names contain underscores (awaiting_verification), transitions' default separator.
    separator = "."


class _Machine(HierarchicalMachine):
    state_cls = _State


@dataclass(frozen=True)
class Rule:
    """One compiled transition of a trigger: where it may fire and what may refuse it."""

    trigger: str
    field: str
    source: frozenset[str]
    to: str | None
    when: dict[str, frozenset[str]]
    unless: dict[str, frozenset[str]]
    guards: tuple[str, ...]
    payload: dict[str, Any]
    primary: bool

    def not_allowed(self, before: WorkflowState, payload: dict | None) -> bool:
        """True when the state (or the selecting payload value) rules this transition out."""
        if before[self.field] not in self.source:
            return True
        if any(before[f] not in states for f, states in self.when.items()):
            return True
        return payload is not None and any(payload.get(k) != v for k, v in self.payload.items())

    def refusals(self, before: WorkflowState, facts: Facts, payload: dict | None) -> list[str]:
        """Why the guards refuse this transition (empty when it may fire)."""
        reasons = [
            f"{f} is {before[f]}" for f, states in self.unless.items() if before[f] in states
        ]
        for name in self.guards:
            reason = GUARDS[name](before, facts, payload)
            if reason:
                reasons.append(reason)
        return reasons


@dataclass(frozen=True)
class Outcome:
    before: WorkflowState
    after: WorkflowState

    @property
    def changed(self) -> bool:
        return self.before != self.after


class _Carrier:
    """The machine's model: a plain object (pydantic rows cannot be models, transitions #635)."""

    def __init__(self) -> None:
        self.before: WorkflowState = {}
        self.facts: Facts | None = None
        self.payload: dict | None = None
        self.refused: list[str] = []


def compile_rules(definition: Definition) -> dict[str, list[Rule]]:
    """The definition's transitions as rules, per trigger."""
    fields = {r.name: r.field for r in definition.regions}
    rules: dict[str, list[Rule]] = {}
    for name, trig in definition.triggers.items():
        first = trig.transitions[0].region if trig.transitions else None
        rules[name] = [
            Rule(
                trigger=name,
                field=fields[t.region],
                source=frozenset(t.source),
                to=t.to,
                when={fields[r]: frozenset(s) for r, s in t.when.items()},
                unless={fields[r]: frozenset(s) for r, s in t.unless.items()},
                guards=tuple(t.guards),
                payload=t.payload,
                primary=t.region == first,
            )
            for t in trig.transitions
        ]
    return rules


def _condition(rule: Rule, event: Any) -> bool:
    carrier: _Carrier = event.model
    if rule.not_allowed(carrier.before, carrier.payload):
        return False
    reasons = rule.refusals(carrier.before, carrier.facts, carrier.payload)
    carrier.refused += reasons
    return not reasons


class _Compiled:
    """A definition's machine, rules and a carrier bound to it (one per thread)."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self.rules = compile_rules(definition)
        self._names = {r.field: r.name for r in definition.regions}
        self.machine = _Machine(
            model=None,
            states=[{"name": ROOT, "parallel": _regions(definition)}],
            transitions=self._transitions(),
            initial=ROOT,
            auto_transitions=False,
            send_event=True,
        )
        self.carrier = _Carrier()
        self.machine.add_model(self.carrier, initial=self.paths(definition.initial_state()))
        self.outcomes: dict[tuple[Any, ...], WorkflowState] = {}

    def path(self, field: str, state: str) -> str:
        return f"{ROOT}.{self._names[field]}.{state}"

    def paths(self, state: WorkflowState) -> list[str]:
        return [self.path(f, s) for f, s in state.items()]

    def _transitions(self) -> list[dict[str, Any]]:
        return [
            {
                "trigger": rule.trigger,
                "source": [self.path(rule.field, s) for s in sorted(rule.source)],
                "dest": self.path(rule.field, rule.to) if rule.to else None,
                "conditions": [partial(_condition, rule)],
            }
            for rules in self.rules.values()
            for rule in rules
        ]

    def read_state(self) -> WorkflowState:
        fields = {r.name: r.field for r in self.definition.regions}
        out: WorkflowState = {}
        for path in self.carrier.state:
            _, region, state = path.split(".", 2)
            out[fields[region]] = state
        return out


def _regions(definition: Definition) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "children": list(r.states), "initial": r.initial}
        for r in definition.regions
    ]


_local = threading.local()


def _compiled(definition: Definition) -> _Compiled:
    cache: dict[tuple[str, int, str], _Compiled] = _local.__dict__.setdefault("cache", {})
    key = (definition.name, definition.version, definition.content_hash)
    if key not in cache:
        cache[key] = _Compiled(definition)
    return cache[key]


def fire(
    definition: Definition,
    trigger: str,
    before: WorkflowState,
    facts: Facts,
    payload: dict[str, Any],
    *,
    role: str | None = None,
) -> Outcome:
    """Run `trigger` from `before`; raise TriggerNotAllowed or GuardFailed when refused."""
    compiled = _compiled(definition)
    if trigger not in compiled.rules or definition.triggers[trigger].creates:
        raise _not_allowed(compiled, trigger, before, facts, role, unknown=True)
    # The conditions below are exactly the machine's, so they and the state decide the outcome.
    passing = tuple(
        not rule.not_allowed(before, payload) and not rule.refusals(before, facts, payload)
        for rule in compiled.rules[trigger]
    )
    key = (trigger, tuple(before.items()), passing)
    after = compiled.outcomes.get(key)
    if after is None:
        after = _run(compiled, trigger, before, facts, payload, role)
        compiled.outcomes[key] = after
    return Outcome(before=dict(before), after=dict(after))


def _run(
    compiled: _Compiled,
    trigger: str,
    before: WorkflowState,
    facts: Facts,
    payload: dict[str, Any],
    role: str | None,
) -> WorkflowState:
    carrier = compiled.carrier
    compiled.machine.set_state(compiled.paths(before), model=carrier)
    carrier.before, carrier.facts, carrier.payload, carrier.refused = before, facts, payload, []
    try:
        moved = carrier.trigger(trigger)
    except MachineError:
        moved = False
    if not moved:
        if carrier.refused:
            raise GuardFailed(
                f"{trigger} refused: " + "; ".join(dict.fromkeys(carrier.refused)),
                state=before,
                reasons=list(dict.fromkeys(carrier.refused)),
                allowed_triggers=allowed_triggers(compiled.definition, before, facts, role),
            )
        raise _not_allowed(compiled, trigger, before, facts, role)
    return compiled.read_state()


def _not_allowed(
    compiled: _Compiled,
    trigger: str,
    before: WorkflowState,
    facts: Facts,
    role: str | None,
    unknown: bool = False,
) -> TriggerNotAllowed:
    allowed = allowed_triggers(compiled.definition, before, facts, role)
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
    rules = _compiled(definition).rules
    out = []
    for name, trig in definition.triggers.items():
        if trig.creates or (role is not None and role not in trig.roles):
            continue
        if any(
            r.primary and not r.not_allowed(before, None) and not r.refusals(before, facts, None)
            for r in rules[name]
        ):
            out.append(name)
    return out


def check_state(
    definition: Definition, trigger: str, before: WorkflowState, facts: Facts, role: str
) -> None:
    """Raise TriggerNotAllowed unless the state allows `trigger` (guards come later, in fire)."""
    compiled = _compiled(definition)
    rules = compiled.rules.get(trigger, [])
    if not any(r.primary and not r.not_allowed(before, None) for r in rules):
        raise _not_allowed(compiled, trigger, before, facts, role)
