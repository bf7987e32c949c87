"""``drx sources``: the source registry, who may post what (``shared/sources.py`` keeps it)."""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
from rich.table import Table

from services.cli import common
from services.cli.common import console, err

__all__ = ["sources_app"]

sources_app = typer.Typer(no_args_is_help=True, help="Who may post what: the source registry.")


@sources_app.command("add")
def sources_add_command(
    source: Annotated[str, typer.Argument(help="The CloudEvents source, e.g. urn:drx:org:trc-gaziantep")],
    role: Annotated[str, typer.Option(help="organisation, donor or coordinator")],
    party: Annotated[str, typer.Option(help="The organisation or donor id this source posts for")],
    name: Annotated[str, typer.Option(help="Display name")],
) -> None:
    """Register (or re-register) a source and what it may do."""
    from shared.sources import add_source

    try:
        asyncio.run(add_source(common.settings().database, source, role, party, name))
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{source} registered as {role} for {party}")


@sources_app.command("list")
def sources_list_command() -> None:
    """List registered sources."""
    from shared.sources import list_sources

    table = Table("source", "role", "party", "name")
    for row in asyncio.run(list_sources(common.settings().database)):
        table.add_row(*row)
    console.print(table)
