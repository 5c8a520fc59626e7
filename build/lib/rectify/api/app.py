"""The FastAPI application: routers under /api/v1, problem+json errors, /healthz."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request, Response

from rectify import __version__
from rectify.api import docs, problems
from rectify.api.security import SecurityHeaders
from rectify.audit.views import router as audit
from rectify.context import Context
from rectify.enterprises.views import router as enterprises
from rectify.evidence.views import router as evidence
from rectify.hazards.views import router as hazards
from rectify.notifications.views import router as notifications
from rectify.observability import install as install_observability
from rectify.workflow.views import router as workflows

API_PREFIX = "/api/v1"


def create_app(ctx: Context) -> FastAPI:
    """An app bound to one process context (tests build one per database)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if ctx.settings.scheduler:
            from rectify.timers.scheduler import build_scheduler

            scheduler = build_scheduler(ctx, worker=f"{socket.gethostname()}:{os.getpid()}")
            scheduler.start()
        yield
        if scheduler is not None:
            from rectify.notifications import worker

            scheduler.shutdown(wait=True)
            worker.close()

    app = FastAPI(
        lifespan=lifespan,
        title="rectify",
        version=__version__,
        description="安全生产事故隐患整改督办: hazards, deadlines, escalation and audit.",
        docs_url=None,  # /docs and /redoc come from api/docs.py, offline
        redoc_url=None,
    )
    app.state.context = ctx
    problems.install(app)
    api = APIRouter(prefix=API_PREFIX)
    for router in (enterprises, hazards, evidence, workflows, audit, notifications):
        api.include_router(router)
    app.include_router(api)
    docs.install(app)  # /docs, /redoc and /console/static

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.middleware("http")
    async def limit_uploads(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        # Refuse a declared oversize upload before the multipart parser spools it to disk.
        limit = ctx.settings.evidence_max_bytes + 65536  # multipart framing
        length = request.headers.get("content-length", "")
        if (
            request.method == "POST"
            and request.url.path.endswith("/evidence")
            and length.isdigit()
            and int(length) > limit
        ):
            size = problems.human_size(int(length))
            limit_text = problems.human_size(ctx.settings.evidence_max_bytes)
            return problems.problem(
                413,
                f"the upload is {size}; the limit is {limit_text}",
                request=request,
            )
        return await call_next(request)

    install_observability(app)  # /metrics; the request id wraps every middleware above
    app.add_middleware(SecurityHeaders)  # outermost: every response gets the headers
    return app
