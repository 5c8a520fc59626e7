"""The request id: taken from `X-Request-ID` or generated, kept in a contextvar for the logs,
and returned in the response header (asgi-correlation-id does the ASGI part)."""

from __future__ import annotations

import re
from uuid import uuid4

from asgi_correlation_id import CorrelationIdMiddleware
from asgi_correlation_id.context import correlation_id
from fastapi import FastAPI

HEADER = "X-Request-ID"

# A client's id is kept when it is a plain token (UUIDs, nginx $request_id, trace ids):
# nothing that could forge a log line or a header. Anything else is replaced by a new id.
_ACCEPTABLE = re.compile(r"[A-Za-z0-9._:;=+/@-]{1,128}")


def acceptable(value: str) -> bool:
    return _ACCEPTABLE.fullmatch(value) is not None


def current() -> str | None:
    """The id of the request being served (None outside a request)."""
    return correlation_id.get()


def install(app: FastAPI) -> None:
    """Register the middleware; added last, it wraps the app's other middleware."""
    app.add_middleware(
        CorrelationIdMiddleware,
        header_name=HEADER,
        validator=acceptable,
        generator=lambda: uuid4().hex,
    )
