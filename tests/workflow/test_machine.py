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
    Facts(now=NOW, violation=True),
    Facts(now=NOW, violation=True, penalty_count=1, plan_missing=("goals",)),
]
PAYLOADS = [{}, {"decision": "filed"}, {"decision": "not_filed", "penalty_waiver_reason": "x"}]


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
            # Facts and payload matter only to a trigger with guards, blocks or selectors.
            plain = all(not (t.guards or t.unless or t.payload) for t in spec.transitions)
            cases = [(FACT_CASES[0], {})] if plain else itertools.product(FACT_CASES, PAYLOADS)
            for facts, payload in cases:
                try:
                    ruled = decide(definition, name, before, facts, payload)
                except (TriggerNotAllowed, GuardFailed):
                    ruled = None
                assert machine.run(name, before, facts, payload) == ruled, (name, before, facts)
                checked += 1
    assert checked > 5_000  # every state, trigger, guard outcome and selecting payload
