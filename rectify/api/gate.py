"""Authentication before any body is read: a pure ASGI middleware that resolves the caller from
the request's headers alone and turns strangers away without touching their body.

`/api/*` needs `Authorization: Bearer <token>` (an unknown path there is a 401 to a stranger,
a 404 to a caller), `/console/*` the session cookie; other paths are the router's. The caller
is stored in `scope["state"]["caller"]` (so `request.state.caller`), a console session's CSRF
token in `scope["state"]["csrf_token"]`.
Strangers get a 401 problem document (API), a redirect to /console/login (console GET) or a 401
page (any other console method). The lookup is made in the database on every request, so a
revoked or expired principal is refused at once in every process.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote

import anyio.to_thread
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from rectify.api.problems import problem
from rectify.auth import service as auth
from rectify.auth import sessions
from rectify.auth.scope import Caller
from rectify.context import Context
from rectify.exceptions import Unauthenticated

__all__ = ["CALLER", "CSRF_TOKEN", "LOGIN", "SESSION_TOKEN", "AuthGate", "is_public"]

CALLER = "caller"
"""scope["state"] key of the authenticated Caller."""
CSRF_TOKEN = "csrf_token"
"""scope["state"] key of the console session's CSRF token."""
SESSION_TOKEN = "session_token"
"""scope["state"] key of the console session's cookie value (for sign-out)."""
LOGIN = "/console/login"
API = "/api/"

PUBLIC = frozenset(
    {"/", "/healthz", "/metrics", "/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}
    | {LOGIN}
)
PUBLIC_PREFIXES = ("/console/static/",)


def is_public(path: str) -> bool:
    """Paths anyone may open: health, metrics, the API documents, sign-in and static files."""
    return path in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def is_console(path: str) -> bool:
    return path == "/console" or path.startswith("/console/")


class AuthGate:
    """Resolve the caller from headers; refuse strangers before the application reads a byte."""

    def __init__(
        self, app: ASGIApp, *, ctx: Context, console_refusal: Callable[[Request], Response]
    ) -> None:
        self.app = app
        self.ctx = ctx
        self.console_refusal = console_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        if is_console(scope["path"]):
            refusal = await self._console(scope, state)
        elif scope["path"].startswith(API):
            refusal = await self._api(scope, state)
        else:  # no route of ours: the router answers 404 (and `CurrentCaller` fails closed)
            refusal = None
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _api(self, scope: Scope, state: dict) -> Response | None:
        token = _bearer(Headers(scope=scope).get("authorization"))
        try:
            state[CALLER] = await anyio.to_thread.run_sync(self._token_caller, token)
        except Unauthenticated as exc:
            headers = {"WWW-Authenticate": "Bearer"}
            return problem(401, exc.detail, request=Request(scope), headers=headers)
        return None

    async def _console(self, scope: Scope, state: dict) -> Response | None:
        token = _cookie(scope, sessions.cookie_name(self.ctx.settings.https))
        found = await anyio.to_thread.run_sync(self._session_caller, token) if token else None
        if found is not None:
            state[CALLER], state[CSRF_TOKEN], state[SESSION_TOKEN] = found
            return None
        request = Request(scope)
        if scope["method"] in ("GET", "HEAD"):
            target = scope["path"] + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{LOGIN}?next={quote(target, safe='/')}", status_code=303)
        return self.console_refusal(request)

    # -- in a worker thread: the database ------------------------------------------------------

    def _token_caller(self, token: str | None) -> Caller:
        now = self.ctx.now()
        with self.ctx.db.engine.connect() as connection:  # one read, no ORM session
            resolved = auth.resolve_token(session=connection, token=token, now=now)
        self._touch(resolved, now)
        return resolved.caller

    def _touch(self, resolved: auth.Resolved, now: datetime) -> None:
        if resolved.caller.principal_id and auth.due_for_touch(resolved.last_used_at, now):
            with self.ctx.db.write() as session:
                auth.touch(session=session, principal_id=resolved.caller.principal_id, now=now)

    def _session_caller(self, token: str) -> tuple[Caller, str, str] | None:
        now = self.ctx.now()
        idle = sessions.idle_limit(self.ctx.settings)
        with self.ctx.db.session() as session:
            found = sessions.resolve(session=session, token=token, now=now, idle=idle)
        if found is None:
            return None
        if sessions.due_for_touch(found.last_seen_at, now):
            with self.ctx.db.write() as session:
                sessions.touch(session=session, session_id=found.session_id, now=now)
        return found.caller, sessions.csrf_token(token), token


def _bearer(value: str | None) -> str | None:
    if value and value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


def _cookie(scope: Scope, name: str) -> str | None:
    return Request(scope).cookies.get(name) or None
