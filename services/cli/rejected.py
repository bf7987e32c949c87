"""``drx rejected``: what ingest, matching and notify refused and why, and replaying it once fixed.

The rejected topic is the record (``shared/rejected.py`` reads and filters it); both commands
choose from it with the same filters.
"""

# ruff: noqa: PLC0415 - the Kafka client is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Annotated

import typer

from services.cli import common
from services.cli.common import FormatOption, console, err, listing, one_of

if TYPE_CHECKING:
    from shared.rejected import Rejection

__all__ = ["rejected_app"]

rejected_app = typer.Typer(no_args_is_help=True, help="Refused input: see why, replay it once fixed.")

_SINCE = typer.Option(help="Only rejections from this date or time on (ISO 8601, UTC if no offset)")
_REASON = typer.Option(help="Only rejections whose reason contains this text (any case)")
_TOPIC = typer.Option(help="Only input from this topic, e.g. intake.needs")
_TYPE = typer.Option("--type", help="Only input of this event type, e.g. org.drx.need.posted")


def _chosen(
    since: str | None, reason: str | None, topic: str | None, event_type: str | None
) -> list[Rejection]:
    from shared.rejected import choose, read_rejections

    after = None
    if since:
        try:
            after = dt.datetime.fromisoformat(since)
        except ValueError:
            err.print(f"[red]--since {since!r} is not an ISO 8601 date or time[/red]")
            raise typer.Exit(2) from None
        after = after if after.tzinfo else after.replace(tzinfo=dt.UTC)
    try:
        found = asyncio.run(read_rejections(common.settings().kafka))
    except TimeoutError:
        err.print("[red]could not read the rejected topic to its end in 30 s: is Kafka reachable?[/red]")
        raise typer.Exit(1) from None
    return choose(found, since=after, reason=reason, topic=topic, event_type=event_type)


@rejected_app.command("list")
def rejected_list_command(
    since: Annotated[str | None, _SINCE] = None,
    reason: Annotated[str | None, _REASON] = None,
    topic: Annotated[str | None, _TOPIC] = None,
    event_type: Annotated[str | None, _TYPE] = None,
    fmt: FormatOption = "table",
) -> None:
    """What was refused, where it came from, and why."""
    one_of("--format", fmt, ("table", "json"))
    chosen = _chosen(since, reason, topic, event_type)
    listing(
        fmt,
        (
            {
                "at": f"{r.at:%Y-%m-%d %H:%M:%S}" if fmt == "table" else r.at,
                "from": f"{r.data.source_topic}/{r.data.source_partition}/{r.data.source_offset}",
                "event_type": r.data.event_type,
                "event_id": r.data.event_id,
                "refused_by": r.rejected_by.removeprefix("urn:drx:service:"),
                "reason": r.data.reason,
            }
            for r in chosen
        ),
        columns=("at", "from", "event_type", "event_id", "refused_by", "reason"),
        ids=("from", "event_id"),
    )
    if fmt == "table":
        console.print(f"{len(chosen)} rejection(s)")


@rejected_app.command("replay")
def rejected_replay_command(
    since: Annotated[str | None, _SINCE] = None,
    reason: Annotated[str | None, _REASON] = None,
    topic: Annotated[str | None, _TOPIC] = None,
    event_type: Annotated[str | None, _TYPE] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be sent; send nothing")] = False,
) -> None:
    """Send chosen rejected input back to its intake topic, once its cause is fixed."""
    from shared.rejected import replay, why_not_replayable

    settings = common.settings()
    chosen = _chosen(since, reason, topic, event_type)
    prefix = settings.kafka.topic_prefix
    ready = [r for r in chosen if why_not_replayable(r, prefix) is None]
    for r in chosen:
        if (why := why_not_replayable(r, prefix)) is not None:
            err.print(f"skipped {r.data.source_topic}/{r.data.source_offset} ({r.data.event_id}): {why}")
    if dry_run:
        for r in ready:
            console.print(
                f"would send {r.data.event_id} to {r.data.source_topic}: was refused for {r.data.reason}"
            )
        console.print(f"{len(ready)} to replay, {len(chosen) - len(ready)} skipped (dry run)")
        return
    sent = asyncio.run(replay(settings.kafka, ready))
    console.print(f"replayed {sent}, skipped {len(chosen) - len(ready)}; ingest judges them again now")
