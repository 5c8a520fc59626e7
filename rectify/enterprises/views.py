"""HTTP for enterprises: register (dispatcher, admin) and read in scope."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlmodel import Session

from rectify.api.deps import ContextDep, CurrentCaller, Limit, Offset, RowId, SessionDep
from rectify.api.json_body import StrictJSONRoute
from rectify.api.permissions import Roles
from rectify.context import Context
from rectify.enterprises import service
from rectify.enterprises.models import Enterprise, EnterpriseCreate, EnterprisePublic

router = APIRouter(prefix="/enterprises", tags=["enterprises"], route_class=StrictJSONRoute)


@router.post(
    "",
    status_code=201,
    response_model=EnterprisePublic,
    dependencies=[Depends(Roles("dispatcher", "admin"))],
)
def create_enterprise(
    data: EnterpriseCreate, ctx: ContextDep, caller: CurrentCaller
) -> EnterprisePublic:
    """Register an enterprise (生产经营单位) in the caller's region."""
    with ctx.db.write() as session:
        enterprise = service.create(session=session, caller=caller, data=data)
        return _public(ctx, session, enterprise)


@router.get("", response_model=list[EnterprisePublic])
def list_enterprises(
    ctx: ContextDep,
    session: SessionDep,
    caller: CurrentCaller,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[EnterprisePublic]:
    """Enterprises in the caller's scope."""
    rows = service.list_(session=session, caller=caller, limit=limit, offset=offset)
    return [_public(ctx, session, e) for e in rows]


@router.get("/{enterprise_id}", response_model=EnterprisePublic)
def get_enterprise(
    enterprise_id: RowId, ctx: ContextDep, session: SessionDep, caller: CurrentCaller
) -> EnterprisePublic:
    """One enterprise with `closure_recommended` and its penalty counts."""
    enterprise = service.get(session=session, caller=caller, enterprise_id=enterprise_id)
    return _public(ctx, session, enterprise)


def _public(ctx: Context, session: Session, enterprise: Enterprise) -> EnterprisePublic:
    return service.to_public(
        connection=session.connection(), enterprise=enterprise, policy=ctx.policy, now=ctx.now()
    )
