"""HTTP for auditors: replay, chain verification, checkpoints, export and diagrams."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, StreamingResponse

from rectify.api.deps import ContextDep, CurrentCaller, Limit, Offset, RowId, SessionDep, require
from rectify.audit import checkpoints, export
from rectify.audit.replay import replay
from rectify.audit.verify import verify
from rectify.exceptions import ConfigurationError, NotFound
from rectify.inputs import Instant
from rectify.workflow.diagram import mermaid

router = APIRouter(tags=["audit"])

AUDITORS = ("auditor", "admin")


@router.get("/hazards/{hazard_id}/replay")
def replay_hazard(
    hazard_id: RowId,
    ctx: ContextDep,
    caller: CurrentCaller,
    at: Annotated[Instant | None, Query(description="ISO 8601 with offset; default now")] = None,
) -> dict[str, Any]:
    """The hazard rebuilt from its events up to `at` through its pinned workflow version."""
    return replay(ctx=ctx, caller=caller, hazard_id=hazard_id, at=at)


@router.get("/audit/verify")
def verify_chains(ctx: ContextDep, caller: CurrentCaller) -> dict[str, Any]:
    """Recompute every chain and check every checkpoint."""
    require(caller, *AUDITORS)
    return verify(ctx=ctx)


@router.post("/audit/checkpoints", status_code=201)
def create_checkpoint(ctx: ContextDep, caller: CurrentCaller) -> dict[str, Any]:
    """Seal every chain head now; the `line` is what to publish."""
    require(caller, *AUDITORS)
    return checkpoints.to_public(checkpoints.write_checkpoint(ctx=ctx, actor=caller.actor))


@router.get("/audit/checkpoints")
def list_checkpoints(
    session: SessionDep,
    caller: CurrentCaller,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[dict[str, Any]]:
    """Checkpoints, newest first."""
    require(caller, *AUDITORS)
    rows = checkpoints.list_checkpoints(session=session, limit=limit, offset=offset)
    return [checkpoints.to_public(cp) for cp in rows]


@router.get("/audit/export")
def export_events(
    ctx: ContextDep,
    caller: CurrentCaller,
    start: Annotated[Instant | None, Query(alias="from")] = None,
    end: Annotated[Instant | None, Query(alias="to")] = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(jsonl|csv)$")] = "jsonl",
) -> StreamingResponse:
    """Events in your scope (`from` inclusive, `to` exclusive) as JSON Lines or CSV, streamed."""
    body = export.stream(ctx=ctx, caller=caller, fmt=fmt, start=start, end=end)
    name = f"rectify-events.{fmt}"
    return StreamingResponse(
        body,
        media_type=export.FORMATS[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/workflows/{name}/{version}/diagram", response_class=PlainTextResponse)
def workflow_diagram(ctx: ContextDep, caller: CurrentCaller, name: str, version: int) -> str:
    """Mermaid stateDiagram-v2 text of a deployed definition, with its Chinese labels."""
    try:
        definition = ctx.registry.get(name, version)
    except ConfigurationError:
        raise NotFound(f"no workflow {name} v{version} is deployed") from None
    return mermaid(definition)
