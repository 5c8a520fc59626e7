"""Who may call a route, declared on the route and checked before its handler runs — the way
Netflix Dispatch declares `dependencies=[Depends(PermissionsDependency([...]))]` — never in a
handler body:

    @router.get("/audit/verify", dependencies=[Depends(Roles("auditor", "admin"))])
    @router.get("/hazards/{hazard_id}/replay",
                dependencies=[Depends(HazardRoles("dispatcher", "auditor"))])

Scope before role (SPEC 1): on a route that names a hazard, `HazardRoles` first finds the hazard
in the caller's scope (`DocumentRoles`: the document's hazard) — 404 when it is missing or
outside it, exactly as for a missing one — and only then checks the role (403), so a role check
never reveals that an object exists.

Each is a FastAPI dependency that returns the caller, so it may also stand as a parameter
(`caller: Annotated[Caller, Depends(Roles("admin"))]`); a whole router takes one with
`APIRouter(dependencies=[Depends(...)])`. A role rule that is data — a trigger's roles in the
workflow file (transitions, reporting, evidence uploads) — stays in the service that reads it.
Console routes may use them too: a `Forbidden` or `NotFound` there becomes the HTML error page.
"""

from __future__ import annotations

from rectify.api.deps import ContextDep, CurrentCaller, RowId
from rectify.auth.scope import Caller
from rectify.documents import service as documents
from rectify.exceptions import Forbidden
from rectify.hazards import service as hazards

__all__ = ["DocumentRoles", "HazardRoles", "Roles"]


class _Allowed:
    """The roles a route allows, and the 403 for any other."""

    def __init__(self, *roles: str) -> None:
        if not roles:
            raise ValueError("name at least one role")
        self.roles = roles

    def check(self, caller: Caller) -> Caller:
        if caller.role not in self.roles:
            raise Forbidden(f"this needs the role {' or '.join(self.roles)}; you are {caller.role}")
        return caller

    def __repr__(self) -> str:
        return f"{type(self).__name__}{self.roles!r}"


class Roles(_Allowed):
    """Allow callers with one of `roles`; 403 for any other role."""

    async def __call__(self, caller: CurrentCaller) -> Caller:  # no I/O: no worker thread
        return self.check(caller)


class HazardRoles(_Allowed):
    """For a route whose path names `{hazard_id}`: 404 unless the hazard exists in the caller's
    scope, then 403 unless the caller has one of `roles`."""

    def __call__(self, hazard_id: RowId, caller: CurrentCaller, ctx: ContextDep) -> Caller:
        with ctx.db.engine.connect() as connection:  # released at once, not held by the route
            hazards.get(connection=connection, caller=caller, hazard_id=hazard_id)
        return self.check(caller)


class DocumentRoles(_Allowed):
    """For a route whose path names `{document_id}`: 404 unless the document's hazard is in the
    caller's scope, then 403 unless the caller has one of `roles`."""

    def __call__(self, document_id: RowId, caller: CurrentCaller, ctx: ContextDep) -> Caller:
        with ctx.db.engine.connect() as connection:
            documents.get(ctx=ctx, connection=connection, caller=caller, document_id=document_id)
        return self.check(caller)
