"""Signing in and out: `/` → `/console/`, `/console/login`, `POST /console/logout` (the
landing page `/console/` is rectify.console.worklists).

The sign-in form is protected by a double-submit token (a cookie and a hidden field carrying the
same random value, before any session exists); every other form by the session's own token.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from rectify.api.deps import ContextDep
from rectify.api.gate import LOGIN, SESSION_TOKEN
from rectify.auth import csrf, people, sessions
from rectify.console.deps import CheckedForm, ConsoleCaller
from rectify.console.render import page
from rectify.exceptions import SignInRefused

router = APIRouter(include_in_schema=False)

HOME = "/console/"
# Where a sign-in may send the browser next: a console path, never another site ("//evil").
_SAFE_NEXT = re.compile(r"/console(/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*)?")


def safe_next(value: str | None) -> str:
    """The page to return to after signing in: a console path, else the landing page."""
    if value and _SAFE_NEXT.fullmatch(value) and "//" not in value and "\\" not in value:
        return value
    return HOME


@router.get("/")
def root() -> RedirectResponse:
    """The site's front door leads to the console."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/console")
def console_root() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


# `/console/` itself, each role's landing page, is rectify.console.worklists.home.


# -- sign-in ----------------------------------------------------------------------------------


def _login_page(
    request: Request,
    ctx: ContextDep,
    *,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    next_page: str = HOME,
    headers: dict[str, str] | None = None,
) -> Response:
    token = request.cookies.get(csrf.LOGIN_COOKIE) or csrf.new_login_token()
    response = page(
        request,
        "login.html",
        status=status,
        headers=headers,
        csrf_token=token,
        error=error,
        username=username,
        next_page=next_page,
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        path=LOGIN,
        httponly=True,
        samesite="strict",
        secure=ctx.settings.https,
    )
    return response


@router.get(LOGIN)
def login_form(request: Request, ctx: ContextDep, next: str | None = None) -> Response:
    """The sign-in form (fields `username` and `password`)."""
    return _login_page(request, ctx, next_page=safe_next(next))


@router.post(LOGIN)
def login(
    request: Request,
    ctx: ContextDep,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Sign in: a session cookie and a redirect, or the form again with the reason in Chinese."""
    next_page = safe_next(next)
    typed = username[:200]
    if not csrf.matches(request.cookies.get(csrf.LOGIN_COOKIE), csrf_token):
        message = "页面已过期，请重新输入密码后登录。"
        return _login_page(request, ctx, status=403, error=message, username=typed)
    if not username.strip() or not password:
        message = "请输入用户名和密码。"
        return _login_page(request, ctx, status=422, error=message, username=typed)
    try:
        signed_in = people.sign_in(ctx=ctx, username=username[:200], password=password[:1024])
    except SignInRefused as exc:
        status, headers = 401, None
        if exc.retry_after is not None:
            status, headers = 429, {"Retry-After": str(exc.retry_after)}
        return _login_page(
            request,
            ctx,
            status=status,
            error=exc.detail,
            username=typed,
            next_page=next_page,
            headers=headers,
        )
    response = RedirectResponse(next_page, status_code=303)
    response.set_cookie(
        sessions.cookie_name(ctx.settings.https),
        signed_in.session_token,
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.https,
    )
    response.delete_cookie(csrf.LOGIN_COOKIE, path=LOGIN)
    return response


@router.post("/console/logout")
def logout(request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm) -> Response:
    """Sign out: the session is deleted and its cookie cleared."""
    token = request.scope["state"][SESSION_TOKEN]
    with ctx.db.write() as session:
        sessions.end(session=session, token=token)
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(
        sessions.cookie_name(ctx.settings.https),
        path="/",
        httponly=True,
        samesite="lax",
        secure=ctx.settings.https,
    )
    return response
