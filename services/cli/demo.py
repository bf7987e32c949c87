"""``drx demo``: every service on the embedded default stack, a scenario replayed, a summary.

The work is :mod:`services.demo`'s; this command loads the scenario, sends the workers' logs to a
file (they would drown the live line) and turns the outcome into an exit code. docs/demo.md.
"""

# ruff: noqa: PLC0415 - the demo (workers, broker, PostgreSQL) is imported only when it runs

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from services.cli.common import console, err

__all__ = ["demo_command"]


def demo_command(
    scenario: Annotated[
        Path | None,
        typer.Option(help="A scenario file (docs/demo.md); default: the packaged earthquake scenario"),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option("--keep-running", help="Leave the stack up for the other drx commands, until Ctrl-C"),
    ] = False,
    log_file: Annotated[
        Path | None, typer.Option(help="Where the workers log (JSON lines); default: a temporary file")
    ] = None,
) -> None:
    """Run every service on the embedded default (no Java, no Docker), replay a scenario, summarise."""
    from services.demo.runner import DemoInterrupted, run_demo
    from services.demo.scenario import ScenarioError, load_scenario
    from shared.logging import configure_logging

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    log_path = log_file or Path(tempfile.mkstemp(prefix="drx-demo-", suffix=".log")[1])
    with log_path.open("a", encoding="utf-8") as log:
        configure_logging("INFO", "json", stream=log)
        console.print(f"worker logs: {log_path}", soft_wrap=True)
        try:
            # Off a terminal (CI, a pipe) rich would wrap the tables at 80 columns.
            wide = console if console.is_terminal else Console(width=150)
            code = run_demo(loaded, wide, keep_running=keep_running)
        except ScenarioError as error:
            err.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        except DemoInterrupted:
            console.print("stopped")
            raise typer.Exit(130) from None
    raise typer.Exit(code)
