"""The workflow's rules on their own, version 1 (workflows/hazard.v1.yaml), no database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rectify.config import ROOT
from rectify.exceptions import ConfigurationError, GuardFailed, TriggerNotAllowed
from rectify.workflow import Facts, allowed_triggers, decide, load_registry
from rectify.workflow.definition import load_definition

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DEF = load_registry(ROOT / "workflows").get("hazard", 1)  # version 1 (v2: test_v2.py)
FACTS = Facts(now=NOW, deadline=NOW + timedelta(days=3))


def state(
    main: str = "rectifying", sup: str = "none", prod: str = "normal", jud: str = "none"
) -> dict[str, str]:
    return {"state": main, "supervision": sup, "production": prod, "judicial": jud}


def all_states() -> list[dict[str, str]]:
    regions = [list(r.states) for r in DEF.regions]
    return [
        dict(zip(("state", "supervision", "production", "judicial"), combo, strict=True))
        for combo in itertools.product(*regions)
    ]


def test_every_state_and_trigger_has_a_chinese_label() -> None:
    for region in DEF.regions:
        assert region.label and all(region.states.values())
    for name, trigger in DEF.triggers.items():
        assert trigger.label, name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in trigger.label), name


def test_allowed_triggers_agree_with_the_machine_in_every_state() -> None:
    # The listing a caller sees must never promise a trigger the machine refuses, nor hide one.
    payload = {"penalty_waiver_reason": "x", "decision": "filed"}
    for before in all_states():
        listed = set(allowed_triggers(DEF, before, FACTS))
        for name, spec in DEF.triggers.items():
            if spec.creates or spec.internal:  # internal ones are never offered
                continue
            try:
                decide(DEF, name, before, FACTS, payload)
                fired = True
            except (TriggerNotAllowed, GuardFailed):
                fired = False
            assert fired == (name in listed), (name, before)


def test_verify_pass_delists_and_resumes_in_one_step() -> None:
    before = state("awaiting_verification", "listed", "suspended")
    out = decide(DEF, "verify_pass", before, FACTS, {})
    assert out == state("verified", "delisted", "resumed")


def test_verify_pass_leaves_untouched_branches_alone() -> None:
    out = decide(DEF, "verify_pass", state("awaiting_verification"), FACTS, {})
    assert out == state("verified")


def test_order_closure_ends_the_main_track_and_production() -> None:
    out = decide(DEF, "order_closure", state("rectifying", "listed", "suspended"), FACTS, {})
    assert out == state("closed", "listed", "shut_down")


def test_branches_run_beside_the_main_track() -> None:
    s = state("rectifying")
    for trigger in ("list_for_supervision", "order_suspension", "transfer_to_judicial"):
        s = decide(DEF, trigger, s, FACTS, {})
    assert s == state("rectifying", "listed", "suspended", "transferred")
    s = decide(DEF, "record_judicial_decision", s, FACTS, {"decision": "not_filed"})
    assert s["judicial"] == "not_filed"
    s = decide(DEF, "transfer_to_judicial", s, FACTS, {})  # may be transferred again
    assert s["judicial"] == "transferred"


def test_refusal_names_state_and_allowed_triggers() -> None:
    with pytest.raises(TriggerNotAllowed) as err:
        decide(DEF, "close", state("rectifying"), FACTS, {}, role="dispatcher")
    assert "state rectifying" in err.value.detail
    assert "close" not in err.value.extra["allowed_triggers"]
    assert "order_suspension" in err.value.extra["allowed_triggers"]


@pytest.mark.parametrize(
    ("branches", "reason"),
    [
        ({"prod": "suspended"}, "production is suspended"),
        ({"jud": "transferred"}, "judicial is transferred"),
        ({"sup": "listed"}, "supervision is listed"),
    ],
)
def test_close_guards_on_branches(branches: dict[str, str], reason: str) -> None:
    with pytest.raises(GuardFailed) as err:
        decide(DEF, "close", state("verified", **branches), FACTS, {"note": "x"})
    assert reason in err.value.detail


def test_close_needs_penalty_or_waiver_after_violation() -> None:
    facts = Facts(now=NOW, violation=True)
    with pytest.raises(GuardFailed, match="不得以整改代替处罚"):
        decide(DEF, "close", state("verified"), facts, {})
    waived = decide(DEF, "close", state("verified"), facts, {"penalty_waiver_reason": "轻微"})
    assert waived["state"] == "closed"
    facts = Facts(now=NOW, violation=True, penalty_count=1)
    assert decide(DEF, "close", state("verified"), facts, {})["state"] == "closed"


def test_extension_guards() -> None:
    late = Facts(now=NOW, deadline=NOW - timedelta(seconds=1))
    with pytest.raises(GuardFailed, match="deadline"):
        decide(DEF, "request_extension", state(), late, {})
    with pytest.raises(GuardFailed, match="no pending extension"):
        decide(DEF, "decide_extension", state(), FACTS, {"approved": True})


def test_a_malformed_definition_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "workflows" / "hazard.v1.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("to: verified", "to: approved"), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="no state approved"):
        load_definition(bad)
