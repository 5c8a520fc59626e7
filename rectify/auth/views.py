"""HTTP for principals (admins only): list tokens and people, revoke one (a person is disabled
and signed out everywhere)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends

from rectify.api.deps import ContextDep, CurrentCaller, Limit, Offset, RowId, SessionDep, page
from rectify.api.permissions import Roles
from rectify.auth import service
from rectify.auth.models import PrincipalPublic

# Every route here is the admin's: declared once for the router.
router = APIRouter(
    prefix="/principals", tags=["principals"], dependencies=[Depends(Roles("admin"))]
)


@router.get("")
def list_principals(
    ctx: ContextDep,
    session: SessionDep,
    limit: Limit = 50,
    offset: Offset = 0,
    kind: Literal["token", "user"] | None = None,
) -> dict[str, Any]:
    """Every principal, tokens and people, oldest first (never a token or password hash)."""
    rows, total = service.list_principals(session=session, limit=limit, offset=offset, kind=kind)
    now = ctx.now()
    items = [service.to_public(p, now=now).model_dump(mode="json") for p in rows]
    return page(items, total, limit, offset)


@router.post("/{principal_id}/revoke", response_model=PrincipalPublic)
def revoke_principal(
    principal_id: RowId, ctx: ContextDep, caller: CurrentCaller
) -> PrincipalPublic:
    """Revoke a token, or disable a person and end their sessions: refused at once everywhere."""
    now = ctx.now()
    with ctx.db.write() as session:
        principal = service.revoke(session=session, principal_id=principal_id, now=now, by=caller)
    return service.to_public(principal, now=now)
