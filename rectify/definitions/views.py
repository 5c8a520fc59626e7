"""HTTP for workflow definitions: the versions deployed, with their Chinese labels, and each
one's state diagram (any principal may read them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from rectify.api.deps import ContextDep, CurrentCaller
from rectify.exceptions import ConfigurationError, NotFound
from rectify.workflow.diagram import mermaid

router = APIRouter(prefix="/workflows", tags=["workflows"])


@router.get("")
def list_workflows(ctx: ContextDep, caller: CurrentCaller) -> list[dict[str, Any]]:
    """Every deployed definition and version, its regions, states and triggers."""
    return [
        {
            "name": d.name,
            "version": d.version,
            "label": d.label,
            "content_hash": d.content_hash,
            "regions": [r.model_dump() for r in d.regions],
            "triggers": {n: {"label": t.label, "roles": t.roles} for n, t in d.triggers.items()},
        }
        for d in ctx.registry.all()
    ]


@router.get("/{name}/{version}/diagram", response_class=PlainTextResponse)
def workflow_diagram(ctx: ContextDep, caller: CurrentCaller, name: str, version: int) -> str:
    """Mermaid stateDiagram-v2 text of a deployed definition, with its Chinese labels."""
    try:
        definition = ctx.registry.get(name, version)
    except ConfigurationError:
        raise NotFound(f"no workflow {name} v{version} is deployed") from None
    return mermaid(definition)
