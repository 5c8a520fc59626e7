"""Mermaid `stateDiagram-v2` text generated from a workflow Definition (the data the machine runs),
with the Chinese labels of regions, states and triggers; parallel regions are concurrent states."""

from __future__ import annotations

from collections import defaultdict

from rectify.workflow.definition import Definition, Region


def _id(region: Region, state: str) -> str:
    return f"{region.name}_{state}"


def _text(label: str) -> str:
    # Mermaid ends a transition label at a newline and splits on ':'; quotes end a state label.
    return label.replace(":", "：").replace('"', "'").replace("\n", " ")


def _edges(definition: Definition, region: Region) -> dict[tuple[str, str], list[str]]:
    """(source, target) → trigger labels, in definition order; no `to` is a self-transition."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for trigger in definition.triggers.values():
        for t in trigger.transitions:
            if t.region != region.name:
                continue
            for source in t.source:
                labels = edges[(source, t.to or source)]
                if trigger.label not in labels:
                    labels.append(trigger.label)
    return edges


def _region_lines(definition: Definition, region: Region) -> list[str]:
    lines = [f'state "{_text(region.label)}" as {region.name} {{']
    for state, label in region.states.items():
        lines.append(f'    state "{_text(label)}" as {_id(region, state)}')
    lines.append(f"    [*] --> {_id(region, region.initial)}")
    for (source, target), labels in _edges(definition, region).items():
        text = " / ".join(_text(x) for x in labels)
        lines.append(f"    {_id(region, source)} --> {_id(region, target)} : {text}")
    lines += [f"    {_id(region, s)} --> [*]" for s in region.final]
    lines.append("}")
    return lines


def mermaid(definition: Definition) -> str:
    """The definition as Mermaid stateDiagram-v2 text: one composite state, a region per lane."""
    out = [
        "stateDiagram-v2",
        f"    %% {definition.name} v{definition.version}: {_text(definition.label)}",
        f"    %% content sha256 {definition.content_hash}",
        f'    state "{_text(definition.label)}" as {definition.name} {{',
    ]
    for i, region in enumerate(definition.regions):
        if i:
            out.append("        --")
        out += [f"        {line}" for line in _region_lines(definition, region)]
    out.append("    }")
    out.append(f"    [*] --> {definition.name}")
    return "\n".join(out) + "\n"
