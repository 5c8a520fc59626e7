"""HTTP for hazards: report, list, read, transitions and history."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from rectify.api.deps import (
    ConnectionDep,
    ContextDep,
    CurrentCaller,
    Limit,
    Offset,
    RowId,
    RowIdFilter,
    page,
    parse_if_match,
)
from rectify.api.json_body import StrictJSONRoute
from rectify.audit import service as audit
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.hazards import service
from rectify.hazards.models import (
    Grade,
    HazardCreate,
    HazardPage,
    HazardPublic,
    Source,
    TransitionRequest,
)
from rectify.inputs import QueryBool, RegionCode

router = APIRouter(prefix="/hazards", tags=["hazards"], route_class=StrictJSONRoute)

StateFilter = Annotated[str | None, Query(max_length=100, description="a state of the workflow")]
# An Idempotency-Key is stored: printable ASCII only (a UUID, say), at most 200 characters.
IdempotencyKey = Annotated[str | None, Header(max_length=200, pattern=r"^[\x20-\x7e]+$")]


def _etag(response: Response, body: dict[str, Any]) -> dict[str, Any]:
    response.headers["ETag"] = f'"{body["version"]}"'
    return body


@router.post("", status_code=201, response_model=HazardPublic)
def report_hazard(
    data: HazardCreate, ctx: ContextDep, caller: CurrentCaller, response: Response
) -> dict[str, Any]:
    """Report a hazard (dispatcher, inspector, or the enterprise itself); state `reported`."""
    body = service.report(ctx=ctx, caller=caller, data=data)
    response.headers["Location"] = f"/api/v1/hazards/{body['id']}"
    return _etag(response, body)


@router.get("", response_model=HazardPage)
def list_hazards(
    ctx: ContextDep,
    connection: ConnectionDep,
    caller: CurrentCaller,
    state: StateFilter = None,
    supervision: StateFilter = None,
    production: StateFilter = None,
    judicial: StateFilter = None,
    overdue: QueryBool | None = None,
    grade: Grade | None = None,
    source: Source | None = None,
    enterprise_id: RowIdFilter = None,
    region: RegionCode | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Hazards in scope, filtered and paginated. State filters take the states of the deployed
    workflow definitions; `overdue` is true or false."""
    branches = {"state": state, "supervision": supervision, "production": production}
    _known_states(ctx, **branches, judicial=judicial)
    filters = service.Filters(
        state=state,
        supervision=supervision,
        production=production,
        judicial=judicial,
        overdue=overdue,
        grade=grade,
        source=source,
        enterprise_id=enterprise_id,
        region=region,
    )
    items, total = service.list_(
        connection=connection,
        caller=caller,
        filters=filters,
        now=ctx.now(),
        limit=limit,
        offset=offset,
    )
    return page(items, total, limit, offset)


def _known_states(ctx: Context, **given: str | None) -> None:
    """422 naming each filter whose value no deployed workflow version knows, with the values
    it takes (the union over the versions, so old hazards can still be found)."""
    errors = []
    for field, value in given.items():
        if value is None:
            continue
        known = sorted(
            {s for d in ctx.registry.all() for r in d.regions if r.field == field for s in r.states}
        )
        if value not in known:
            errors.append({"field": field, "message": f"must be one of: {', '.join(known)}"})
    if errors:
        raise InvalidInput.fields(errors)


@router.get("/{hazard_id}", response_model=HazardPublic)
def get_hazard(
    hazard_id: RowId,
    ctx: ContextDep,
    connection: ConnectionDep,
    caller: CurrentCaller,
    response: Response,
) -> dict[str, Any]:
    """The hazard with its branches, deadline, plan, penalties, timers and allowed triggers."""
    hazard = service.get(connection=connection, caller=caller, hazard_id=hazard_id)
    body = service.view(ctx=ctx, connection=connection, caller=caller, hazard=hazard)
    return _etag(response, body)


@router.post("/{hazard_id}/transitions", response_model=HazardPublic)
async def apply_transition(
    hazard_id: RowId,
    request: TransitionRequest,
    ctx: ContextDep,
    caller: CurrentCaller,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Fire a trigger. `If-Match: "<version>"` refuses stale decisions; `Idempotency-Key`
    makes a retry return the first response without applying anything again."""
    # Awaited, not blocking a worker thread: the process's writer applies it (group commit).
    pending = service.submit_transition(
        ctx=ctx,
        caller=caller,
        hazard_id=hazard_id,
        trigger=request.trigger,
        payload=request.payload,
        if_match=parse_if_match(if_match),
        idempotency_key=idempotency_key,
    )
    return _etag(response, await asyncio.wrap_future(pending))


@router.get("/{hazard_id}/history")
def get_history(
    hazard_id: RowId, connection: ConnectionDep, caller: CurrentCaller
) -> list[dict[str, Any]]:
    """The hazard's events in order, each with its hash-chain link."""
    service.get(connection=connection, caller=caller, hazard_id=hazard_id)
    events = audit.history(connection=connection, hazard_id=hazard_id)
    return [audit.to_public(e) for e in events]
