"""The rules decide; the transitions machine, built from the same definition, must agree with
them in every state, for every trigger and every outcome of the guards."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from rectify.config import ROOT
from rectify.exceptions import GuardFailed, TriggerNotAllowed
from rectify.workflow import Facts, decide, load_registry
from rectify.workflow.machine import build

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FACT_CASES = [
    Facts(now=NOW, deadline=NOW + timedelta(days=3)),
    Facts(now=NOW, deadline=NOW - timedelta(days=1), pending_extension=True),
    Facts(now=NOW, violation=True, self_check=True),
    Facts(now=NOW, violation=True, penalty_count=1, plan_missing=("goals",), self_managed=True),
]


def _cases(spec) -> list[tuple[Facts, dict]]:  # noqa: ANN001
    """The facts and payloads that can change a trigger's answer: every guard outcome for a
    trigger with guards or blocks, every selecting payload value (and none) for one with
    selectors, the waiver for the penalty guard; one plain case otherwise."""
    guarded = any(t.guards or t.unless for t in spec.transitions)
    payloads = [{}] + [dict(t.payload) for t in spec.transitions if t.payload]
    if any("penalty_or_waiver" in t.guards for t in spec.transitions):
        payloads.append({"penalty_waiver_reason": "x"})
    facts = FACT_CASES if guarded else FACT_CASES[:1]
    return list(itertools.product(facts, payloads))


@pytest.mark.parametrize(
    "definition", load_registry(ROOT / "workflows").all(), ids=lambda d: f"{d.name}-v{d.version}"
)
def test_the_machine_and_the_rules_agree_everywhere(definition) -> None:  # noqa: ANN001
    machine = build(definition)
    regions = [list(r.states) for r in definition.regions]
    fields = [r.field for r in definition.regions]
    checked = 0
    for combo in itertools.product(*regions):
        before = dict(zip(fields, combo, strict=True))
        for name, spec in definition.triggers.items():
            if spec.creates:
                continue
            for facts, payload in _cases(spec):
                try:
                    ruled = decide(definition, name, before, facts, payload)
                except (TriggerNotAllowed, GuardFailed):
                    ruled = None
                assert machine.run(name, before, facts, payload) == ruled, (name, before, facts)
                checked += 1
    assert checked > 5_000  # every state, trigger, guard outcome and selecting payload
