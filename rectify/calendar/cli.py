"""`rectify calendar ...`: load a year's holiday notice, list the years known."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    help="Holiday data (法定节假日, 调休): one file per year, from the State Council's notice.",
    no_args_is_help=True,
)


def _context() -> Any:
    from rectify.config import Settings
    from rectify.startup import prepare

    return prepare(Settings())


@app.command("load")
def load_command(
    file: Annotated[Path, typer.Argument(help="A year file, e.g. config/calendar/2027.toml.")],
) -> None:
    """Check a year file and store it, so that every process counts with it (no restart);
    pending deadlines counted over that year are recounted. Exit 2 when the file is refused."""
    from rectify.calendar import service
    from rectify.calendar.data import read_year_file
    from rectify.exceptions import RectifyError

    try:
        data = read_year_file(file)  # checked before the database is touched
    except RectifyError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    ctx = _context()
    try:
        result = service.load(
            ctx=ctx, data=data, source=file.name, actor=f"cli:{getpass.getuser()}"
        )
    except RectifyError as exc:
        typer.echo(f"error: {exc.detail}", err=True)
        raise typer.Exit(2) from None
    notice = data.notice
    typer.echo(
        f"{result['status']} {data.year} (revision {data.revision}): {notice.title} "
        f"{notice.document_no}, {notice.published.isoformat()}"
    )
    typer.echo(
        f"recounted {result['timers']} timers of {result['hazards']} hazards; "
        f"deadlines moved on {len(result['deadlines_moved'])} hazards"
    )


@app.command("list")
def list_command(
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of lines.")] = False,
) -> None:
    """The years with holiday data and their notices; other years are provisional."""
    from rectify.calendar import service

    years = service.list_years(ctx=_context())
    if as_json:
        typer.echo(json.dumps(years, ensure_ascii=False, indent=2))
        return
    for y in years:
        n = y["notice"]
        note = f"  {n['note']}" if n.get("note") else ""
        typer.echo(
            f"{y['year']}  r{y['revision']}  {n['title']}  {n['document_no']}  "
            f"{n['published']}  {y['days_off']} days off, {y['working_days']} working days  "
            f"(loaded {y['loaded_at'][:19]} by {y['loaded_by']} from {y['source']}){note}"
        )
    typer.echo(
        "Any other year is counted with the provisional calendar (weekends and the statutory "
        "holidays, no 调休) and its deadlines are marked provisional."
    )
