"""Every trigger of the hazard workflow, defined once each (see `base` for what a definition
holds). Importing this package registers them all in REGISTRY."""

from rectify.hazards.triggers import (  # noqa: F401  (each module registers its definitions)
    accountability,
    calendar,
    documents,
    escalation,
    evidence,
    extensions,
    penalties,
    selfcheck,
    timer_events,
    track,
)
from rectify.hazards.triggers.base import (
    REGISTRY,
    Due,
    Effect,
    Payload,
    Reaction,
    Situation,
    SystemEvent,
    Trigger,
    plan_missing,
    validate,
)
from rectify.workflow.definition import Registry

__all__ = [
    "REGISTRY",
    "Due",
    "Effect",
    "Payload",
    "Reaction",
    "Situation",
    "SystemEvent",
    "Trigger",
    "check_registry",
    "plan_missing",
    "timer_event",
    "validate",
]


def timer_event(kind: str) -> type[SystemEvent]:
    """The event definition a timer kind appends when it fires."""
    key = (kind, len(REGISTRY))  # remembered: a catch-up asks once per timer
    found = _TIMER_EVENTS.get(key)
    if found is not None:
        return found
    for definition in REGISTRY.values():
        if issubclass(definition, SystemEvent) and definition.timer == kind:
            _TIMER_EVENTS[key] = definition
            return definition
    raise KeyError(f"no event is defined for timer kind {kind!r}")


_TIMER_EVENTS: dict[tuple[str, int], type[SystemEvent]] = {}


def check_registry(registry: Registry) -> list[str]:
    """Problems between the workflow files and the definitions: a trigger a file names that no
    definition defines (the service refuses to start on any)."""
    return [
        f"workflow {d.name} v{d.version}: trigger {name} has no definition "
        "in rectify.hazards.triggers"
        for d in registry.all()
        for name in d.triggers
        if name not in REGISTRY
    ]
