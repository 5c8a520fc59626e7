"""The statistics page (`/console/statistics`, the offices): bars by group, the monthly trend,
and a drill-down by region through links; the figures are the API's (the same service call),
drawn by the vendored ECharts from a JSON data block and listed in a table."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response

from rectify.api.deps import ContextDep
from rectify.auth.scope import region_prefix
from rectify.console.deps import ConsoleCaller, require_role
from rectify.console.render import page
from rectify.hazards.models import Grade
from rectify.inputs import Day, RegionCode
from rectify.statistics import service
from rectify.statistics.models import GroupBy
from rectify.statistics.views import READERS, statistics_query

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

GROUP_LABELS = {
    "region": "行政区划",
    "industry": "行业",
    "enterprise": "企业",
    "grade": "隐患等级",
    "source": "隐患来源",
    "month": "月份",
}
COLUMNS = (
    ("reported", "登记"),
    ("open", "未销号"),
    ("closed", "已销号"),
    ("dismissed", "已撤销"),
    ("overdue", "逾期"),
    ("closed_on_time", "按期销号"),
    ("closed_late", "超期销号"),
    ("on_time_rate", "按期整改率"),
    ("major_signoff_rate", "重大隐患销号率"),
    ("mean_days_to_close", "平均整改天数"),
    ("p90_days_to_close", "90%整改天数"),
    ("repeat", "重复隐患"),
)
LEVEL_LABELS = {"province": "省", "city": "市", "county": "县（区）", "township": "乡镇（街道）"}


@router.get("/console/statistics")
def statistics_page(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    group_by: GroupBy = GroupBy.region,
    from_: Annotated[Day | None, Query(alias="from")] = None,
    to: Day | None = None,
    region: RegionCode | None = None,
    grade: Grade | None = None,
) -> Response:
    """The statistics of the caller's scope (or the region drilled into), in Chinese."""
    require_role(caller, *READERS)
    grade_value = None if grade is None else str(grade)
    query = statistics_query(ctx, group_by, from_, to, region, grade_value, None, None)
    trend_query = statistics_query(ctx, GroupBy.month, from_, to, region, grade_value, None, None)
    with ctx.db.engine.connect() as connection:
        figures = service.statistics(
            connection=connection, dialect=ctx.db.dialect, caller=caller, query=query, now=ctx.now()
        )
        trend = service.statistics(
            connection=connection,
            dialect=ctx.db.dialect,
            caller=caller,
            query=trend_query,
            now=ctx.now(),
        )
    params = {"from": from_, "to": to, "grade": grade_value}
    return page(
        request,
        "statistics/page.html",
        figures=figures,
        trend=trend,
        data=jsonable_encoder({"groups": figures["groups"], "trend": trend["groups"]}),
        group_by=group_by.value,
        group_labels=GROUP_LABELS,
        columns=COLUMNS,
        level_label=LEVEL_LABELS.get(figures["level"] or "", ""),
        crumbs=[
            (label, _link(group_by="region", region=code, **params))
            for label, code in _crumbs(caller.region_code, figures["region"])
        ],
        drill=_drill(figures, params),
        params=params,
        grade=grade_value,
    )


def _link(**params: Any) -> str:
    given = {k: str(v) for k, v in params.items() if v is not None}
    return "/console/statistics?" + urlencode(given)


def _drill(figures: dict[str, Any], params: dict[str, Any]) -> dict[Any, str]:
    """Each region group's link one level down (none below townships)."""
    if figures["group_by"] != "region" or figures["level"] == "township":
        return {}
    return {
        g["key"]: _link(group_by="region", region=g["key"], **params) for g in figures["groups"]
    }


def _crumbs(scope: str | None, shown: str | None) -> list[tuple[str, str | None]]:
    """The way back up from the region shown to the caller's scope: (label, region)."""
    out: list[tuple[str, str | None]] = [("全部" if scope is None else scope, scope)]
    if shown is None or shown == scope:
        return out
    prefix, top = region_prefix(shown), len(region_prefix(scope)) if scope else 0
    for length in (2, 4, 6, 9):
        if top < length <= len(prefix):
            code = service.full_code(prefix[:length])
            out.append((code, code))
    return out
