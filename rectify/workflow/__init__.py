"""The hazard workflow: definitions loaded from `workflows/`, decided by their rules."""

from rectify.workflow.definition import Definition, Registry, load_registry
from rectify.workflow.engine import WorkflowState, allowed_triggers, check_state, decide
from rectify.workflow.guards import Facts

__all__ = [
    "Definition",
    "Facts",
    "Registry",
    "WorkflowState",
    "allowed_triggers",
    "check_state",
    "decide",
    "load_registry",
]
