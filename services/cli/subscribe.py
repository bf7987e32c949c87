"""``drx subscribe``: who hears about matches, and how (notify's subscriptions, set directly).

A subscription added here is validated like an ``org.drx.subscription.set`` event and audited
like one, with the operator as the actor (who then owns it). A webhook address must resolve to
public addresses, or to a network in ``DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS``, as on the topic.
"""

# ruff: noqa: PLC0415 - database code is imported inside commands, so `drx --help` stays quick
# ruff: noqa: PLR0917 - typer commands take their options positionally

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from services.cli import common
from services.cli.common import audit_actor, console, err, with_session

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["subscribe_app"]

subscribe_app = typer.Typer(no_args_is_help=True, help="Who hears about matches, and how.")


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
    from services.notify.targets import check_webhook
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
    settings = common.settings()
    if sub.channel == "webhook" and (
        refused := asyncio.run(check_webhook(sub.address, settings.notify.webhook_allow_networks))
    ):
        err.print(f"[red]{refused}[/red]")
        raise typer.Exit(2)

    async def add(session: AsyncSession) -> None:
        async with session.begin():
            await set_subscription(session, settings.kafka.topic_prefix, sub, actor=audit_actor(actor))

    asyncio.run(with_session(settings, add))
    console.print(f"subscription {subscription_id} set: {channel} {address or ''}".rstrip())


@subscribe_app.command("remove")
def subscribe_remove_command(
    subscription_id: Annotated[str, typer.Argument()],
    actor: Annotated[str | None, typer.Option(help="Who you are, for the audit trail")] = None,
) -> None:
    """Stop a subscription (kept, inactive, for the record)."""
    from services.notify.subscriptions import remove_subscription

    settings = common.settings()

    async def remove(session: AsyncSession) -> bool:
        async with session.begin():
            prefix = settings.kafka.topic_prefix
            return await remove_subscription(session, prefix, subscription_id, actor=audit_actor(actor))

    if not asyncio.run(with_session(settings, remove)):
        err.print(f"[red]no active subscription {subscription_id!r}[/red]")
        raise typer.Exit(1)
    console.print(f"subscription {subscription_id} removed")


@subscribe_app.command("list")
def subscribe_list_command(
    all_: Annotated[bool, typer.Option("--all", help="Include removed subscriptions")] = False,
) -> None:
    """List subscriptions."""
    from services.notify.subscriptions import list_subscriptions

    rows = asyncio.run(
        with_session(common.settings(), lambda s: list_subscriptions(s, include_inactive=all_))
    )
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
