"""What every ``drx`` command group shares: the consoles, the settings, a database session.

Commands call :func:`settings` through this module (``common.settings()``), never by a name
imported from it, so one stand-in replaces it for every command: the deployment tests
(tests/unit/deploy) use that to check a command parses without connecting to anything.
"""

from __future__ import annotations

import getpass
from typing import TYPE_CHECKING, TypeVar

import typer
from rich.console import Console

from shared.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["audit_actor", "console", "err", "one_of", "settings", "with_session"]

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
