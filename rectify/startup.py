"""What every `rectify` command does first: migrate the database, build the process context,
record the workflow versions and recount what stored holiday years change. The commands
(`cli.py`, `audit/cli.py`, `calendar/cli.py`) import it from here, so none imports another."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rectify.config import Settings
    from rectify.context import Context

__all__ = ["prepare"]


def prepare(settings: Settings) -> Context:
    """Migrate the database and load definitions; a configuration error ends the command
    (exit status 1) with its reason on stderr."""
    # Imported here, not above: `rectify --help` and typer's dispatch need none of the
    # database, workflow and calendar modules, which take seconds to import on a busy machine.
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
