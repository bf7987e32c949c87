"""Subscriptions as data: set, remove and list them, each change with its audit record.

Two doors lead here: ``drx subscribe add|remove|list`` and the ``intake.subscriptions`` topic
(``org.drx.subscription.set`` / ``.removed``, applied by the notify worker). Both validate with
the same model, :class:`shared.events.inbound.SubscriptionSet`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.db.models import SourceRow, SubscriptionRow
from shared.events.inbound import SubscriptionSet

__all__ = ["authorise", "list_subscriptions", "remove_subscription", "set_subscription"]

_FIELDS = (
    "recipient_id",
    "recipient_kind",
    "channel",
    "address",
    "key_id",
    "digest",
    "crisis_id",
    "country",
    "sector",
    "category",
    "active",
)


def _state(row: SubscriptionRow | None) -> dict[str, Any] | None:
    return None if row is None else {field: getattr(row, field) for field in _FIELDS}


async def set_subscription(
    session: AsyncSession,
    prefix: str,
    sub: SubscriptionSet,
    *,
    actor: str,
    causing_event_id: str | None = None,
) -> None:
    """Add ``sub`` or replace the subscription with its id (and reactivate it)."""
    before = _state(await session.get(SubscriptionRow, sub.subscription_id, with_for_update=True))
    values = sub.model_dump() | {"active": True}
    await session.execute(
        insert(SubscriptionRow)
        .values(**values)
        .on_conflict_do_update(index_elements=["subscription_id"], set_=values)
    )
    entry = audit.AuditEntry(
        actor=actor,
        action="subscription.added" if before is None else "subscription.replaced",
        entity_type="subscription",
        entity_id=sub.subscription_id,
        before=before,
        after={field: values[field] for field in _FIELDS},
        causing_event_id=causing_event_id,
    )
    audit.record(session, prefix, entry)


async def remove_subscription(
    session: AsyncSession,
    prefix: str,
    subscription_id: str,
    *,
    actor: str,
    causing_event_id: str | None = None,
) -> bool:
    """Deactivate a subscription (rows stay: deliveries refer to them). False if unknown or inactive."""
    row = await session.get(SubscriptionRow, subscription_id, with_for_update=True)
    if row is None or not row.active:
        return False
    before = _state(row)
    row.active = False
    entry = audit.AuditEntry(
        actor=actor,
        action="subscription.removed",
        entity_type="subscription",
        entity_id=subscription_id,
        before=before,
        after=_state(row),
        causing_event_id=causing_event_id,
    )
    audit.record(session, prefix, entry)
    return True


async def list_subscriptions(
    session: AsyncSession, *, include_inactive: bool = False
) -> list[SubscriptionRow]:
    query = select(SubscriptionRow).order_by(SubscriptionRow.subscription_id)
    if not include_inactive:
        query = query.where(SubscriptionRow.active)
    return list(await session.scalars(query))


async def authorise(
    session: AsyncSession, source: str, recipient_kind: str | None, recipient_id: str | None
) -> str | None:
    """Why ``source`` may not manage this subscription, or None if it may.

    Coordinators manage any subscription; an organisation or donor only its own party's.
    """
    registered = await session.get(SourceRow, source)
    if registered is None:
        return f"source {source!r} is not registered (drx sources add)"
    if registered.role == "coordinator":
        return None
    if recipient_kind != registered.role or recipient_id != registered.party_id:
        return (
            f"source {source!r} is a {registered.role} for {registered.party_id!r}; it may manage only "
            f"its own {registered.role} subscriptions"
        )
    return None
