"""The `rectify` command: serve the API and timers, create tokens."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from rectify.audit.cli import app as audit_app
from rectify.audit.cli import replay_command
from rectify.calendar.cli import app as calendar_app
from rectify.config import Settings

app = typer.Typer(
    help="rectify: supervised rectification of workplace-safety hazards.", no_args_is_help=True
)
token_app = typer.Typer(help="Bearer tokens for principals.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(calendar_app, name="calendar")
app.command("replay")(replay_command)


def prepare(settings: Settings):  # noqa: ANN201  (returns a Context; import kept lazy)
    """Migrate the database and load definitions: what every command needs first."""
    from rectify.audit import versions
    from rectify.calendar import service as calendar
    from rectify.context import build_context
    from rectify.database.migrate import upgrade
    from rectify.exceptions import ConfigurationError

    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        upgrade(settings.db_url)
        ctx = build_context(settings)
        with ctx.db.write() as session:
            versions.record(session=session, registry=ctx.registry, now=ctx.now())
        calendar.catch_up(ctx=ctx)  # recount what years stored at start-up (or before) change
        warning = ctx.policy.check_horizon(ctx.now())
        if warning:  # a year without holiday data is counted provisionally: not a reason to stop
            logging.getLogger("rectify.calendar").warning(warning)
    except ConfigurationError as exc:
        typer.echo(f"rectify cannot start: {exc.detail}", err=True)
        raise typer.Exit(1) from None
    return ctx


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
    region: Annotated[str | None, typer.Option(help="6-digit region code (scope).")] = None,
    enterprise_id: Annotated[int | None, typer.Option(help="For the enterprise role.")] = None,
) -> None:
    """Create a principal and print its token as the last line (it is stored only hashed)."""
    from rectify.auth import service as auth
    from rectify.exceptions import RectifyError

    ctx = prepare(Settings())
    try:
        with ctx.db.write() as session:
            principal, token = auth.create_token(
                session=session,
                role=role,
                name=name,
                region_code=region,
                enterprise_id=enterprise_id,
            )
    except RectifyError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"created {principal.role} {principal.name!r} (principal {principal.id})")
    typer.echo(token)


if __name__ == "__main__":
    app()
