"""The definition as a transitions HierarchicalMachine (four parallel regions), for validation.

The engine's rules decide every trigger (`workflow.engine`); this machine is built from the same
definition when it is loaded, so that a definition transitions cannot run is refused at start,
and `run` lets the tests check, state by state, that the machine and the rules agree.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from transitions import MachineError
from transitions.extensions.nesting import HierarchicalMachine, NestedState

from rectify.workflow.engine import Rule, WorkflowState, rules_of
from rectify.workflow.guards import Facts

if TYPE_CHECKING:
    from rectify.workflow.definition import Definition

__all__ = ["Machine", "build"]

ROOT = "hazard"


class _State(NestedState):
    # Our state names contain underscores (awaiting_verification), transitions' default separator.
    separator = "."


class _HSM(HierarchicalMachine):
    state_cls = _State


class _Carrier:
    """The machine's model: a plain object (pydantic rows cannot be models, transitions #635)."""

    def __init__(self) -> None:
        self.before: WorkflowState = {}
        self.facts: Facts | None = None
        self.payload: dict | None = None


def _condition(rule: Rule, event: Any) -> bool:
    carrier: _Carrier = event.model
    return rule.matches(carrier.before, carrier.payload) and not rule.refusals(
        carrier.before,
        carrier.facts,
        carrier.payload,  # type: ignore[arg-type]
    )


class Machine:
    """A definition's machine with one carrier bound to it (not thread-safe: tests, start-up)."""

    def __init__(self, definition: Definition) -> None:
        self.definition = definition
        self._names = {r.field: r.name for r in definition.regions}
        self._fields = {r.name: r.field for r in definition.regions}
        self.hsm = _HSM(
            model=None,
            states=[{"name": ROOT, "parallel": _regions(definition)}],
            transitions=self._transitions(),
            initial=ROOT,
            auto_transitions=False,
            send_event=True,
        )
        self.carrier = _Carrier()
        self.hsm.add_model(self.carrier, initial=self._paths(definition.initial_state()))

    def _path(self, field: str, state: str) -> str:
        return f"{ROOT}.{self._names[field]}.{state}"

    def _paths(self, state: WorkflowState) -> list[str]:
        return [self._path(f, s) for f, s in state.items()]

    def _transitions(self) -> list[dict[str, Any]]:
        return [
            {
                "trigger": name,
                "source": [self._path(rule.field, s) for s in sorted(rule.source)],
                "dest": self._path(rule.field, rule.to) if rule.to else None,
                "conditions": [partial(_condition, rule)],
            }
            for name in self.definition.triggers
            for rule in rules_of(self.definition, name)
        ]

    def run(
        self, trigger: str, before: WorkflowState, facts: Facts, payload: dict[str, Any]
    ) -> WorkflowState | None:
        """The state after `trigger` by the machine, or None when it does not move."""
        carrier = self.carrier
        self.hsm.set_state(self._paths(before), model=carrier)
        carrier.before, carrier.facts, carrier.payload = before, facts, payload
        try:
            moved = carrier.trigger(trigger)  # type: ignore[attr-defined]
        except MachineError:
            moved = False
        if not moved:
            return None
        out: WorkflowState = {}
        for path in carrier.state:  # type: ignore[attr-defined]
            _, region, state = path.split(".", 2)
            out[self._fields[region]] = state
        return out


def _regions(definition: Definition) -> list[dict[str, Any]]:
    return [
        {"name": r.name, "children": list(r.states), "initial": r.initial}
        for r in definition.regions
    ]


def build(definition: Definition) -> Machine:
    """The definition's machine; transitions raises here on a definition it cannot run."""
    return Machine(definition)
