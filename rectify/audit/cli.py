"""`rectify audit ...` and `rectify replay`: the auditor's commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Verify chains and checkpoints, export histories.", no_args_is_help=True)
