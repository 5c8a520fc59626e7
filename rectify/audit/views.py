"""HTTP for auditors: replay, chain verification, checkpoints and export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from rectify.api.deps import ContextDep, CurrentCaller, Limit, Offset, RowId, SessionDep
from rectify.api.permissions import HazardRoles, Roles
from rectify.audit import checkpoints, export
from rectify.audit.replay import REPLAYERS, replay
from rectify.audit.verify import verify
from rectify.inputs import Instant

router = APIRouter(tags=["audit"])

AUDITORS = Depends(Roles("auditor", "admin"))
REPLAY = Depends(HazardRoles(*REPLAYERS))  # scope (404), then role (403)


@router.get("/hazards/{hazard_id}/replay", dependencies=[REPLAY])
def replay_hazard(
    hazard_id: RowId,
    ctx: ContextDep,
    caller: CurrentCaller,
    at: Annotated[Instant | None, Query(description="ISO 8601 with offset; default now")] = None,
) -> dict[str, Any]:
    """The hazard rebuilt from its events up to `at` through its pinned workflow version."""
    return replay(ctx=ctx, caller=caller, hazard_id=hazard_id, at=at)


@router.get("/audit/verify", dependencies=[AUDITORS])
def verify_chains(ctx: ContextDep) -> dict[str, Any]:
    """Recompute every chain and check every checkpoint."""
    return verify(ctx=ctx)


@router.post("/audit/checkpoints", status_code=201, dependencies=[AUDITORS])
def create_checkpoint(ctx: ContextDep, caller: CurrentCaller) -> dict[str, Any]:
    """Seal every chain head now; the `line` is what to publish."""
    return checkpoints.to_public(checkpoints.write_checkpoint(ctx=ctx, actor=caller.actor))


@router.get("/audit/checkpoints", dependencies=[AUDITORS])
def list_checkpoints(
    session: SessionDep, limit: Limit = 100, offset: Offset = 0
) -> list[dict[str, Any]]:
    """Checkpoints, newest first."""
    rows = checkpoints.list_checkpoints(session=session, limit=limit, offset=offset)
    return [checkpoints.to_public(cp) for cp in rows]


@router.get("/audit/export", dependencies=[AUDITORS])
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
