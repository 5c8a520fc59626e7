"""HTTP for workflow definitions: the versions deployed, with their Chinese labels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from rectify.api.deps import ContextDep, CurrentCaller

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
