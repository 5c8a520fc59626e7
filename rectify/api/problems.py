"""Every error as application/problem+json (RFC 9457), the framework's own ones included."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from rectify.exceptions import InvalidInput, RectifyError
from rectify.observability import request_id

PROBLEM = "application/problem+json"
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
TITLES = {
    400: "Bad request",
    401: "Unauthenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    500: "Internal error",
}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """A problem document response."""
    body = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        **extra,
    }
    if request is not None:
        body["instance"] = request.url.path
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def human_size(n: int) -> str:
    """Bytes for people: '512 bytes', '256 KiB', '20 MiB', '25.3 MiB' (never '0 MiB')."""
    for unit, scale in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _domain(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RectifyError)
    extra = dict(exc.extra)
    if isinstance(exc, InvalidInput):
        extra["errors"] = exc.errors
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(
        exc.status, exc.detail, title=exc.title, request=request, headers=headers, **extra
    )


def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        allow = _allowed_methods(request) or (exc.headers or {}).get("Allow", "")
        detail = f"{request.method} is not allowed on {request.url.path}; allowed: {allow}"
        return problem(
            405, detail, request=request, headers={**(exc.headers or {}), "Allow": allow}
        )
    return problem(exc.status_code, detail, request=request, headers=exc.headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves on this path (RFC 9110 15.5.6).

    Starlette's 405 names only the methods of the first route that matched the path, but a path
    such as /hazards is served by two routes (GET and POST). Each method is probed through the
    routes' public `matches`, which also sees into FastAPI's included routers."""
    routes = request.app.router.routes
    allowed = [
        method
        for method in METHODS
        if any(r.matches({**request.scope, "method": method})[0] == Match.FULL for r in routes)
    ]
    return ", ".join(allowed)


def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    malformed = [e for e in exc.errors() if e["type"] == "json_invalid"]
    if malformed:
        # The loc of a JSON decode error is ("body", <character offset>): not a field name.
        message = _json_message(malformed[0])
        errors = [{"field": "body", "message": message}]
        return problem(422, message, request=request, errors=errors)
    # Named as the client sends them: `payload.reason`, `region`, `hazard_id`, `idempotency-key`
    # (where a value came from, body, query, path or header, is not part of its name).
    errors = [
        {"field": ".".join(str(p) for p in e["loc"][1:]) or e["loc"][0], "message": e["msg"]}
        for e in exc.errors()
    ]
    names = ", ".join(e["field"] for e in errors)
    return problem(422, f"Invalid or missing fields: {names}", request=request, errors=errors)


def _json_message(error: dict[str, Any]) -> str:
    """Where and why the body is not JSON, e.g. 'Expecting value at character 30'."""
    reason = (error.get("ctx") or {}).get("error", "decode error")
    position = error["loc"][-1] if len(error["loc"]) > 1 else None
    where = f" at character {position}" if isinstance(position, int) else ""
    return f"the request body is not valid JSON: {reason}{where}"


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    # Starlette answers this outside the request-id middleware: carry the id over by hand.
    return problem(
        500,
        "an unexpected error occurred; it has been logged",
        request=request,
        headers={"X-Request-ID": rid} if (rid := request_id.current()) else None,
    )


def install(app: FastAPI) -> None:
    """Route every kind of error through a problem document."""
    app.add_exception_handler(RectifyError, _domain)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Exception, _unexpected)
