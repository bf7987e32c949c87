"""Notify's database edge: the source registry it reads, its subscriptions, their sealed webhook
secrets and deliveries.

All SQL notify runs is here, inside the caller's transaction. Rows become plain values
(:class:`SubscriptionView`, :class:`RegisteredSource`) before the rules in ``domain.py`` see them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, delete, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import (
    Audience,
    Bounds,
    HeldSubscription,
    Party,
    RegisteredSource,
    SubscriptionView,
)
from shared.db.models import DeliveryRow, SourceRow, SubscriptionRow, WebhookSecretRow
from shared.events.outbound import MatchUpdated, NeedCoverage
from shared.sources import scope_of

__all__ = ["NotifyRepository", "view"]


def view(row: SubscriptionRow) -> SubscriptionView:
    """A subscription row as the rules see it."""
    return SubscriptionView(
        subscription_id=row.subscription_id,
        recipient_id=row.recipient_id,
        recipient_kind=row.recipient_kind,  # type: ignore[arg-type]  # CHECK-constrained column
        channel=row.channel,  # type: ignore[arg-type]
        digest=row.digest,  # type: ignore[arg-type]
        crisis_id=row.crisis_id,
        country=row.country,
        sector=row.sector,
        category=row.category,
        address=row.address,
    )


class NotifyRepository:
    """All SQL notify runs, inside the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- the source registry (ingest's table, read to authorise subscriptions) ---------------------

    async def registered_source(self, source: str) -> RegisteredSource | None:
        row = await self._session.get(SourceRow, source)
        if row is None:
            return None
        return RegisteredSource(
            row.source, row.role, row.party_id, row.revoked_at, row.revoked_reason, scope_of(row)
        )

    # --- subscriptions -----------------------------------------------------------------------------

    async def subscription(self, subscription_id: str, *, lock: bool = False) -> SubscriptionRow | None:
        return await self._session.get(SubscriptionRow, subscription_id, with_for_update=lock or None)

    async def held_subscription(self, subscription_id: str) -> HeldSubscription | None:
        """The stored subscription with this id, as the ownership rule sees it, locked."""
        row = await self.subscription(subscription_id, lock=True)
        if row is None:
            return None
        return HeldSubscription(
            row.subscription_id,
            row.owner_source,
            Party(row.recipient_kind, row.recipient_id),
            Bounds(row.crisis_id, row.country),
        )

    async def put_subscription(self, values: dict[str, Any]) -> None:
        """Insert the subscription, or replace the one with its id."""
        await self._session.execute(
            insert(SubscriptionRow)
            .values(**values)
            .on_conflict_do_update(index_elements=["subscription_id"], set_=values)
        )

    async def subscriptions(self, *, include_inactive: bool = False) -> list[SubscriptionRow]:
        query = select(SubscriptionRow).order_by(SubscriptionRow.subscription_id)
        if not include_inactive:
            query = query.where(SubscriptionRow.active)
        return list(await self._session.scalars(query))

    async def match_subscriptions(
        self, match: MatchUpdated, audience: frozenset[Audience]
    ) -> list[SubscriptionView]:
        """Active subscriptions that may hear of ``match``: coordinators (if in audience), its parties."""
        coordinators = SubscriptionRow.recipient_kind == "coordinator"
        rows = await self._session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.active,
                or_(
                    coordinators if "coordinator" in audience else false(),
                    and_(
                        SubscriptionRow.recipient_kind == "organisation",
                        SubscriptionRow.recipient_id == match.organisation_id,
                    ),
                    and_(
                        SubscriptionRow.recipient_kind == "donor",
                        SubscriptionRow.recipient_id == match.donor_id,
                    ),
                ),
            )
        )
        return [view(row) for row in rows]

    async def coverage_subscriptions(self, coverage: NeedCoverage) -> list[SubscriptionView]:
        """Active subscriptions alerted about the need, and its organisation's, by id."""
        alerted = select(DeliveryRow.subscription_id).where(
            DeliveryRow.need_id == coverage.need_id, DeliveryRow.kind.like("match.%")
        )
        rows = await self._session.scalars(
            select(SubscriptionRow)
            .where(
                SubscriptionRow.active,
                or_(
                    SubscriptionRow.subscription_id.in_(alerted),
                    and_(
                        SubscriptionRow.recipient_kind == "organisation",
                        SubscriptionRow.recipient_id == coverage.organisation_id,
                    ),
                ),
            )
            .order_by(SubscriptionRow.subscription_id)
        )
        return [view(row) for row in rows]

    async def party_subscriptions(self, kind: str, party_id: str) -> list[SubscriptionView]:
        """The active subscriptions of one organisation or donor."""
        rows = await self._session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.active,
                SubscriptionRow.recipient_kind == kind,
                SubscriptionRow.recipient_id == party_id,
            )
        )
        return [view(row) for row in rows]

    # --- webhook secrets (sealed; services/notify/webhook_secrets.py opens them) ---------------------

    async def current_secret(self, subscription_id: str) -> WebhookSecretRow | None:
        """The subscription's current secret (the one without ``retires_at``), locked."""
        return await self._session.scalar(
            select(WebhookSecretRow)
            .where(WebhookSecretRow.subscription_id == subscription_id, WebhookSecretRow.retires_at.is_(None))
            .with_for_update()
        )

    async def signing_secrets(self, subscription_id: str, now: dt.datetime) -> list[WebhookSecretRow]:
        """The secrets that sign for the subscription at ``now``: the current one, then one in its overlap."""
        rows = await self._session.scalars(
            select(WebhookSecretRow)
            .where(
                WebhookSecretRow.subscription_id == subscription_id,
                or_(WebhookSecretRow.retires_at.is_(None), WebhookSecretRow.retires_at > now),
            )
            .order_by(WebhookSecretRow.version.desc())
        )
        return list(rows)

    async def drop_retiring_secrets(self, subscription_id: str) -> None:
        """Delete the subscription's secrets that were already replaced (in their overlap or past it)."""
        await self._session.execute(
            delete(WebhookSecretRow).where(
                WebhookSecretRow.subscription_id == subscription_id, WebhookSecretRow.retires_at.is_not(None)
            )
        )

    async def latest_secret_version(self, subscription_id: str) -> int:
        version = await self._session.scalar(
            select(func.max(WebhookSecretRow.version)).where(
                WebhookSecretRow.subscription_id == subscription_id
            )
        )
        return int(version or 0)

    def add_secret(self, row: WebhookSecretRow) -> None:
        self._session.add(row)

    async def all_secrets(self) -> list[WebhookSecretRow]:
        """Every sealed secret, locked (for rewrapping them with a new key)."""
        rows = await self._session.scalars(
            select(WebhookSecretRow)
            .order_by(WebhookSecretRow.subscription_id, WebhookSecretRow.version)
            .with_for_update()
        )
        return list(rows)

    # --- deliveries --------------------------------------------------------------------------------

    async def add_delivery(self, values: dict[str, Any]) -> bool:
        """Insert a delivery; False if one with its id exists (the recipient has this alert)."""
        created = await self._session.scalar(
            insert(DeliveryRow).values(**values).on_conflict_do_nothing().returning(DeliveryRow.delivery_id)
        )
        return created is not None

    async def lease_due(self, now: dt.datetime, lease: dt.timedelta, limit: int) -> list[DeliveryRow]:
        """Take up to ``limit`` due pending deliveries, rows others hold skipped, for ``lease``.

        Each taken row's ``attempts`` goes up by one and its next attempt moves past the lease,
        so another worker takes it again only if this attempt never records its outcome.
        """
        due = (
            select(DeliveryRow.delivery_id)
            .where(DeliveryRow.status == "pending", DeliveryRow.next_attempt_at <= now)
            .order_by(DeliveryRow.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = await self._session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.delivery_id.in_(due.scalar_subquery()))
            .values(attempts=DeliveryRow.attempts + 1, next_attempt_at=now + lease)
            .returning(DeliveryRow)
        )
        return list(rows.scalars())

    async def settle(self, delivery_id: str, attempt: int, **values: Any) -> bool:
        """Write an attempt's outcome only if no later attempt took the row over (its lease ran out)."""
        result = await self._session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.delivery_id == delivery_id,
                DeliveryRow.attempts == attempt,
                DeliveryRow.status == "pending",
            )
            .values(**values)
            .returning(DeliveryRow.delivery_id)
        )
        return result.scalar() is not None

    async def held(self) -> Sequence[tuple[DeliveryRow, str]]:
        """Deliveries held for a digest, with their subscription's digest mode, locked, in order."""
        result = await self._session.execute(
            select(DeliveryRow, SubscriptionRow.digest)
            .join(SubscriptionRow, SubscriptionRow.subscription_id == DeliveryRow.subscription_id)
            .where(DeliveryRow.status == "held")
            .order_by(DeliveryRow.subscription_id, DeliveryRow.created_at, DeliveryRow.delivery_id)
            .with_for_update(of=DeliveryRow, skip_locked=True)
        )
        return [(row, digest) for row, digest in result]

    async def add_digest(self, values: dict[str, Any], folded: list[str]) -> None:
        """Insert a digest delivery and mark the deliveries it folds as digested into it."""
        await self._session.execute(insert(DeliveryRow).values(**values).on_conflict_do_nothing())
        await self._session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.delivery_id.in_(folded))
            .values(status="digested", digest_id=values["delivery_id"])
        )

    async def backlog(self) -> int:
        """Deliveries waiting to be sent (due or not)."""
        count = await self._session.scalar(
            select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == "pending")
        )
        return int(count or 0)
