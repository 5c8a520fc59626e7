"""`rectify audit ...` and `rectify replay`: the auditor's commands (JSON on stdout)."""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(help="Verify chains and checkpoints, export histories.", no_args_is_help=True)


def _context() -> Any:
    from rectify.config import Settings
    from rectify.startup import prepare

    return prepare(Settings())


def _caller(role: str) -> Any:
    from rectify.auth.scope import Caller

    return Caller(role=role, name=f"cli-{getpass.getuser()}")


def _echo(doc: Any) -> None:
    typer.echo(json.dumps(doc, ensure_ascii=False, indent=2, default=str))


def _instant(value: str | None, option: str) -> datetime | None:
    from rectify.inputs import parse_instant

    if value is None:
        return None
    try:
        return parse_instant(value)
    except ValueError as exc:
        typer.echo(f"error: {option} {value!r} {exc}", err=True)
        raise typer.Exit(2) from None


def _fail(exc: Any) -> typer.Exit:
    fields = [f"{e['field']}: {e['message']}" for e in getattr(exc, "errors", [])]
    typer.echo(f"error: {'; '.join(fields) or exc.detail}", err=True)
    return typer.Exit(2)


@app.command("verify")
def verify_command(
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Verify an export file (JSON Lines or CSV, with its trailer)."),
    ] = None,
) -> None:
    """Recompute every chain (and check every checkpoint); exit 1 when anything is broken."""
    from rectify.audit import offline, verify

    if file is not None:
        if not file.is_file():
            typer.echo(f"error: no file {file}", err=True)
            raise typer.Exit(2)
        result = offline.verify_file(path=file)
    else:
        result = verify.verify(ctx=_context())
    _echo(result)
    raise typer.Exit(0 if result["ok"] else 1)


@app.command("checkpoint")
def checkpoint_command() -> None:
    """Write a checkpoint now and print its line (publish it somewhere the database is not)."""
    from rectify.audit.checkpoints import write_checkpoint

    row = write_checkpoint(ctx=_context(), actor=f"cli:{getpass.getuser()}")
    typer.echo(row.line)


@app.command("check-line")
def check_line_command(
    line: Annotated[str, typer.Argument(help="A published `rectify-checkpoint v1 ...` line.")],
) -> None:
    """Check a published checkpoint line against the database; exit 1 when it does not hold."""
    from rectify.audit.verify import check_line
    from rectify.exceptions import RectifyError

    try:
        result = check_line(ctx=_context(), line=line)
    except RectifyError as exc:
        raise _fail(exc) from None
    _echo(result)
    raise typer.Exit(0 if result["ok"] else 1)


@app.command("export")
def export_command(
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    start: Annotated[str | None, typer.Option("--from", help="ISO 8601, inclusive.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="ISO 8601, exclusive.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
) -> None:
    """Export every event (or those between --from and --to) with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from rectify.audit import export
    from rectify.exceptions import RectifyError

    ctx, caller = _context(), _caller("admin")
    begin, finish = _instant(start, "--from"), _instant(end, "--to")
    try:
        export.check(fmt=fmt, start=begin, end=finish)
    except RectifyError as exc:
        raise _fail(exc) from None
    total = export.count(ctx=ctx, caller=caller, start=begin, end=finish)
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    written = 0
    with out.open("w", encoding="utf-8", newline="") as sink, Progress(*columns) as progress:
        task = progress.add_task(f"exporting to {out}", total=total)

        def advance(done: int) -> None:
            nonlocal written
            written = done
            progress.update(task, completed=done)

        for piece in export.pieces(
            ctx=ctx, caller=caller, fmt=fmt, start=begin, end=finish, progress=advance
        ):
            sink.write(piece)
    typer.echo(f"wrote {written} events and the trailer to {out}")


def replay_command(
    hazard_id: Annotated[int, typer.Argument(help="The hazard to replay.")],
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 instant; default now.")] = None,
) -> None:
    """Rebuild a hazard from its events through its pinned workflow; exit 1 on divergences."""
    from rectify.audit.replay import replay
    from rectify.exceptions import RectifyError

    ctx = _context()
    try:
        result = replay(
            ctx=ctx, caller=_caller("auditor"), hazard_id=hazard_id, at=_instant(at, "--at")
        )
    except RectifyError as exc:
        raise _fail(exc) from None
    _echo(result)
    raise typer.Exit(0 if result["consistent"] else 1)
