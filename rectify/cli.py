"""The `rectify` command: serve the API and timers, manage tokens and people."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Annotated

import typer

from rectify.audit.cli import app as audit_app
from rectify.audit.cli import replay_command
from rectify.calendar.cli import app as calendar_app
from rectify.config import Settings
from rectify.startup import prepare

REGION_HELP = "Region code (scope): 6 digits, or 9 for a township or street."

app = typer.Typer(
    help="rectify: supervised rectification of workplace-safety hazards.", no_args_is_help=True
)
token_app = typer.Typer(help="Bearer tokens for principals.", no_args_is_help=True)
app.add_typer(token_app, name="token")
user_app = typer.Typer(help="People who sign in to the console.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
app.add_typer(calendar_app, name="calendar")
app.command("replay")(replay_command)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
) -> None:
    """Migrate the database, then serve the API (and the timers)."""
    import uvicorn

    from rectify.api.app import create_app
    from rectify.demo import load_demo_if_empty
    from rectify.observability.logging import configure_logging, log_config

    configure_logging()  # JSON lines from the first one on (the migrations' too)
    settings = Settings()
    ctx = prepare(settings)
    if settings.demo:
        load_demo_if_empty(ctx)
    uvicorn.run(
        create_app(ctx),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        log_config=log_config(),
    )


@token_app.command("create")
def token_create(
    role: Annotated[str, typer.Option(help="dispatcher, inspector, enterprise, auditor, admin")],
    name: Annotated[str, typer.Option(help="Who the token is for.")],
    region: Annotated[str | None, typer.Option(help=REGION_HELP)] = None,
    enterprise_id: Annotated[int | None, typer.Option(help="For the enterprise role.")] = None,
    expires: Annotated[
        str | None, typer.Option(help="Lifetime as an ISO 8601 duration: P30D, PT12H.")
    ] = None,
    certificate_no: Annotated[str | None, typer.Option(help="执法证号 (inspectors).")] = None,
) -> None:
    """Create a principal and print its token as the last line (it is stored only hashed)."""
    from rectify.auth import service as auth

    ctx = prepare(Settings())
    with _refusals():
        lifetime = auth.parse_expires(expires) if expires else None
        with ctx.db.write() as session:
            principal, token = auth.create_token(
                session=session,
                role=role,
                name=name,
                region_code=region,
                enterprise_id=enterprise_id,
                certificate_no=certificate_no,
                expires_in=lifetime,
                now=ctx.now(),
            )
    until = f", expires {_when(principal.expires_at)}" if principal.expires_at else ""
    typer.echo(f"created {principal.role} {principal.name!r} (principal {principal.id}{until})")
    typer.echo(token)


@token_app.command("list")
def token_list(
    limit: Annotated[int, typer.Option(min=1, max=10000, help="At most this many rows.")] = 1000,
) -> None:
    """Every principal (tokens and people) as a table; never a token or password hash."""
    from rich.console import Console
    from rich.table import Table

    from rectify.auth import service as auth

    ctx = prepare(Settings())
    with ctx.db.session() as session:
        rows, total = auth.list_principals(session=session, limit=limit, offset=0)
    now = ctx.now()
    table = Table(title=f"rectify 主体（共 {total} 个）", show_lines=False)
    for header in ("编号", "类型", "角色", "名称", "范围", "创建", "到期", "最近使用", "已撤销"):
        table.add_column(header, no_wrap=header in ("编号", "创建", "到期", "最近使用", "已撤销"))
    for p in rows:
        expired = p.expires_at is not None and p.expires_at <= now
        table.add_row(
            str(p.id),
            "令牌" if p.kind == "token" else f"人员 {p.username}",
            p.role,
            p.display_name,
            _scope(p.region_code, p.enterprise_id),
            _when(p.created_at),
            _when(p.expires_at) + ("（已过期）" if expired else ""),
            _when(p.last_used_at),
            _when(p.revoked_at) if p.revoked_at else "",
        )
    Console(width=200 if not sys.stdout.isatty() else None).print(table)


@token_app.command("revoke")
def token_revoke(principal_id: Annotated[int, typer.Argument(help="The principal's id.")]) -> None:
    """Revoke a token (or disable a person): refused at once, in every process."""
    from rectify.auth import service as auth

    ctx = prepare(Settings())
    with _refusals(), ctx.db.write() as session:
        principal = auth.revoke(session=session, principal_id=principal_id, now=ctx.now())
    typer.echo(f"revoked {principal.role} {principal.name!r} (principal {principal.id})")


@user_app.command("create")
def user_create(
    role: Annotated[str, typer.Option(help="dispatcher, inspector, enterprise, auditor, admin")],
    username: Annotated[str, typer.Option(help="What the person types to sign in.")],
    display_name: Annotated[str, typer.Option(help="The person's name, as pages show it.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    region: Annotated[str | None, typer.Option(help=REGION_HELP)] = None,
    enterprise_id: Annotated[int | None, typer.Option(help="For the enterprise role.")] = None,
    certificate_no: Annotated[str | None, typer.Option(help="执法证号 (inspectors).")] = None,
) -> None:
    """Create a person who signs in at /console/login (the password comes from stdin)."""
    from rectify.auth import people

    password = _password_from_stdin(password_stdin)
    ctx = prepare(Settings())
    with _refusals(), ctx.db.write() as session:
        principal = people.create_user(
            session=session,
            settings=ctx.settings,
            role=role,
            username=username,
            display_name=display_name,
            password=password,
            region_code=region,
            enterprise_id=enterprise_id,
            certificate_no=certificate_no,
            now=ctx.now(),
        )
    typer.echo(
        f"created {principal.role} {principal.display_name!r} "
        f"(username {principal.username}, principal {principal.id})"
    )


@user_app.command("disable")
def user_disable(username: Annotated[str, typer.Argument(help="The person's username.")]) -> None:
    """Disable a person: they cannot sign in any more, and their sessions end."""
    from rectify.auth import people

    ctx = prepare(Settings())
    with _refusals(), ctx.db.write() as session:
        principal = people.disable_user(session=session, username=username, now=ctx.now())
    typer.echo(f"disabled {principal.username} (principal {principal.id})")


@user_app.command("reset-password")
def user_reset_password(
    username: Annotated[str, typer.Argument(help="The person's username.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from standard input.")
    ] = False,
) -> None:
    """Set a new password (read from stdin); the lock-out is lifted and their sessions end."""
    from rectify.auth import people

    password = _password_from_stdin(password_stdin)
    ctx = prepare(Settings())
    with _refusals(), ctx.db.write() as session:
        principal = people.reset_password(
            session=session,
            settings=ctx.settings,
            username=username,
            password=password,
            now=ctx.now(),
        )
    typer.echo(f"password reset for {principal.username} (principal {principal.id})")


def _password_from_stdin(given: bool) -> str:
    """The first line of standard input (without its line ending): never an argument, which
    would sit in the shell history and in `ps`."""
    if not given:
        typer.echo(
            "error: pass --password-stdin and give the password on standard input, e.g.\n"
            "  printf '%s' \"$PASSWORD\" | rectify user create ... --password-stdin",
            err=True,
        )
        raise typer.Exit(2)
    return sys.stdin.readline().removesuffix("\n").removesuffix("\r")


@contextmanager
def _refusals() -> Iterator[None]:
    """A domain error becomes `error: ...` on stderr and exit status 2."""
    from rectify.exceptions import InvalidInput, RectifyError

    try:
        yield
    except RectifyError as exc:
        errors = exc.errors if isinstance(exc, InvalidInput) else []
        lines = [f"{e['field']}: {e['message']}" for e in errors] or [exc.detail]
        for line in lines:
            typer.echo(f"error: {line}", err=True)
        raise typer.Exit(2) from None


def _when(moment: datetime | None) -> str:
    """A time in China time (UTC+8), to the minute; empty when unset."""
    if moment is None:
        return ""
    return moment.astimezone(timezone(timedelta(hours=8))).strftime("%Y-%m-%d %H:%M")


def _scope(region_code: str | None, enterprise_id: int | None) -> str:
    if enterprise_id is not None:
        return f"企业 #{enterprise_id}"
    return region_code or "全国"


if __name__ == "__main__":
    app()
