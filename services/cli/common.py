"""What every ``drx`` command group shares: the consoles, the settings, a database session.

Commands call :func:`settings` through this module (``common.settings()``), never by a name
imported from it, so one stand-in replaces it for every command: the deployment tests
(tests/unit/deploy) use that to check a command parses without connecting to anything.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from shared.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "FormatOption",
    "audit_actor",
    "console",
    "err",
    "listing",
    "one_of",
    "settings",
    "with_session",
]

T = TypeVar("T")

console = Console()
err = Console(stderr=True)


def settings() -> Settings:
    """The ``DRX_*`` settings, or exit 2 with what is wrong with them."""
    try:
        return load_settings()
    except SettingsError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


async def with_session(config: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run ``work`` in one session on an engine that lives only as long as the command."""
    from shared.db.session import create_engine, create_session_factory  # noqa: PLC0415 - keeps --help quick

    engine = create_engine(config.database)
    try:
        async with create_session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def one_of(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """A filter with a typo would list nothing and look like "none": refuse it instead."""
    if value is not None and value not in allowed:
        msg = f"{value!r} is not one of {', '.join(allowed)}"
        raise typer.BadParameter(msg, param_hint=option)


def audit_actor(given: str | None) -> str:
    """Who did it, for the audit trail: ``--actor`` or the login name."""
    return given or f"cli:{getpass.getuser()}"


FormatOption = Annotated[
    str, typer.Option("--format", help="table for people, json for scripts (one array of objects)")
]


def _plain(value: object) -> object:
    """JSON for a listing's cell: decimals as exact strings (a float would round a quantity)."""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def listing(
    fmt: str, rows: Iterable[Mapping[str, object]], *, columns: Sequence[str], ids: Sequence[str] = ()
) -> None:
    """Print ``rows`` as a table or as JSON, with every column whole.

    Ids are what people copy into the next command, so their columns never wrap or shorten:
    each is as wide as its longest id, and the free text columns give way instead (rich would
    otherwise cut an id to "m-3f2…" on a narrow terminal; one wider than the terminal runs past
    its edge whole).
    """
    one_of("--format", fmt, ("table", "json"))
    rows = list(rows)
    if fmt == "json":
        typer.echo(json.dumps([{k: _plain(v) for k, v in row.items()} for row in rows], indent=2))
        return
    table = Table()
    least = 1  # the table's left border
    for column in columns:
        if column in ids:
            width = max([len(column), *(len(_cell(row[column])) for row in rows)])
            table.add_column(column, no_wrap=True, min_width=width)
        else:  # text wraps, but never to nothing
            width = max(len(column), 12)
            table.add_column(column, overflow="fold", min_width=width)
        least += width + 3  # padding and border
    for row in rows:
        table.add_row(*(_cell(row[column]) for column in columns))
    # a table too wide for the terminal runs past its edge whole rather than being squeezed
    if least <= console.width:
        console.print(table)
    else:  # rich will not print wider than its console, so a wider one prints this table
        Console(file=console.file, width=least, force_terminal=console.is_terminal).print(table)


def _cell(value: object) -> str:
    plain = _plain(value)
    return "" if plain is None else str(plain)
