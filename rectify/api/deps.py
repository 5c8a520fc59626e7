"""Request dependencies: the process context, a read session and the authenticated caller."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from sqlalchemy import Connection
from sqlmodel import Session

from rectify.api.gate import CALLER
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.database.core import MAX_ID
from rectify.exceptions import InvalidInput, Unauthenticated


async def get_context(request: Request) -> Context:
    """The process context (async: no I/O, so FastAPI needs no worker thread for it)."""
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


async def get_caller(request: Request) -> Caller:
    """The caller the authentication middleware resolved from the headers (`rectify.api.gate`),
    before anything read the body."""
    caller = request.scope.get("state", {}).get(CALLER)
    if caller is None:
        raise Unauthenticated("send Authorization: Bearer <token> (see `rectify token create`)")
    return caller


CurrentCaller = Annotated[Caller, Depends(get_caller)]


_VERSION = re.compile(r'(?:W/)?(?:"([0-9]{1,19})"|([0-9]{1,19}))')


def parse_if_match(value: str | None) -> int | None:
    """`If-Match: "7"` (or W/"7", or 7) → 7; `*` (any version) → None. ASCII digits only (a
    Unicode digit such as ² is not a version), and a version a BIGINT can hold."""
    if value is None or value.strip() == "*":
        return None
    found = _VERSION.fullmatch(value.strip())
    version = int(found.group(1) or found.group(2)) if found else MAX_ID + 1
    if version > MAX_ID:
        raise InvalidInput.fields(
            [{"field": "If-Match", "message": 'must be the hazard version in quotes, e.g. "3"'}]
        )
    return version


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
