"""HTTP for 追责问责 entries: the list (in scope, filtered) and the handling of one."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from rectify.accountability import service
from rectify.accountability.models import AccountabilityPage, AccountabilityPublic, ResolveRequest
from rectify.api.deps import (
    ConnectionDep,
    ContextDep,
    CurrentCaller,
    Limit,
    Offset,
    RowId,
    RowIdFilter,
)
from rectify.api.json_body import StrictJSONRoute
from rectify.api.permissions import Roles
from rectify.auth.scope import Caller
from rectify.inputs import RegionCode

__all__ = ["router"]

router = APIRouter(prefix="/accountability", tags=["accountability"], route_class=StrictJSONRoute)

Resolver = Annotated[Caller, Depends(Roles(*service.RESOLVERS))]


@router.get("", response_model=AccountabilityPage)
def list_accountability(
    connection: ConnectionDep,
    caller: CurrentCaller,
    state: Annotated[Literal["open", "resolved"] | None, Query()] = None,
    region: RegionCode | None = None,
    hazard_id: RowIdFilter = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict[str, Any]:
    """追责问责 entries in the caller's scope, newest first: each names the rule that opened it
    (`verification_overdue` 验收逾期, `listed_overdue` 挂牌督办隐患逾期未整改), the body and,
    where known, the person held to account, the reason, the hazard and the event that opened it
    (`hazard_seq`); `state` open (待处理) until resolved (已处理) with an outcome and note.
    Filters: `state`, `region` (a region code within the scope), `hazard_id`."""
    filters = service.Filters(state=state, region=region, hazard_id=hazard_id)
    items, total = service.list_(
        connection=connection, caller=caller, filters=filters, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post("/{accountability_id}/resolve", response_model=AccountabilityPublic)
def resolve_accountability(
    accountability_id: RowId, body: ResolveRequest, ctx: ContextDep, caller: Resolver
) -> dict[str, Any]:
    """Record how an open entry was handled (dispatchers, in scope): `outcome` (no_fault 经查无责,
    criticism 批评教育, admonishment 诫勉, organisational 组织调整或组织处理, sanction 党纪政务处分,
    transferred 移送纪检监察机关, other 其他), `note`, and `person` when the person held to account
    was found out since. Appends `resolve_accountability` to the hazard's history; once per
    entry (409 after). The role is checked first (it reveals nothing); then the scope (404)."""
    return service.resolve(
        ctx=ctx, caller=caller, accountability_id=accountability_id, request=body
    )
