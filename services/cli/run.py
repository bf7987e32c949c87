"""``drx run``: one worker in the foreground, as a container runs it (deploy/)."""

from __future__ import annotations

import asyncio
import importlib
from typing import Annotated

import typer

from services.cli import common
from services.cli.common import err

__all__ = ["run_command"]

# By module name: a worker (and all it imports) is loaded only when it is the one asked for.
_WORKERS = {
    "ingest": "services.ingest.app",
    "matching": "services.matching.app",
    "notify": "services.notify.app",
}


def run_command(service: Annotated[str, typer.Argument(help="ingest, matching or notify")]) -> None:
    """Run one worker in the foreground until SIGTERM or Ctrl-C."""
    if service not in _WORKERS:
        err.print(f"[red]unknown service {service!r}; choose one of {', '.join(_WORKERS)}[/red]")
        raise typer.Exit(2)
    settings = common.settings()
    module = importlib.import_module(_WORKERS[service])
    asyncio.run(module.create_app(settings).run())
