"""``drx audit verify``, ``export``, ``checkpoint``, ``keygen``: check the chain, anchor it, hand it out.

The logic is in :mod:`shared.audit`; this module only reads options and prints. docs/audit.md
describes the commands with example output.
"""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, TypeVar

import typer

from shared.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from shared.audit import Checkpoint

__all__ = ["audit_app", "parse_when"]

T = TypeVar("T")

audit_app = typer.Typer(
    no_args_is_help=True, help="The audit trail: verify the chain, export it, sign checkpoints of it."
)


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
            help="Also check the chain against the signed checkpoints on the audit topic "
            "(catches a rewrite, hashes and all, by the database's superuser); needs DRX_AUDIT_VERIFY_KEY",
        ),
    ] = False,
) -> None:
    """Walk the whole chain from record 1: numbering, links and every record's hash."""
    from shared.audit import verify_database

    settings = _settings()
    keys = _verify_keys(settings) if against_topic else {}
    report = _run(settings, lambda session: verify_database(session, batch_size=batch_size))
    if report.problem is not None:
        typer.echo(f"audit chain broken at {report.problem}", err=True)
        typer.echo(
            f"the {report.count} records before it verify; last good hash {report.last_hash}", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"audit chain verified: {report.count} records, last hash {report.last_hash}")
    if against_topic:
        _check_against_topic(settings, keys)


def _verify_keys(settings: Settings) -> dict[str, Ed25519PublicKey]:
    from shared.audit import SigningKeyError, load_verify_keys

    if settings.audit.verify_key is None:
        typer.echo(
            "--against-topic trusts only signed checkpoints: set DRX_AUDIT_VERIFY_KEY to the public key "
            "drx audit keygen printed",
            err=True,
        )
        raise typer.Exit(2)
    try:
        return load_verify_keys(settings.audit.verify_key)
    except SigningKeyError as error:
        typer.echo(f"DRX_AUDIT_VERIFY_KEY: {error}", err=True)
        raise typer.Exit(2) from None


def _check_against_topic(settings: Settings, keys: dict[str, Ed25519PublicKey]) -> None:
    from sqlalchemy.ext.asyncio import AsyncSession

    from shared.audit import AnchorReport, anchor_report, format_at, hashes_at, read_audit_topic
    from shared.audit.anchor import sort_messages
    from shared.kafka.topics import AUDIT, topic_name

    topic = topic_name(settings.kafka.topic_prefix, AUDIT)
    try:
        messages = asyncio.run(read_audit_topic(settings.kafka))
    except TimeoutError:
        typer.echo(f"could not read {topic} to its end in 30 s: is Kafka reachable?", err=True)
        raise typer.Exit(2) from None
    seqs = [cp.seq for cp in sort_messages(messages, keys).checkpoints]

    async def check(session: AsyncSession) -> AnchorReport:
        stored, head = await hashes_at(session, seqs)
        return anchor_report(stored, head, messages, keys)

    found = _run(settings, check)
    for ignored in found.ignored:
        typer.echo(str(ignored), err=True)
    if found.rewritten is not None:
        typer.echo(found.rewritten, err=True)
        raise typer.Exit(1)
    last = found.last_checkpoint
    if last is None:
        typer.echo(
            f"no signed checkpoint on {topic} yet: no signature covers the chain "
            f"({found.uncovered} records not yet covered)"
        )
        return
    typer.echo(
        f"and it matches the {len(found.checkpoints)} signed checkpoints on {topic}: all good up to "
        f"record {last.seq} (signed {format_at(last.at)}, key {last.key_id}); "
        f"{found.uncovered} records after it not yet covered"
    )


@audit_app.command("checkpoint")
def checkpoint_command(
    key_file: Annotated[
        Path | None, typer.Option(help="The signing key file (default: DRX_AUDIT_SIGNING_KEY_FILE)")
    ] = None,
) -> None:
    """Sign the chain's head now and publish the checkpoint straight to the audit topic."""
    from shared.audit import (
        ChainNotSignedError,
        SigningKeyError,
        publish_checkpoint,
        read_signing_key,
        sign_head,
    )
    from shared.db.session import create_engine, create_session_factory
    from shared.kafka.topics import AUDIT, topic_name

    settings = _settings()
    path = key_file or settings.audit.signing_key_file
    if path is None:
        typer.echo("no signing key: pass --key-file or set DRX_AUDIT_SIGNING_KEY_FILE", err=True)
        raise typer.Exit(2)
    try:
        key = read_signing_key(path)
    except (OSError, SigningKeyError) as error:
        typer.echo(f"cannot use signing key {path}: {error}", err=True)
        raise typer.Exit(2) from None

    async def main() -> Checkpoint | None:
        engine = create_engine(settings.database)
        try:
            signed = await sign_head(create_session_factory(engine), key, dt.datetime.now(dt.UTC))
        finally:
            await engine.dispose()
        if signed is not None:
            await publish_checkpoint(settings.kafka, signed)
        return signed

    try:
        signed = asyncio.run(main())
    except ChainNotSignedError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    if signed is None:
        typer.echo("the audit chain is empty: nothing to sign")
        return
    topic = topic_name(settings.kafka.topic_prefix, AUDIT)
    typer.echo(f"signed checkpoint published to {topic}: {signed}, hash {signed.hash}")


@audit_app.command("keygen")
def keygen_command(
    output: Annotated[Path, typer.Option(help="Where to write the new private key (PEM, mode 0600)")],
) -> None:
    """Make a new checkpoint signing key; print the public key for DRX_AUDIT_VERIFY_KEY."""
    from shared.audit import key_id_of, new_signing_key, private_key_pem, public_key_text

    key = new_signing_key()
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        typer.echo(f"{output} exists: drx audit keygen never overwrites a key", err=True)
        raise typer.Exit(2) from None
    with os.fdopen(fd, "wb") as handle:
        handle.write(private_key_pem(key))
    public = key.public_key()
    typer.echo(f"signing key written to {output} (mode 0600); keep it out of the database and its backups")
    typer.echo(f"key id {key_id_of(public)}")
    typer.echo(f"DRX_AUDIT_VERIFY_KEY={public_key_text(public)}")


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
