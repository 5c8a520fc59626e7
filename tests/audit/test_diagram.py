"""Mermaid diagrams generated from the same Definition the machine runs."""

from __future__ import annotations

from rectify.config import Settings
from rectify.workflow.definition import load_registry
from rectify.workflow.diagram import mermaid
from tests.support import World


def test_every_state_and_transition_of_the_definition_is_drawn() -> None:
    definition = load_registry(Settings().workflows_dir).get("hazard", 1)
    text = mermaid(definition)
    lines = {line.strip() for line in text.splitlines()}
    assert text.startswith("stateDiagram-v2\n")
    for region in definition.regions:
        assert f'state "{region.label}" as {region.name} {{' in lines
        for state, label in region.states.items():
            assert f'state "{label}" as {region.name}_{state}' in lines
        assert f"[*] --> {region.name}_{region.initial}" in lines
    for trigger in definition.triggers.values():
        for t in trigger.transitions:
            for source in t.source:
                edge = f"{t.region}_{source} --> {t.region}_{t.to or source} : "
                drawn = [x for x in lines if x.startswith(edge)]
                assert drawn and trigger.label in drawn[0].split(" : ", 1)[1], (edge, trigger)
    assert lines.issuperset({"--", "main_closed --> [*]", "main_dismissed --> [*]"})


def test_the_diagram_over_http_for_any_role(world: World) -> None:
    url = "/api/v1/workflows/hazard/1/diagram"
    for who in ("enterprise", "auditor", "dispatcher"):
        r = world.client.get(url, headers=world.h(who))
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/plain")
        assert r.text.startswith("stateDiagram-v2")
        assert "main_reported --> main_assigned : 交办" in r.text
    assert world.client.get(url).status_code == 401
    r = world.client.get("/api/v1/workflows/hazard/9/diagram", headers=world.h("auditor"))
    assert r.status_code == 404 and "hazard v9" in r.json()["detail"]
