"""Version 2 of the workflow on its own (workflows/hazard.v2.yaml), no database: closure
requested then decided, the reconsideration of a refused filing, on-the-spot measures, the
self-check path, and every rule citing its source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from rectify.config import ROOT
from rectify.exceptions import GuardFailed, TriggerNotAllowed
from rectify.workflow import Facts, allowed_triggers, decide, load_registry

REGISTRY = load_registry(ROOT / "workflows")
V1, V2 = REGISTRY.get("hazard", 1), REGISTRY.get("hazard", 2)
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
FACTS = Facts(now=NOW, deadline=NOW + timedelta(days=3))


def state(main: str = "rectifying", sup: str = "none", prod: str = "normal", jud: str = "none"):
    return {"state": main, "supervision": sup, "production": prod, "judicial": jud}


def test_new_hazards_start_on_version_2() -> None:
    assert REGISTRY.latest("hazard") is V2


def test_every_trigger_and_guard_of_version_2_cites_its_source() -> None:
    used = {g for t in V2.triggers.values() for tr in t.transitions for g in tr.guards}
    assert used <= set(V2.guards)
    for name, guard in V2.guards.items():
        assert guard.source and guard.label, name
    for name, trigger in V2.triggers.items():
        assert trigger.source, name
        assert any(tag in trigger.source for tag in ("[law]", "[practice]", "[unsure]", "[ours]"))


def test_closure_is_requested_then_decided_by_the_government() -> None:
    requested = decide(V2, "order_closure", state(prod="suspended"), FACTS, {})
    assert requested == state(prod="closure_requested")  # the hazard stays open
    approved = decide(V2, "decide_closure", requested, FACTS, {"decision": "approved"})
    assert approved == state("closed", prod="shut_down")
    rejected = decide(V2, "decide_closure", requested, FACTS, {"decision": "rejected"})
    assert rejected == state(prod="suspended")
    # Version 1 still closes at once (its hazards finish under it).
    assert decide(V1, "order_closure", state(prod="suspended"), FACTS, {}) == state(
        "closed", prod="shut_down"
    )


def test_a_pending_closure_request_blocks_the_sign_off() -> None:
    with pytest.raises(GuardFailed, match="production is closure_requested"):
        decide(V2, "close", state("verified", prod="closure_requested"), FACTS, {})


def test_a_refused_filing_may_be_reconsidered_then_supervised() -> None:
    s = decide(
        V2, "record_judicial_decision", state(jud="transferred"), FACTS, {"decision": "not_filed"}
    )
    assert s["judicial"] == "not_filed"
    s = decide(V2, "request_reconsideration", s, FACTS, {})
    assert s["judicial"] == "reconsideration_requested"
    upheld = decide(V2, "record_judicial_decision", s, FACTS, {"decision": "not_filed"})
    assert upheld["judicial"] == "not_filed_upheld"
    assert (
        decide(V2, "record_judicial_decision", s, FACTS, {"decision": "filed"})["judicial"]
        == "filed"
    )
    s = decide(V2, "request_filing_supervision", upheld, FACTS, {})
    assert s["judicial"] == "supervision_requested"
    assert (
        decide(V2, "record_judicial_decision", s, FACTS, {"decision": "filed"})["judicial"]
        == "filed"
    )
    final = decide(V2, "record_judicial_decision", s, FACTS, {"decision": "not_filed"})
    assert final["judicial"] == "not_filed_final"
    # The window closes: no reconsideration any more, but a new transfer is possible.
    closed = decide(V2, "reconsideration_window_closed", state(jud="not_filed"), FACTS, {})
    assert closed["judicial"] == "not_filed_final"
    with pytest.raises(TriggerNotAllowed):
        decide(V2, "request_reconsideration", closed, FACTS, {})
    assert decide(V2, "transfer_to_judicial", closed, FACTS, {})["judicial"] == "transferred"


def test_on_the_spot_measures_come_only_at_discovery() -> None:
    stopped = decide(V2, "order_on_the_spot", state("reported"), FACTS, {})
    assert stopped == state("reported", prod="suspended")
    with pytest.raises(TriggerNotAllowed):
        decide(V2, "order_on_the_spot", state("assigned"), FACTS, {})


def test_the_self_check_path_needs_a_general_self_found_hazard_and_stays_its_own() -> None:
    own = Facts(now=NOW, self_check=True)
    assert decide(V2, "self_assign", state("reported"), own, {})["state"] == "assigned"
    with pytest.raises(GuardFailed) as refused:
        decide(V2, "self_assign", state("reported"), FACTS, {})
    assert any("16号令" in s or "暂行规定" in s for s in refused.value.extra["sources"])
    managed = Facts(now=NOW, self_managed=True)
    assert decide(V2, "self_verify", state("awaiting_verification"), managed, {}) == state(
        "verified"
    )
    assert decide(V2, "self_close", state("verified"), managed, {})["state"] == "closed"
    with pytest.raises(GuardFailed):  # the office's hazard is verified by the office
        decide(V2, "self_verify", state("awaiting_verification"), FACTS, {})
    with pytest.raises(GuardFailed, match="production is suspended"):
        decide(V2, "self_verify", state("awaiting_verification", prod="suspended"), managed, {})
    assert "take_over" in allowed_triggers(V2, state(), managed, "dispatcher")
    assert "take_over" not in allowed_triggers(V2, state(), FACTS, "dispatcher")


def test_a_refusal_names_the_source_of_the_rule_that_refused() -> None:
    with pytest.raises(GuardFailed) as refused:
        decide(V2, "close", state("verified"), Facts(now=NOW, violation=True), {})
    assert any("不得以" in s for s in refused.value.extra["sources"])
