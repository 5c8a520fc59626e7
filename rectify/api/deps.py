"""Request dependencies: the process context, a read session and the authenticated caller."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request
from sqlalchemy import Connection
from sqlmodel import Session

from rectify.auth import service as auth
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.core import MAX_ID
from rectify.exceptions import Forbidden, InvalidInput


def get_context(request: Request) -> Context:
    return request.app.state.context


ContextDep = Annotated[Context, Depends(get_context)]


def get_session(ctx: ContextDep) -> Iterator[Session]:
    with ctx.db.session() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_connection(ctx: ContextDep) -> Iterator[Connection]:
    with ctx.db.engine.connect() as connection:
        yield connection


ConnectionDep = Annotated[Connection, Depends(get_connection)]
"""A read connection for Core reads (hazard rows, events)."""


def get_caller(ctx: ContextDep, authorization: Annotated[str | None, Header()] = None) -> Caller:
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    with ctx.db.session() as session:
        return auth.authenticate(session=session, token=token)


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require(caller: Caller, *roles: str) -> None:
    """403 unless the caller has one of the roles."""
    if caller.role not in roles:
        raise Forbidden(f"this needs the role {' or '.join(roles)}; you are {caller.role}")


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: "7"` (or W/"7", or 7) → 7."""
    if value is None:
        return None
    raw = value.strip().removeprefix("W/").strip('"')
    if not raw.isdigit():
        raise InvalidInput.fields(
            [{"field": "If-Match", "message": 'must be the hazard version in quotes, e.g. "3"'}]
        )
    return int(raw)


RowId = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
"""A path parameter naming a row: 1 ≤ id < 2**63, else a 422 naming it."""
RowIdFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]
"""An optional query filter naming a row."""
Offset = Annotated[int, Query(ge=0, le=MAX_ID)]
"""How many rows a page skips."""
Limit = Annotated[int, Query(ge=1, le=500)]
"""How many rows a page holds (at most 500)."""


def page(items: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    """The body of a paginated list: the items and where they sit in the whole."""
    return {"items": items, "total": total, "limit": limit, "offset": offset}
