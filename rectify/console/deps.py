"""What console views depend on: the signed-in caller (`ConsoleCaller`), a role check, and the
CSRF check of a POSTed form (`CheckedForm`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from rectify.api.gate import CALLER, CSRF_TOKEN
from rectify.auth import csrf
from rectify.auth.scope import Caller
from rectify.console.errors import PageError

__all__ = ["CheckedForm", "ConsoleCaller", "check_csrf", "console_caller", "require_role"]


async def console_caller(request: Request) -> Caller:
    """The person signed in (the authentication middleware resolved the session cookie)."""
    caller = request.scope.get("state", {}).get(CALLER)
    if caller is None:
        raise PageError(401, "请先登录。")
    return caller


ConsoleCaller = Annotated[Caller, Depends(console_caller)]
"""The signed-in person of a console page: the same Caller (role, scope) as their API token
would be, so service functions apply the same scopes (404 outside them) and roles."""


def require_role(caller: Caller, *roles: str) -> None:
    """A 403 page unless the caller has one of the roles."""
    if caller.role not in roles:
        raise PageError(403, "您的角色无权使用此页面。")


def check_csrf(request: Request, given: str | None) -> None:
    """A 403 page unless `given` is the session's CSRF token (or the X-CSRF-Token header is)."""
    expected = request.scope.get("state", {}).get(CSRF_TOKEN)
    given = given or request.headers.get(csrf.HEADER)
    if not csrf.matches(expected, given):
        raise PageError(403, "表单已失效或来源不明，未做任何更改。请刷新页面后重试。")


async def checked_form(request: Request) -> FormData:
    """The POSTed form, once its CSRF token has been checked (nothing is done otherwise)."""
    form = await request.form()
    value = form.get(csrf.FIELD)
    check_csrf(request, value if isinstance(value, str) else None)
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
"""A console form whose CSRF token matched; declare it on every POST view. For urlencoded forms:
an upload form (multipart, streamed) sends the token in the X-CSRF-Token header, or its view
calls `check_csrf` with the field before reading the file."""
