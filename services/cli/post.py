"""``drx post`` and ``drx decide``: publish an event on an intake topic as a registered source.

Both build the CloudEvents envelope with :mod:`shared.posting`, which checks the data against its
contract first; ingest still judges it (who may post what) when it arrives.
"""

# ruff: noqa: PLC0415 - the Kafka client is imported inside commands, so `drx --help` stays quick
# ruff: noqa: PLR0917 - typer commands take their arguments and options positionally

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from services.cli import common
from services.cli.common import err

__all__ = ["decide_command", "post_command"]


def post_command(
    kind: Annotated[str, typer.Argument(help="crisis, need, pledge or decision")],
    file: Annotated[typer.FileText, typer.Argument(help="JSON file with the event's data, or - for stdin")],
    action: Annotated[
        str | None,
        typer.Option(help="declared|updated|closed (crisis), posted|updated|withdrawn (need, pledge)"),
    ] = None,
    source: Annotated[
        str, typer.Option(envvar="DRX_SOURCE", help="Your registered source, e.g. urn:drx:org:trc-gaziantep")
    ] = "",
    event_id: Annotated[str | None, typer.Option("--id", help="Event id (default: a new UUID)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the envelope; publish nothing")] = False,
) -> None:
    """Validate an event's data, wrap it in a CloudEvents envelope, publish it, print its id."""
    from shared.posting import ACTIONS, PostError, build_envelope, publish

    if kind not in ACTIONS:
        err.print(f"[red]kind must be one of {', '.join(ACTIONS)}[/red]")
        raise typer.Exit(2)
    if not source:
        err.print(
            "[red]--source (or DRX_SOURCE) is required: the source your organisation is registered as[/red]"
        )
        raise typer.Exit(2)
    try:
        data = json.load(file)
        envelope, key = build_envelope(kind, action or ACTIONS[kind][0], data, source, event_id=event_id)
    except json.JSONDecodeError as error:
        err.print(f"[red]{file.name} is not JSON: {error}[/red]")
        raise typer.Exit(1) from None
    except PostError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    if dry_run:
        typer.echo(envelope.model_dump_json(indent=2, exclude_none=True))
        return
    asyncio.run(publish(common.settings().kafka, envelope, key))
    typer.echo(envelope.id)


def decide_command(
    decision: Annotated[str, typer.Argument(help="confirm, reject, fulfilled or cancel")],
    match_id: Annotated[str, typer.Argument(help="The match id (see drx matches)")],
    source: Annotated[str, typer.Option(envvar="DRX_SOURCE", help="Your coordinator source")] = "",
    by: Annotated[
        str, typer.Option(help="Ignored (kept for older scripts): drx records your source's registered name")
    ] = "",
    reason: Annotated[str | None, typer.Option(help="Why (shown to the organisation and the donor)")] = None,
    quantity: Annotated[str | None, typer.Option(help="With fulfilled: how much arrived, if less")] = None,
) -> None:
    """Confirm, reject, report fulfilment of, or cancel a proposed match (as a coordinator)."""
    from shared.posting import PostError, build_envelope, publish

    if not source:
        err.print("[red]--source (or DRX_SOURCE) is required: your registered coordinator source[/red]")
        raise typer.Exit(2)
    data: dict[str, object] = {"match_id": match_id, "decision": decision, "decided_by": by or source}
    if reason:
        data["reason"] = reason
    if quantity:
        data["fulfilled_quantity"] = quantity
    try:
        envelope, key = build_envelope("decision", "decided", data, source)
    except PostError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from None
    asyncio.run(publish(common.settings().kafka, envelope, key))
    typer.echo(envelope.id)
