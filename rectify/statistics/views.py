"""HTTP for statistics: GET /api/v1/statistics."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from rectify.api.deps import ConnectionDep, ContextDep
from rectify.api.permissions import Roles
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.hazards.models import Grade
from rectify.inputs import Day, RegionCode
from rectify.statistics import service
from rectify.statistics.models import GroupBy, Statistics

__all__ = ["READERS", "router", "statistics_query"]

router = APIRouter(tags=["statistics"])

READERS = ("dispatcher", "inspector", "auditor", "admin")
"""Who may read statistics: the offices (an enterprise has its own hazards' list)."""

_DESCRIPTION = (
    "Figures per group of hazards in the caller's scope.\n\n"
    + "\n".join(f"- `{name}`: {text}" for name, text in service.DEFINITIONS.items())
    + (
        "\n\n`group_by=region` groups by the level below the region covered (the caller's scope, "
        "or the narrower `region` given): country → provinces, province → cities, city → "
        "counties, county → townships; a group's `key` is the region code to pass as `region` "
        "to drill down. docs/STATISTICS.md gives the same definitions at length."
    )
)


def statistics_query(
    ctx: Context,
    group_by: GroupBy,
    from_: Any,
    to: Any,
    region: str | None,
    grade: str | None,
    industry: str | None,
    state: str | None,
) -> service.Query:
    """The query, with `state` checked against the deployed workflows' main states."""
    if state is not None:
        known = sorted({s for d in ctx.registry.all() for s in d.regions[0].states})
        if state not in known:
            raise InvalidInput.fields(
                [{"field": "state", "message": f"must be one of: {', '.join(known)}"}]
            )
    return service.Query(
        group_by=group_by.value,
        from_=from_,
        to=to,
        region=region,
        grade=None if grade is None else str(grade),
        industry=industry,
        state=state,
    )


@router.get("/statistics", response_model=Statistics, description=_DESCRIPTION)
def get_statistics(
    ctx: ContextDep,
    connection: ConnectionDep,
    caller: Annotated[Caller, Depends(Roles(*READERS))],
    group_by: GroupBy,
    from_: Annotated[Day | None, Query(alias="from", description="discovered on or after")] = None,
    to: Annotated[Day | None, Query(description="discovered on or before (China dates)")] = None,
    region: RegionCode | None = None,
    grade: Grade | None = None,
    industry: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    state: Annotated[str | None, Query(max_length=100, description="a main state")] = None,
) -> dict[str, Any]:
    """Statistics of hazards (隐患统计)."""
    query = statistics_query(ctx, group_by, from_, to, region, grade, industry, state)
    return service.statistics(
        connection=connection,
        dialect=ctx.db.dialect,
        caller=caller,
        query=query,
        now=ctx.now(),
    )
