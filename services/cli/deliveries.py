"""``drx deliveries``: list the deliveries (``services/cli/queries.py``), and retry dead letters.

``drx deliveries [--status dead]`` lists as before; ``drx deliveries retry ID…`` or ``drx
deliveries retry --all-dead --since 2026-12-01T00:00Z`` sends dead letters again once their
cause is fixed (``services/notify/retry.py`` says how). One line per delivery; exit 2 when any
named id is unknown, after the known ones are retried.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from services.cli import common
from services.cli.common import audit_actor, console, err, with_session
from services.cli.queries import deliveries_command

__all__ = ["deliveries_app"]

deliveries_app = typer.Typer(help="Notification deliveries: list them, retry dead letters.")


@deliveries_app.callback(invoke_without_command=True)
def deliveries(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option(help="pending, held, digested, sent or dead")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
) -> None:
    """List notification deliveries; `--status dead` shows the dead letters with their last error."""
    if ctx.invoked_subcommand is None:
        deliveries_command(status=status, limit=limit)


def _since(value: str) -> dt.datetime:
    """An ISO 8601 time with its offset (``Z`` or ``+01:00``): a dead letter's age is absolute."""
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"{value!r} is not an ISO 8601 time such as 2026-12-01T00:00Z"
        raise typer.BadParameter(msg, param_hint="--since") from None
    if parsed.utcoffset() is None:
        msg = f"{value!r} has no time zone; add Z for UTC or an offset such as +01:00"
        raise typer.BadParameter(msg, param_hint="--since")
    return parsed


@deliveries_app.command("retry")
def retry_command(
    delivery_ids: Annotated[list[str] | None, typer.Argument(help="Dead-lettered delivery ids")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Every dead letter since --since")] = False,
    since: Annotated[
        str | None, typer.Option(help="With --all-dead: created at or after, e.g. 2026-12-01T00:00Z")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Who retries, for the audit trail")] = None,
) -> None:
    """Send dead-lettered deliveries again; pending or sent ones are left as they are."""
    from services.notify.retry import retry_dead_since, retry_deliveries  # noqa: PLC0415 - keeps --help quick

    ids = delivery_ids or []
    if all_dead == bool(ids):
        msg = "name delivery ids, or give --all-dead --since TIME (not both)"
        raise typer.BadParameter(msg)
    if all_dead and since is None:
        msg = "--all-dead needs --since, so an old backlog is not resent by accident"
        raise typer.BadParameter(msg, param_hint="--since")
    if since is not None and not all_dead:
        msg = "--since only goes with --all-dead"
        raise typer.BadParameter(msg, param_hint="--since")
    start = _since(since) if since is not None else None
    config = common.settings()
    who = audit_actor(actor)

    async def work(session: AsyncSession) -> list[object]:
        now = dt.datetime.now(dt.UTC)
        prefix = config.kafka.topic_prefix
        async with session.begin():
            if start is not None:
                return list(await retry_dead_since(session, prefix, start, actor=who, now=now))
            return list(await retry_deliveries(session, prefix, ids, actor=who, now=now))

    results = asyncio.run(with_session(config, work))
    for result in results:
        console.print(str(result), markup=False, highlight=False)
    if start is not None and not results:
        console.print(f"no dead letters created since {start.isoformat()}")
    if any(getattr(r, "outcome", None) == "unknown" for r in results):
        err.print("[red]some delivery ids are unknown[/red]")
        raise typer.Exit(2)
