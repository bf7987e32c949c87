"""``drx sources``: the source registry, who may post what (``shared/sources.py`` keeps it)."""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick
# ruff: noqa: PLR0917 - typer commands take their arguments and options positionally

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from services.cli import common
from services.cli.common import console, err

__all__ = ["sources_app"]

sources_app = typer.Typer(no_args_is_help=True, help="Who may post what: the source registry.")

T = TypeVar("T")
_SOURCE = Annotated[str, typer.Argument(help="The CloudEvents source, e.g. urn:drx:org:trc-gaziantep")]


@sources_app.command("add")
def sources_add_command(
    source: _SOURCE,
    role: Annotated[str, typer.Option(help="organisation, donor or coordinator")],
    party: Annotated[str, typer.Option(help="The organisation or donor id this source posts for")],
    name: Annotated[str, typer.Option(help="Display name")],
    crisis: Annotated[list[str] | None, typer.Option(help="A coordinator's crisis id (repeatable)")] = None,
    country: Annotated[
        list[str] | None, typer.Option(help="A coordinator's ISO 3166-1 alpha-3 country (repeatable)")
    ] = None,
    everything: Annotated[
        bool, typer.Option("--all", help="A global coordinator: every crisis and country")
    ] = False,
) -> None:
    """Register (or re-register) a source and what it may do; a coordinator within its scope."""
    from shared.scope import Scope
    from shared.sources import add_source

    given = bool(crisis or country or everything)
    scope = Scope.of(crisis or (), country or (), everything=everything) if given else None
    _registry(lambda: add_source(common.settings().database, source, role, party, name, scope=scope))
    console.print(f"{source} registered as {role} for {party}")


@sources_app.command("scope")
def sources_scope_command(
    source: _SOURCE,
    add_crisis: Annotated[list[str] | None, typer.Option(help="Assign a crisis id (repeatable)")] = None,
    remove_crisis: Annotated[list[str] | None, typer.Option(help="Take a crisis id away")] = None,
    add_country: Annotated[
        list[str] | None, typer.Option(help="Assign an ISO 3166-1 alpha-3 country")
    ] = None,
    remove_country: Annotated[list[str] | None, typer.Option(help="Take a country away")] = None,
    everything: Annotated[
        bool | None, typer.Option("--all/--no-all", help="Grant or take away every crisis and country")
    ] = None,
) -> None:
    """Change the crises and countries a coordinator may act in (audited)."""
    from shared.sources import ScopeChange, change_scope

    change = ScopeChange(
        tuple(add_crisis or ()),
        tuple(remove_crisis or ()),
        tuple(add_country or ()),
        tuple(remove_country or ()),
        everything,
    )
    scope = _registry(lambda: change_scope(common.settings().database, source, change))
    said = f"{source} may act within {scope.describe()}" if scope else f"{source}'s scope is unchanged"
    console.print(said, markup=False)  # a scope's [..] is no markup


@sources_app.command("list")
def sources_list_command() -> None:
    """List registered sources with coordinators' scopes, revoked ones with when and why."""
    from shared.sources import list_sources

    table = Table("source", "role", "party", "name", "scope", "status")
    for row in asyncio.run(list_sources(common.settings().database)):
        status = "active"
        if row.revoked_at is not None:
            status = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}Z" + (
                f": {row.revoked_reason}" if row.revoked_reason else ""
            )
        scope = escape(row.scope.describe()) if row.role == "coordinator" else ""  # [..] is no markup
        table.add_row(row.source, row.role, row.party_id, row.display_name, scope, status)
    console.print(table)


@sources_app.command("revoke")
def sources_revoke_command(
    source: _SOURCE,
    reason: Annotated[str | None, typer.Option(help="Why (given in every refusal of its events)")] = None,
) -> None:
    """Revoke a source: ingest and notify refuse everything it sends until it is enabled again."""
    from shared.sources import revoke_source

    changed = _registry(lambda: revoke_source(common.settings().database, source, reason))
    console.print(f"{source} revoked" if changed else f"{source} was revoked already")


@sources_app.command("enable")
def sources_enable_command(source: _SOURCE) -> None:
    """Enable a revoked source again."""
    from shared.sources import enable_source

    changed = _registry(lambda: enable_source(common.settings().database, source))
    console.print(f"{source} enabled" if changed else f"{source} was not revoked")


@sources_app.command("remove")
def sources_remove_command(source: _SOURCE) -> None:
    """Forget a source (prefer revoke: a removed source's past events name nobody)."""
    from shared.sources import remove_source

    _registry(lambda: remove_source(common.settings().database, source))
    console.print(f"{source} removed")


def _registry(change: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run one change to the registry; a refusal (unknown source, bad value) is exit 2 with its reason."""
    try:
        return asyncio.run(change())
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
