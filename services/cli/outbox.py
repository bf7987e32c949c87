"""``drx outbox``: rows the relay parked because the broker refused them, and releasing them.

A parked row (``shared/outbox.py``) waits with the broker's error while the rows after it flow.
Fix the cause first (a broker limit, a topic), then ``drx outbox retry``; a row that is refused
again is parked again, with the new error. docs/operations.md#parked-outbox-rows says more.
"""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from services.cli import common
from services.cli.common import console, err

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["outbox_app"]

outbox_app = typer.Typer(no_args_is_help=True, help="Outbox rows the broker refused: see why, release them.")


@outbox_app.command("list")
def outbox_list_command() -> None:
    """List parked rows, oldest first, with the broker's error."""
    from shared.outbox import parked_rows

    rows = asyncio.run(common.with_session(common.settings(), parked_rows))
    if not rows:
        console.print("no parked rows")
        return
    table = Table("id", "topic", "bytes", "written", "parked", "error")
    for row in rows:
        table.add_row(
            str(row.id),
            row.topic,
            str(row.size),
            f"{row.created_at:%Y-%m-%d %H:%M:%S}",
            f"{row.parked_at:%Y-%m-%d %H:%M:%S}",
            row.error,
        )
    console.print(table)


@outbox_app.command("retry")
def outbox_retry_command(
    ids: Annotated[list[int] | None, typer.Argument(help="Row ids from `drx outbox list`")] = None,
    all_rows: Annotated[bool, typer.Option("--all", help="Release every parked row")] = False,
) -> None:
    """Give parked rows back to the relay, which publishes them in id order with the others."""
    from shared.outbox import retry_parked

    if bool(ids) == all_rows:
        err.print("[red]name the row ids to release, or give --all[/red]")
        raise typer.Exit(2)

    async def release(session: AsyncSession) -> int:
        async with session.begin():
            return await retry_parked(session, ids or None)

    released = asyncio.run(common.with_session(common.settings(), release))
    console.print(f"{released} row{'s' if released != 1 else ''} released to the relay")
