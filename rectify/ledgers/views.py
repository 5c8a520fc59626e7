"""HTTP for the ledgers (台账): the kinds, one ledger as XLSX or CSV (API, bearer token), and
the console's page with its filter form and downloads (signed-in session, same service)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import TypeAdapter, ValidationError

from rectify.api.deps import ContextDep, CurrentCaller
from rectify.auth.scope import Caller
from rectify.console.deps import ConsoleCaller
from rectify.console.render import page
from rectify.context import Context
from rectify.exceptions import InvalidInput
from rectify.hazards.models import Grade
from rectify.hazards.words import GRADE_LABELS
from rectify.inputs import Day, RegionCode, Text
from rectify.ledgers import service
from rectify.ledgers.kinds import KINDS

__all__ = ["console", "router"]

router = APIRouter(prefix="/ledgers", tags=["ledgers"])
console = APIRouter(prefix="/console/ledgers", include_in_schema=False)

Format = Literal["xlsx", "csv"]
Industry = Annotated[Text | None, Query(max_length=100, description="行业, as hazards name it")]


@router.get("")
def list_ledgers() -> list[dict[str, Any]]:
    """The ledgers (台账) an office keeps, each with its API name (`kind`), Chinese name, the
    law or practice it follows, its column headers and formats (any principal; the rows are the
    caller's scope)."""
    return service.kinds()


@router.get(
    "/{kind}",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {service.FORMATS["xlsx"]: {}, "text/csv": {}},
            "description": "the ledger as a file",
        }
    },
)
def download_ledger(
    ctx: ContextDep,
    caller: CurrentCaller,
    kind: Annotated[str, Path(max_length=40, description="hazards, progress, responsibility, ...")],
    fmt: Annotated[Format, Query(alias="format")] = "xlsx",
    since: Annotated[Day | None, Query(alias="from", description="discovery date from")] = None,
    until: Annotated[Day | None, Query(alias="to", description="discovery date to")] = None,
    region: RegionCode | None = None,
    grade: Grade | None = None,
    industry: Industry = None,
    state: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """One ledger of the hazards in the caller's scope, as XLSX (frozen header, column widths,
    date cells) or CSV (UTF-8 with BOM), streamed. Filters: `from`, `to` (discovery date,
    YYYY-MM-DD, China dates, both inclusive), `region` (a region code; outside the scope: 404),
    `grade`, `industry`, `state` (the main track's state; `progress` and `responsibility` list
    the open hazards unless a state is named). Headers are Chinese; times are China time."""
    filters = service.check_filters(
        ctx=ctx,
        caller=caller,
        since=since,
        until=until,
        region=region,
        grade=grade.value if grade else None,
        industry=industry,
        state=state,
    )
    return _stream(ctx, caller, kind, filters, fmt)


def _stream(ctx: Context, caller: Caller, kind: str, filters: Any, fmt: str) -> Response:
    out = service.export(ctx=ctx, caller=caller, kind=kind, filters=filters, fmt=fmt)
    headers = {"Content-Disposition": out.disposition, "Cache-Control": "private, no-store"}
    return StreamingResponse(out.chunks, media_type=out.media_type, headers=headers)


# -- the console ------------------------------------------------------------------------------
FIELDS = ("kind", "format", "from", "to", "region", "grade", "industry", "state")
_DAY: TypeAdapter[date] = TypeAdapter(Day)
_REGION: TypeAdapter[str] = TypeAdapter(RegionCode)


def _form(
    request: Request, ctx: Context, typed: dict[str, str], errors: dict[str, str], status: int = 200
) -> Response:
    states = {
        s: label
        for d in ctx.registry.all()
        for s, label in d.region_by_field["state"].states.items()
    }
    return page(
        request,
        "ledgers/page.html",
        status=status,
        kinds=service.kinds(),
        grades=GRADE_LABELS,
        states=states,
        typed=typed,
        errors=errors,
    )


@console.get("")
def ledgers_page(request: Request, ctx: ContextDep, caller: ConsoleCaller) -> Response:
    """The ledgers: what each holds, a filter form and the downloads."""
    return _form(request, ctx, {"kind": "hazards", "format": "xlsx"}, {})


@console.get("/download")
def ledgers_download(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    kind: Annotated[str, Query(max_length=40)] = "hazards",
    fmt: Annotated[str, Query(alias="format", max_length=10)] = "xlsx",
    since: Annotated[str, Query(alias="from", max_length=20)] = "",
    until: Annotated[str, Query(alias="to", max_length=20)] = "",
    region: Annotated[str, Query(max_length=20)] = "",
    grade: Annotated[str, Query(max_length=20)] = "",
    industry: Annotated[str, Query(max_length=100)] = "",
    state: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    """The ledger the form asked for, from the same service as the API; a refused form comes
    back with the reason beside the field (422)."""
    typed = dict(
        zip(FIELDS, (kind, fmt, since, until, region, grade, industry, state), strict=True)
    )
    errors: dict[str, str] = {}
    if kind not in KINDS:
        errors["kind"] = "请选择一种台账。"
    if fmt not in service.FORMATS:
        errors["format"] = "请选择 Excel（xlsx）或 CSV。"
    if grade and grade not in GRADE_LABELS:
        errors["grade"] = "请选择一般或重大事故隐患。"
    days: dict[str, date | None] = {"from": None, "to": None}
    for name in ("from", "to"):
        if typed[name].strip():
            try:
                days[name] = _DAY.validate_python(typed[name].strip())
            except ValidationError:
                errors[name] = "请按 年-月-日 填写日期，例如 2026-03-02。"
    if region.strip():
        try:
            _REGION.validate_python(region.strip())
        except ValidationError:
            errors["region"] = "请填写6位或9位行政区划代码，例如 420102。"
    filters = None
    if not errors:
        try:
            filters = service.check_filters(
                ctx=ctx,
                caller=caller,
                since=days["from"],
                until=days["to"],
                region=region.strip() or None,
                grade=grade or None,
                industry=industry,
                state=state or None,
            )
        except InvalidInput as exc:
            words = {"to": "结束日期不能早于开始日期。", "state": "请选择一个状态。"}
            errors |= {e["field"]: words.get(e["field"], e["message"]) for e in exc.errors}
    if errors or filters is None:
        return _form(request, ctx, typed, errors, status=422)
    return _stream(ctx, caller, kind, filters, fmt)
