"""Request bodies bounded while they stream: a pure ASGI middleware counting `receive()` bytes.

A declared Content-Length over the limit is refused before anything is read; a chunked body is
cut off at the first message that crosses it. Evidence uploads (POST .../evidence) have their
own limit (`evidence_max_bytes` plus multipart framing), every other body `max_json_bytes`.

Starlette's own RequestBodyLimitMiddleware answers text/plain and replaces any response once the
declared length is over; ours answers application/problem+json, and only after the application
has unwound (so an upload's staging file is already gone when the client reads the 413).
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rectify.api.problems import human_size, problem

__all__ = ["MULTIPART_FRAMING", "BodyLimit", "is_import", "is_upload"]

MULTIPART_FRAMING = 64 * 1024
"""Room for the multipart boundaries and part headers around an evidence file."""


def is_upload(scope: Scope) -> bool:
    """An evidence upload (API or console): POST to a path ending in /evidence."""
    return scope["method"] == "POST" and scope["path"].rstrip("/").endswith("/evidence")


def is_import(scope: Scope) -> bool:
    """A hazard ledger's sheet: POST /api/v1/hazards/import."""
    return scope["method"] == "POST" and scope["path"].rstrip("/") == "/api/v1/hazards/import"


class BodyLimit:
    """413 problem+json for a body over its limit, enforced while the body streams."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_json_bytes: int,
        max_upload_bytes: int,
        console_refusal: Callable[[Request, int], Response] | None = None,
        max_import_bytes: int = 32 * 1024 * 1024,
    ) -> None:
        self.app = app
        self.console_refusal = console_refusal  # a console form's 413 is a page, not JSON
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_import_bytes = max_import_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        upload, sheet = is_upload(scope), is_import(scope)
        allowed = (
            self.max_upload_bytes
            if upload
            else self.max_import_bytes
            if sheet
            else self.max_json_bytes
        )
        limit = allowed + MULTIPART_FRAMING if upload or sheet else allowed
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            size, most = human_size(declared), human_size(allowed)
            detail = f"the request body is {size}; the limit is {most}"
            await self._refuse(scope, receive, send, detail, allowed)
            return

        received = 0
        refused = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # The application sees a client that went away; the 413 is sent once it
                    # has unwound, and uvicorn discards the rest of the body unread.
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the application's answer to the "disconnect" is dropped
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except Exception:
            if not refused:
                raise
        if refused and not started:
            detail = f"the request body is over {human_size(allowed)}, the limit"
            await self._refuse(scope, receive, send, detail, allowed)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, detail: str, limit: int
    ) -> None:
        path = scope["path"]
        if self.console_refusal is not None and path.startswith("/console/"):
            accept = Headers(scope=scope).get("accept", "")
            if "application/json" not in accept:  # the page's own script reads problem+json
                await self.console_refusal(Request(scope), limit)(scope, receive, send)
                return
        file = is_upload(scope) or is_import(scope)
        what = "send a smaller file" if file else "send a smaller body"
        response = problem(413, f"{detail}; {what}", request=Request(scope), limit=limit)
        await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isdigit() and len(value) < 30 else None
