"""JSON request bodies parsed as real JSON: a route class that refuses, before any model sees
the body, NaN, Infinity, numbers too large for a double, lone surrogates and duplicate keys
(Python's json takes them all) with a 422 naming each place (`payload.amount_yuan`)."""

from __future__ import annotations

import email.message
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from rectify import inputs

__all__ = ["StrictJSONRoute"]


def _is_json(request: Request) -> bool:
    """What FastAPI parses as JSON: no content type, application/json or application/*+json."""
    value = request.headers.get("content-type")
    if not value:
        return True
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


class _ParsedRequest(Request):
    """A request whose JSON body was already parsed strictly (FastAPI reads it via json())."""

    raw: bytes
    parsed: Any

    async def body(self) -> bytes:
        return self.raw

    async def json(self) -> Any:
        return self.parsed


class StrictJSONRoute(APIRoute):
    """Use as `APIRouter(route_class=StrictJSONRoute)`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            if request.method in ("GET", "HEAD", "DELETE", "OPTIONS") or not _is_json(request):
                return await handler(request)
            body = await request.body()
            try:
                parsed = inputs.loads(body) if body else None
            except inputs.NotJSON as exc:
                raise RequestValidationError(
                    [
                        {"type": "not_json", "loc": ("body", *path), "msg": message, "input": None}
                        for path, message in exc.problems
                    ]
                ) from None
            except ValueError:
                return await handler(request)  # not JSON at all: FastAPI says where it breaks
            if not body:
                return await handler(request)
            strict_request = _ParsedRequest(request.scope, request.receive)
            strict_request.raw = body
            strict_request.parsed = parsed
            return await handler(strict_request)

        return strict
