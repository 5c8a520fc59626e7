"""The enterprise page (`/console/enterprises/{id}`, anyone in scope; else 404): the enterprise,
its credit code and region, its hazards (paged, newest first, each linked to its hazard page),
its penalties, and the closure rule of 安全生产法第一百一十三条 with the counts in the policy's
windows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from rectify.api.deps import ContextDep, Offset, RowId
from rectify.console import audit_words as words
from rectify.console.deps import ConsoleCaller
from rectify.console.render import page
from rectify.enterprises.overview import overview

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 20


def overdue_words(seconds: int | None) -> str:
    """How long past its deadline: 逾期 3 天 5 小时 (or 逾期 40 分钟)."""
    if seconds is None:
        return ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"逾期 {days} 天" + (f" {hours} 小时" if hours else "")
    if hours:
        return f"逾期 {hours} 小时"
    return f"逾期 {max(rest // 60, 1)} 分钟"


@router.get("/console/enterprises/{enterprise_id}")
def enterprise_page(
    enterprise_id: RowId,
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    offset: Offset = 0,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> Response:
    """One enterprise: its record, hazards, penalties and the art. 113 flag, in Chinese."""
    view = overview(
        ctx=ctx,
        caller=caller,
        enterprise_id=enterprise_id,
        open_only=open_only,
        offset=offset,
        limit=PAGE_SIZE,
    )
    definitions = {d.key: d for d in ctx.registry.all()}

    def state_label(hazard: dict) -> str:
        definition = definitions[(hazard["workflow_name"], hazard["workflow_version"])]
        return definition.label_of("state", hazard["state"])

    def branch_labels(hazard: dict) -> list[str]:
        definition = definitions[(hazard["workflow_name"], hazard["workflow_version"])]
        out = []
        for field in ("supervision", "production", "judicial"):
            region = definition.region_by_field[field]
            if hazard[field] != region.initial:
                out.append(region.states.get(hazard[field], hazard[field]))
        return out

    return page(
        request,
        "enterprises/page.html",
        view=view,
        state_label=state_label,
        branch_labels=branch_labels,
        overdue_words=overdue_words,
        grade_labels=words.GRADE_LABELS,
        penalty_kinds=words.PENALTY_KINDS,
    )
