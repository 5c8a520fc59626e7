"""HTTP for observability: the Prometheus scrape at /metrics (no token: aggregate counts only,
like /healthz; keep it behind the load balancer's internal side)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from rectify.api.deps import ContextDep
from rectify.observability import scrape

router = APIRouter(tags=["observability"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request, ctx: ContextDep) -> Response:
    """This process's counters and histograms, and the database gauges."""
    body, content_type = scrape.render(ctx, accept=request.headers.get("accept"))
    return Response(content=body, media_type=content_type)
