"""``drx audit verify`` and ``drx audit export``: check the audit chain, hand it to auditors.

The logic is in :mod:`shared.audit`; this module only reads options and prints. docs/audit.md
describes both commands with example output.
"""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, Annotated, TypeVar

import typer

from shared.config import Settings, SettingsError, load_settings

__all__ = ["audit_app", "parse_when"]

T = TypeVar("T")

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail: verify the chain, export it.")


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None


def _run(settings: Settings, work: Callable[..., Awaitable[T]]) -> T:
    from shared.db.session import create_engine, create_session_factory

    async def main() -> T:
        engine = create_engine(settings.database)
        try:
            async with create_session_factory(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def parse_when(value: str, option: str) -> dt.datetime:
    """``2026-11-24`` (midnight UTC) or an ISO 8601 date-time (UTC when it has no offset)."""
    try:
        if len(value) == len("2026-11-24"):
            day = dt.date.fromisoformat(value)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        msg = f"{option}: {value!r} is not a date (2026-11-24) or a date-time (2026-11-24T09:30:00Z)"
        raise typer.BadParameter(msg) from None
    return when if when.utcoffset() is not None else when.replace(tzinfo=dt.UTC)


@audit_app.command("verify")
def verify_command(
    batch_size: Annotated[int, typer.Option(min=1, help="Records read per query")] = 1000,
    against_topic: Annotated[
        bool,
        typer.Option(
            "--against-topic",
            help="Also compare with the copy of the chain on the audit topic (catches a removed tail)",
        ),
    ] = False,
) -> None:
    """Walk the whole chain from record 1: numbering, links and every record's hash."""
    from shared.audit import verify_database

    settings = _settings()
    report = _run(settings, lambda session: verify_database(session, batch_size=batch_size))
    if report.problem is not None:
        typer.echo(f"audit chain broken at {report.problem}", err=True)
        typer.echo(
            f"the {report.count} records before it verify; last good hash {report.last_hash}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain verified: {report.count} records, last hash {report.last_hash}")
    if against_topic:
        _compare_with_topic(settings)


def _compare_with_topic(settings: Settings) -> None:
    from pydantic import ValidationError

    from shared.audit import AUDIT_EVENT_TYPE, compare_with_copy, stored_hashes
    from shared.events.envelope import CloudEvent
    from shared.kafka.reading import read_topic
    from shared.kafka.topics import AUDIT, topic_name

    topic = topic_name(settings.kafka.topic_prefix, AUDIT)
    try:
        records = asyncio.run(read_topic(settings.kafka, topic))
    except TimeoutError:
        typer.echo(f"could not read {topic} to its end in 30 s: is Kafka reachable?", err=True)
        raise typer.Exit(2) from None
    copy: dict[int, str] = {}
    for record in records:
        try:
            event = CloudEvent.model_validate_json(record.value or b"")
        except ValidationError:
            continue  # not an audit event (only the relay writes there): nothing to compare
        if event.type == AUDIT_EVENT_TYPE and isinstance(event.data, dict):
            copy[int(event.data["seq"])] = str(event.data["hash"])
    problem = compare_with_copy(_run(settings, stored_hashes), copy)
    if problem is not None:
        typer.echo(f"audit chain does not match {topic}: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(f"and it matches {topic}: {len(copy)} records published, none missing or different")


@contextlib.contextmanager
def _opened(output: Path | None) -> Iterator[IO[str]]:
    if output is None:
        yield sys.stdout
        return
    with output.open("w", encoding="utf-8", newline="") as handle:
        yield handle


@audit_app.command("export")
def export_command(
    since: Annotated[str, typer.Option(help="From this date or date-time (UTC unless it has an offset)")],
    until: Annotated[str | None, typer.Option(help="Up to, not including, this date or date-time")] = None,
    format_: Annotated[
        str, typer.Option("--format", help="jsonl or csv (with an HXL hashtag row)")
    ] = "jsonl",
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output")] = None,
) -> None:
    """Export a stretch of the chain for donors and auditors, as JSON Lines or CSV."""
    from sqlalchemy.ext.asyncio import AsyncSession

    from shared.audit import export_range, iter_records, record_writer

    if format_ not in {"jsonl", "csv"}:
        raise typer.BadParameter("--format must be jsonl or csv")
    start = parse_when(since, "--since")
    end = parse_when(until, "--until") if until is not None else None

    async def export(session: AsyncSession) -> tuple[int, tuple[int, int] | None]:
        window = await export_range(session, since=start, until=end)
        count = 0
        with _opened(output) as out:
            write = record_writer("csv" if format_ == "csv" else "jsonl", out)
            if window is not None:
                async for rec in iter_records(session, first_seq=window[0], last_seq=window[1]):
                    write(rec)
                    count += 1
        return count, window

    count, window = _run(_settings(), export)
    span = f" (records {window[0]}-{window[1]})" if window is not None else ""
    typer.echo(f"exported {count} audit records{span}", err=True)
