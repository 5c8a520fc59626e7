"""Security headers on every response: a strict Content-Security-Policy for pages, and the rest.

A pure ASGI middleware (it never reads or buffers the body). A header the endpoint set itself
wins: the evidence download, for one, sends its own stricter policy.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["PAGE_CSP", "RESOURCE_CSP", "SecurityHeaders"]

# Pages (text/html). Scripts only from files rectify serves: no inline script, no eval, nothing
# from another host. Inline *styles* are allowed because Swagger UI, ReDoc and mermaid set
# style attributes and <style> elements as they render (docs/DECISIONS.md, "Pages").
PAGE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "img-src 'self' data: blob:",
        "style-src 'self' 'unsafe-inline'",
    )
)

# Everything else (JSON, files, scripts themselves): if a browser is ever made to render one as
# a document, it may load nothing and run nothing.
RESOURCE_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

# Sent on every response unless the endpoint set the header.
COMMON_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
    ("X-Frame-Options", "DENY"),
)


class SecurityHeaders:
    """Add the security headers to each HTTP response start, leaving the body alone."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in COMMON_HEADERS:
                    headers.setdefault(name, value)
                html = headers.get("content-type", "").startswith("text/html")
                headers.setdefault("Content-Security-Policy", PAGE_CSP if html else RESOURCE_CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)
