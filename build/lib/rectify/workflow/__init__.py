"""The hazard workflow: definitions loaded from `workflows/`, run on a transitions machine."""

from rectify.workflow.definition import Definition, Registry, load_registry
from rectify.workflow.engine import (
    Facts,
    Outcome,
    WorkflowState,
    allowed_triggers,
    check_state,
    fire,
)

__all__ = [
    "Definition",
    "Facts",
    "Outcome",
    "Registry",
    "WorkflowState",
    "allowed_triggers",
    "check_state",
    "fire",
    "load_registry",
]
