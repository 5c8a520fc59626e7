"""Observability: Prometheus metrics at /metrics, request ids and JSON logs."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    """Add /metrics and the request-id middleware to an app (called last by create_app)."""
    # Imported here, not at the top: the services import `observability.metrics`, and the
    # views (through the scrape's gauges) import the services.
    from rectify.observability import request_id, views

    app.include_router(views.router)
    request_id.install(app)
