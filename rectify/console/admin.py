"""The people admin page (`/console/admin/users`, admins only): list people, create a person,
disable one, reset a password, through the same service functions as `rectify user ...`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from rectify.api.deps import ContextDep, Offset
from rectify.auth import people
from rectify.auth.models import ROLES
from rectify.auth.scope import Caller
from rectify.console.deps import CheckedForm, ConsoleCaller, require_role
from rectify.console.render import page
from rectify.exceptions import Conflict, InvalidInput, NotFound

router = APIRouter(prefix="/console/admin/users", include_in_schema=False)

PAGE_SIZE = 50
PAGE = "/console/admin/users"
NOTICES = {
    "created": "已创建人员，对方现在可以用设定的密码登录。",
    "disabled": "已停用该人员，其所有登录已结束。",
    "reset": "已重置密码，其所有登录已结束。",
}
FIELDS = ("username", "display_name", "role", "region", "enterprise_id", "certificate_no")


def _listing(
    request: Request,
    ctx: ContextDep,
    caller: Caller,
    offset: int,
    *,
    status: int = 200,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    typed: dict[str, str] | None = None,
    row_errors: dict[str, str] | None = None,
) -> Response:
    with ctx.db.session() as session:
        users, total = people.list_users(session=session, limit=PAGE_SIZE, offset=offset)
    return page(
        request,
        "admin/users.html",
        status=status,
        users=users,
        total=total,
        offset=offset,
        page_size=PAGE_SIZE,
        now=ctx.now(),
        roles=ROLES,
        notice=NOTICES.get(notice or ""),
        errors=errors or {},
        typed=typed or {},
        row_errors=row_errors or {},
        me=caller.principal_id,
    )


@router.get("")
def users_page(
    request: Request,
    ctx: ContextDep,
    caller: ConsoleCaller,
    offset: Offset = 0,
    notice: str | None = Query(default=None, max_length=20),
) -> Response:
    """Every person who can sign in, newest last, with the forms to manage them."""
    require_role(caller, "admin")
    return _listing(request, ctx, caller, offset, notice=notice)


@router.post("")
def create_user(
    request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm
) -> Response:
    """Create a person; a refusal comes back beside its field, with what was typed kept."""
    require_role(caller, "admin")
    typed = {name: _text(form.get(name)) for name in FIELDS}
    try:
        enterprise_id = _enterprise_id(typed["enterprise_id"])
        with ctx.db.write() as session:
            people.create_user(
                session=session,
                settings=ctx.settings,
                role=typed["role"],
                username=typed["username"],
                display_name=typed["display_name"],
                password=_raw(form.get("password")),
                region_code=typed["region"] or None,
                enterprise_id=enterprise_id,
                certificate_no=typed["certificate_no"] or None,
                now=ctx.now(),
            )
    except InvalidInput as exc:
        errors = {e["field"]: e["message"] for e in exc.errors} or {"form": exc.detail}
        return _listing(request, ctx, caller, 0, status=422, errors=errors, typed=typed)
    return RedirectResponse(f"{PAGE}?notice=created", status_code=303)


@router.post("/{username}/disable")
def disable_user(
    username: str, request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm
) -> Response:
    """Disable a person: they cannot sign in any more, and their sessions end."""
    require_role(caller, "admin")
    try:
        with ctx.db.write() as session:
            people.disable_user(session=session, username=username, now=ctx.now(), by=caller)
    except (Conflict, NotFound) as exc:
        return _row_error(request, ctx, caller, username, exc.status, exc.detail)
    return RedirectResponse(f"{PAGE}?notice=disabled", status_code=303)


@router.post("/{username}/password")
def reset_password(
    username: str, request: Request, ctx: ContextDep, caller: ConsoleCaller, form: CheckedForm
) -> Response:
    """Give a person a new password (the lock-out is lifted; their sessions end)."""
    require_role(caller, "admin")
    try:
        with ctx.db.write() as session:
            people.reset_password(
                session=session,
                settings=ctx.settings,
                username=username,
                password=_raw(form.get("password")),
                now=ctx.now(),
            )
    except (InvalidInput, NotFound) as exc:
        message = exc.errors[0]["message"] if isinstance(exc, InvalidInput) else exc.detail
        return _row_error(request, ctx, caller, username, exc.status, message)
    return RedirectResponse(f"{PAGE}?notice=reset", status_code=303)


def _row_error(
    request: Request, ctx: ContextDep, caller: Caller, username: str, status: int, message: str
) -> Response:
    if status == 404:  # no such row to show it beside
        return _listing(request, ctx, caller, 0, status=status, errors={"form": message})
    row_errors = {people.normalise_username(username): message}
    return _listing(request, ctx, caller, 0, status=status, row_errors=row_errors)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _raw(value: Any) -> str:
    # A password is taken as typed: the rule refuses leading or trailing spaces, never trims.
    return value if isinstance(value, str) else ""


def _enterprise_id(value: str) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise InvalidInput(
            "enterprise_id", errors=[{"field": "enterprise_id", "message": "企业编号必须是数字"}]
        )
    return int(value)
