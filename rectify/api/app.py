"""The FastAPI application: routers under /api/v1, the console under /console, problem+json
errors, /healthz, and the middleware that authenticates and bounds bodies before any is read."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import lru_cache

from fastapi import APIRouter, FastAPI
from fastapi.telemetry import TelemetryConfig
from starlette.routing import BaseRoute

from rectify import __version__
from rectify.accountability.views import router as accountability
from rectify.api import docs, problems
from rectify.api.gate import AuthGate
from rectify.api.limits import BodyLimit
from rectify.api.security import SecurityHeaders
from rectify.audit.views import router as audit
from rectify.auth.views import router as principals
from rectify.console import errors as console_errors
from rectify.console.admin import router as console_admin
from rectify.console.audit import router as console_audit
from rectify.console.enterprises import router as console_enterprises
from rectify.console.hazards import router as console_hazards
from rectify.console.views import router as console_views
from rectify.console.worklists import router as console_worklists
from rectify.context import Context
from rectify.definitions.views import router as workflows
from rectify.documents.views import console as console_documents
from rectify.documents.views import router as documents
from rectify.enterprises.views import router as enterprises
from rectify.evidence.views import router as evidence
from rectify.hazards.import_views import router as hazard_import
from rectify.hazards.views import router as hazards
from rectify.ledgers.views import console as console_ledgers
from rectify.ledgers.views import router as ledgers
from rectify.notifications.views import router as notifications
from rectify.observability import install as install_observability
from rectify.statistics.console import router as console_statistics
from rectify.statistics.views import router as statistics

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
            from rectify.documents.worker import DocumentWorker

            renderer = DocumentWorker(ctx).start()  # 执法文书, rendered after each commit
        yield
        if scheduler is not None:
            from rectify.notifications import worker

            renderer.stop()
            scheduler.shutdown(wait=True)
            worker.close()

    app = FastAPI(
        lifespan=lifespan,
        title="rectify",
        version=__version__,
        description="安全生产事故隐患整改督办: hazards, deadlines, escalation and audit.",
        docs_url=None,  # /docs and /redoc come from api/docs.py, offline
        redoc_url=None,
        telemetry=_telemetry(),
    )
    app.state.context = ctx
    problems.install(app)
    console_errors.install(app)  # HTML error pages under /console (after the problem+json ones)
    app.router.routes.extend(_routes())
    docs.install(app)  # /docs, /redoc and /console/static

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    # Pure ASGI middleware, the last added outermost: request id → authentication (headers
    # only: a stranger's body is never read) → body limits (counted while the body streams).
    app.add_middleware(
        BodyLimit,
        max_json_bytes=ctx.settings.max_json_bytes,
        max_upload_bytes=ctx.settings.evidence_max_bytes,
        console_refusal=console_errors.too_large,
        max_import_bytes=ctx.settings.import_max_bytes,
    )
    app.add_middleware(AuthGate, ctx=ctx, console_refusal=console_errors.unauthenticated)
    install_observability(app)  # /metrics; the request id wraps every middleware above
    app.add_middleware(SecurityHeaders)  # outermost: every response gets the headers
    return app


@lru_cache(maxsize=1)
def _routes() -> tuple[BaseRoute, ...]:
    """Every API and console route, built once per process: FastAPI analyses each handler's
    signature as its route is included (a tenth of a second for all), and tests build an app
    per test. Routes hold no context: a request finds it in `request.app.state.context`."""
    root = APIRouter()
    api = APIRouter(prefix=API_PREFIX)
    for router in (
        enterprises,
        hazard_import,
        hazards,
        evidence,
        documents,
        workflows,
        audit,
        notifications,
        principals,
        accountability,
        ledgers,
        statistics,
    ):
        api.include_router(router)
    root.include_router(api)
    for router in (
        console_views,
        console_worklists,  # before the hazard page: /console/hazards/new is not an id
        console_admin,
        console_audit,
        console_enterprises,
        console_hazards,
        console_documents,
        console_ledgers,
        console_statistics,
    ):
        root.include_router(router)
    return tuple(root.routes)


def _telemetry() -> TelemetryConfig | None:
    """FastAPI's native OpenTelemetry hooks, on only where OpenTelemetry is configured (an
    OTEL_* or FASTAPI_OTEL_* variable): rectify's own metrics are Prometheus'. Left on, they
    looked up three unset global providers on every request (a tenth of a request's time)."""
    if any(k.startswith(("OTEL_", "FASTAPI_OTEL_")) for k in os.environ):
        return None  # FastAPI's defaults
    return {"tracing": False, "metrics": False, "logs": False}
