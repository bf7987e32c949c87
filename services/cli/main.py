"""The ``drx`` command line.

Commands that need Kafka or PostgreSQL read ``DRX_*`` settings (see README's configuration table);
after ``drx dev up`` run ``eval "$(drx dev env)"`` to point them at the local stack.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from services.cli.audit import audit_app
from shared.config import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from shared.rejected import Rejection

T = TypeVar("T")

__all__ = ["app", "main"]

app = typer.Typer(no_args_is_help=True, help="Diaspora Relief Exchange: pledges meet needs.")
dev_app = typer.Typer(no_args_is_help=True, help="A local stack: broker + PostgreSQL.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
topics_app = typer.Typer(no_args_is_help=True, help="Kafka topics.")
app.add_typer(dev_app, name="dev")
app.add_typer(db_app, name="db")
app.add_typer(topics_app, name="topics")
sources_app = typer.Typer(no_args_is_help=True, help="Who may post what: the source registry.")
app.add_typer(sources_app, name="sources")
app.add_typer(audit_app, name="audit")
subscribe_app = typer.Typer(no_args_is_help=True, help="Who hears about matches, and how.")
app.add_typer(subscribe_app, name="subscribe")
rejected_app = typer.Typer(no_args_is_help=True, help="Refused input: see why, replay it once fixed.")
app.add_typer(rejected_app, name="rejected")

console = Console()
err = Console(stderr=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@dev_app.command("up")
def dev_up_command(
    broker: Annotated[
        str, typer.Option(help="tansu (embedded, no Java) or apache (Kafka from jars)")
    ] = "tansu",
    kafka_port: Annotated[int, typer.Option(help="Broker port on 127.0.0.1")] = 9092,
) -> None:
    """Start a broker and PostgreSQL, migrate, create topics; print how to reach them."""
    from shared.dev import dev_up

    if broker not in {"tansu", "apache"}:
        err.print("[red]--broker must be tansu or apache[/red]")
        raise typer.Exit(2)
    try:
        stack = dev_up(broker=broker, kafka_port=kafka_port)  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001 - any failure is reported, not traced
        err.print(f"[red]drx dev up failed: {error}[/red]")
        raise typer.Exit(1) from None
    console.print(f"broker ({stack.broker}): [bold]{stack.bootstrap_servers}[/bold]")
    console.print(f"database: [bold]{stack.database_url}[/bold]")
    console.print('point drx at it with:  eval "$(drx dev env)"    stop it with:  drx dev down')


@dev_app.command("down")
def dev_down_command() -> None:
    """Stop the local stack and remove its data."""
    from shared.dev import dev_down

    console.print("stopped" if dev_down() else "nothing was running")


@dev_app.command("status")
def dev_status_command() -> None:
    """Say whether the local stack is running, and where."""
    from shared.dev import dev_status

    stack = dev_status()
    if stack is None:
        console.print("not running")
        raise typer.Exit(1)
    console.print(
        f"running: broker ({stack.broker}) {stack.bootstrap_servers}, database {stack.database_url}"
    )


@dev_app.command("env")
def dev_env_command() -> None:
    """Print shell exports for the running stack (use with eval)."""
    from shared.dev import dev_status

    stack = dev_status()
    if stack is None:
        err.print("[red]no local stack is running; start one with drx dev up[/red]")
        raise typer.Exit(1)
    for name, value in stack.env().items():
        typer.echo(f"export {name}={shlex.quote(value)}")


@dev_app.command("kafka-jars")
def dev_kafka_jars_command() -> None:
    """Download the Apache Kafka jars from Maven Central into the cache (once) and print where."""
    from shared.infra.kafka import ensure_kafka_jars

    typer.echo(str(ensure_kafka_jars()))


@db_app.command("upgrade")
def db_upgrade_command(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default head)."""
    from shared.db.migrate import upgrade

    upgrade(_settings().database.sqlalchemy_url, revision)
    console.print(f"database at {revision}")


@topics_app.command("create")
def topics_create_command() -> None:
    """Create every drx topic that is missing, with DRX_KAFKA_PARTITIONS partitions."""
    from shared.kafka.admin import create_topics

    created = asyncio.run(create_topics(_settings().kafka))
    console.print(f"created {len(created)} topic(s)" + (": " + ", ".join(created) if created else ""))


@topics_app.command("list")
def topics_list_command() -> None:
    """List drx topics with their partition counts."""
    from shared.kafka.admin import list_topics

    table = Table("topic", "partitions")
    for name, partitions in sorted(asyncio.run(list_topics(_settings().kafka)).items()):
        table.add_row(name, str(partitions))
    console.print(table)


@app.command("run")
def run_command(service: Annotated[str, typer.Argument(help="ingest, matching or notify")]) -> None:
    """Run one worker in the foreground until SIGTERM or Ctrl-C."""
    workers = {
        "ingest": "services.ingest.app",
        "matching": "services.matching.app",
        "notify": "services.notify.app",
    }
    if service not in workers:
        err.print(f"[red]unknown service {service!r}; choose one of {', '.join(workers)}[/red]")
        raise typer.Exit(2)
    import importlib

    settings = _settings()
    module = importlib.import_module(workers[service])
    asyncio.run(module.create_app(settings).run())


@app.command("post")
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
    import json

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
    asyncio.run(publish(_settings().kafka, envelope, key))
    typer.echo(envelope.id)


@app.command("decide")
def decide_command(
    decision: Annotated[str, typer.Argument(help="confirm, reject, fulfilled or cancel")],
    match_id: Annotated[str, typer.Argument(help="The match id (see drx matches)")],
    source: Annotated[str, typer.Option(envvar="DRX_SOURCE", help="Your coordinator source")] = "",
    by: Annotated[str, typer.Option(help="Who decides, for the audit trail")] = "",
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
    asyncio.run(publish(_settings().kafka, envelope, key))
    typer.echo(envelope.id)


async def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from shared.db.session import create_engine, create_session_factory

    engine = create_engine(settings.database)
    try:
        async with create_session_factory(engine)() as session:
            return await work(session)
    finally:
        await engine.dispose()


def _one_of(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    """A filter with a typo would list nothing and look like "none": refuse it instead."""
    if value is not None and value not in allowed:
        msg = f"{value!r} is not one of {', '.join(allowed)}"
        raise typer.BadParameter(msg, param_hint=option)


@app.command("matches")
def matches_command(
    crisis: Annotated[str | None, typer.Option(help="Only this crisis")] = None,
    status: Annotated[
        str | None, typer.Option(help="proposed, confirmed, rejected, expired, fulfilled, cancelled")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
) -> None:
    """List matches with their status and why they were proposed."""
    from services.matching.queries import list_matches

    _one_of("--status", status, ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled"))

    rows = asyncio.run(
        _with_session(_settings(), lambda s: list_matches(s, crisis_id=crisis, status=status, limit=limit))
    )
    table = Table("match", "status", "need", "pledge", "quantity", "why")
    for m in rows:
        table.add_row(
            m.match_id,
            m.status,
            m.need_id,
            m.pledge_id,
            f"{m.quantity.normalize():f} {m.unit}",
            m.explanation,
        )
    console.print(table)


@app.command("coverage")
def coverage_command(crisis: Annotated[str | None, typer.Option(help="Only this crisis")] = None) -> None:
    """Per crisis and sector: needed, pledged, proposed, confirmed, fulfilled, shortfall."""
    from services.matching.queries import coverage

    rows = asyncio.run(_with_session(_settings(), lambda s: coverage(s, crisis_id=crisis)))
    table = Table(
        "crisis",
        "sector",
        "category",
        "unit",
        "needed",
        "pledged",
        "proposed",
        "confirmed",
        "fulfilled",
        "shortfall",
        "needs",
    )
    for r in rows:
        numbers = (r.needed, r.pledged, r.proposed, r.confirmed, r.fulfilled, r.shortfall)
        needs = ", ".join(f"{count} {label}" for label, count in sorted(r.needs_by_status.items()))
        table.add_row(
            r.crisis_id, r.sector, r.category, r.unit, *(f"{n.normalize():f}" for n in numbers), needs
        )
    console.print(table)


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
        asyncio.run(add_source(_settings().database, source, role, party, name))
    except ValueError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    console.print(f"{source} registered as {role} for {party}")


@sources_app.command("list")
def sources_list_command() -> None:
    """List registered sources."""
    from shared.sources import list_sources

    table = Table("source", "role", "party", "name")
    for row in asyncio.run(list_sources(_settings().database)):
        table.add_row(*row)
    console.print(table)


@app.command("demo")
def demo_command(
    scenario: Annotated[
        Path | None,
        typer.Option(help="A scenario file (docs/demo.md); default: the packaged earthquake scenario"),
    ] = None,
    keep_running: Annotated[
        bool,
        typer.Option("--keep-running", help="Leave the stack up for the other drx commands, until Ctrl-C"),
    ] = False,
    log_file: Annotated[
        Path | None, typer.Option(help="Where the workers log (JSON lines); default: a temporary file")
    ] = None,
) -> None:
    """Run every service on the embedded default (no Java, no Docker), replay a scenario, summarise."""
    import tempfile

    from services.demo.runner import DemoInterrupted, run_demo
    from services.demo.scenario import ScenarioError, load_scenario
    from shared.logging import configure_logging

    try:
        loaded = load_scenario(scenario)
    except ScenarioError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None
    log_path = log_file or Path(tempfile.mkstemp(prefix="drx-demo-", suffix=".log")[1])
    with log_path.open("a", encoding="utf-8") as log:
        configure_logging("INFO", "json", stream=log)
        console.print(f"worker logs: {log_path}", soft_wrap=True)
        try:
            # Off a terminal (CI, a pipe) rich would wrap the tables at 80 columns.
            wide = console if console.is_terminal else Console(width=150)
            code = run_demo(loaded, wide, keep_running=keep_running)
        except ScenarioError as error:
            err.print(f"[red]{error}[/red]")
            raise typer.Exit(2) from None
        except DemoInterrupted:
            console.print("stopped")
            raise typer.Exit(130) from None
    raise typer.Exit(code)


@subscribe_app.command("add")
def subscribe_add_command(  # one option per subscription field
    subscription_id: Annotated[str, typer.Argument(help="Your id for it; adding it again replaces it")],
    recipient: Annotated[str, typer.Option(help="Coordinator, organisation or donor id")],
    kind: Annotated[str, typer.Option(help="coordinator, organisation or donor")] = "coordinator",
    channel: Annotated[str, typer.Option(help="email, webhook or kafka")] = "email",
    address: Annotated[str | None, typer.Option(help="Email address or webhook URL")] = None,
    key_id: Annotated[
        str | None, typer.Option(help="Webhook signing key id (DRX_NOTIFY_WEBHOOK_KEYS)")
    ] = None,
    digest: Annotated[str, typer.Option(help="off, hourly or daily")] = "off",
    crisis: Annotated[str | None, typer.Option(help="Coordinators: only this crisis")] = None,
    country: Annotated[str | None, typer.Option(help="Coordinators: only needs in this country")] = None,
    sector: Annotated[str | None, typer.Option(help="Coordinators: only this sector")] = None,
    category: Annotated[str | None, typer.Option(help="Coordinators: funds, supplies or skills")] = None,
    actor: Annotated[str | None, typer.Option(help="Who you are, for the audit trail")] = None,
) -> None:
    """Add or replace a subscription (validated like an org.drx.subscription.set event)."""
    from pydantic import ValidationError

    from services.notify.subscriptions import set_subscription
    from shared.events.errors import describe_errors
    from shared.events.inbound import SubscriptionSet

    try:
        sub = SubscriptionSet.model_validate(
            {
                "subscription_id": subscription_id,
                "recipient_id": recipient,
                "recipient_kind": kind,
                "channel": channel,
                "address": address,
                "key_id": key_id,
                "digest": digest,
                "crisis_id": crisis,
                "country": country,
                "sector": sector,
                "category": category,
            }
        )
    except ValidationError as error:
        err.print(f"[red]{describe_errors(error)}[/red]")
        raise typer.Exit(2) from None
    settings = _settings()

    async def add(session: AsyncSession) -> None:
        async with session.begin():
            await set_subscription(session, settings.kafka.topic_prefix, sub, actor=_actor(actor))

    asyncio.run(_with_session(settings, add))
    console.print(f"subscription {subscription_id} set: {channel} {address or ''}".rstrip())


@subscribe_app.command("remove")
def subscribe_remove_command(
    subscription_id: Annotated[str, typer.Argument()],
    actor: Annotated[str | None, typer.Option(help="Who you are, for the audit trail")] = None,
) -> None:
    """Stop a subscription (kept, inactive, for the record)."""
    from services.notify.subscriptions import remove_subscription

    settings = _settings()

    async def remove(session: AsyncSession) -> bool:
        async with session.begin():
            prefix = settings.kafka.topic_prefix
            return await remove_subscription(session, prefix, subscription_id, actor=_actor(actor))

    if not asyncio.run(_with_session(settings, remove)):
        err.print(f"[red]no active subscription {subscription_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"subscription {subscription_id} removed")


@subscribe_app.command("list")
def subscribe_list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include removed subscriptions")] = False,
) -> None:
    """List subscriptions."""
    from services.notify.subscriptions import list_subscriptions

    rows = asyncio.run(_with_session(_settings(), lambda s: list_subscriptions(s, include_inactive=all_)))
    table = Table("subscription", "recipient", "kind", "channel", "address", "digest", "filters", "active")
    for r in rows:
        filters = ", ".join(
            f"{name}={value}"
            for name, value in (
                ("crisis", r.crisis_id),
                ("country", r.country),
                ("sector", r.sector),
                ("category", r.category),
            )
            if value
        )
        table.add_row(
            r.subscription_id,
            r.recipient_id,
            r.recipient_kind,
            r.channel,
            r.address or "",
            r.digest,
            filters or "(all)",
            "yes" if r.active else "no",
        )
    console.print(table)


@app.command("deliveries")
def deliveries_command(
    status: Annotated[str | None, typer.Option(help="pending, held, digested, sent or dead")] = None,
    limit: Annotated[int, typer.Option(help="At most this many, newest first")] = 100,
) -> None:
    """List notification deliveries; `--status dead` shows the dead letters with their last error."""
    from sqlalchemy import select

    _one_of("--status", status, ("pending", "held", "digested", "sent", "dead"))

    from shared.db.models import DeliveryRow

    async def load(session: AsyncSession) -> list[DeliveryRow]:
        query = select(DeliveryRow).order_by(DeliveryRow.created_at.desc()).limit(limit)
        if status:
            query = query.where(DeliveryRow.status == status)
        return list(await session.scalars(query))

    table = Table("delivery", "status", "kind", "recipient", "channel", "attempts", "subject", "last error")
    for d in asyncio.run(_with_session(_settings(), load)):
        table.add_row(
            d.delivery_id,
            d.status,
            d.kind,
            d.recipient_id,
            d.channel,
            str(d.attempts),
            d.subject,
            d.last_error or "",
        )
    console.print(table)


_SINCE = typer.Option(help="Only rejections from this date or time on (ISO 8601, UTC if no offset)")
_REASON = typer.Option(help="Only rejections whose reason contains this text (any case)")
_TOPIC = typer.Option(help="Only input from this topic, e.g. intake.needs")
_TYPE = typer.Option("--type", help="Only input of this event type, e.g. org.drx.need.posted")


def _chosen(
    since: str | None, reason: str | None, topic: str | None, event_type: str | None
) -> list[Rejection]:
    import datetime as dt

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
        found = asyncio.run(read_rejections(_settings().kafka))
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
) -> None:
    """What was refused, where it came from, and why."""
    chosen = _chosen(since, reason, topic, event_type)
    table = Table("when (UTC)", "from", "type", "event id", "refused by", "reason")
    for r in chosen:
        table.add_row(
            f"{r.at:%Y-%m-%d %H:%M:%S}",
            f"{r.data.source_topic}/{r.data.source_partition}/{r.data.source_offset}",
            r.data.event_type or "",
            r.data.event_id or "",
            r.rejected_by.removeprefix("urn:drx:service:"),
            r.data.reason,
        )
    console.print(table)
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

    settings = _settings()
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


def _actor(given: str | None) -> str:
    import getpass

    return given or f"cli:{getpass.getuser()}"


def main() -> None:
    from shared.logging import configure_logging

    try:
        log = load_settings().log
        configure_logging(log.level, log.format)
    except SettingsError:
        configure_logging()
    app()


if __name__ == "__main__":
    main()
