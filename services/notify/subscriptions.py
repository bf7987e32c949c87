"""Subscriptions as data: set, remove and list them, each change with its audit record.

Two doors lead here: ``drx subscribe add|remove|list`` and the ``intake.subscriptions`` topic
(``org.drx.subscription.set`` / ``.removed``, applied by the notify worker). Both validate with
the same model, :class:`shared.events.inbound.SubscriptionSet`. A new webhook subscription gets its
signing secret here, generated and sealed by ``webhook_secrets.py``. Who may manage a subscription is a
rule, :func:`services.notify.domain.authorise`; the SQL is in ``repository.py``. The audit
records keep the address redacted, with its SHA-256 (``shared/redact.py``), never the address.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.repository import NotifyRepository
from services.notify.sealing import Keyring
from services.notify.webhook_secrets import NO_KEY, Issued, SecretRefused, issue_secret
from shared import audit
from shared.db.models import SubscriptionRow
from shared.events.inbound import SubscriptionSet
from shared.redact import fingerprint, redact_address

__all__ = ["list_subscriptions", "remove_subscription", "set_subscription"]

_FIELDS = (
    "recipient_id",
    "recipient_kind",
    "channel",
    "address",
    "digest",
    "crisis_id",
    "country",
    "sector",
    "category",
    "active",
    "owner_source",
)


def _state(row: SubscriptionRow | None) -> dict[str, Any] | None:
    return None if row is None else _audited({field: getattr(row, field) for field in _FIELDS})


def _audited(state: dict[str, Any]) -> dict[str, Any]:
    """A subscription as its audit record keeps it: the address redacted, with its fingerprint.

    The row keeps the real address (delivery needs it, and a row can be changed or removed);
    the audit log is append-only and exported, so it keeps only what tells addresses apart.
    """
    address = state.pop("address")
    return state | {"address": redact_address(address), "address_sha256": fingerprint(address)}


async def set_subscription(
    session: AsyncSession,
    prefix: str,
    sub: SubscriptionSet,
    *,
    actor: str,
    keyring: Keyring | None = None,
    reveal: bool = False,
    now: dt.datetime | None = None,
    causing_event_id: str | None = None,
) -> Issued | None:
    """Add ``sub`` or replace the subscription with its id (and reactivate it).

    A new subscription is owned by ``actor`` (the source, or the operator); a replaced one keeps
    its owner, so a coordinator's change does not take it from the party that made it.

    A webhook subscription without a secret gets one, sealed with ``keyring`` (required for
    webhooks: :class:`SecretRefused` without it): the new secret is returned, to be shown after
    the commit when ``reveal`` (``drx subscribe add``), else kept for ``drx subscribe secret
    reveal``. A replaced subscription keeps its secret; None then.
    """
    if sub.channel == "webhook" and keyring is None:
        raise SecretRefused(NO_KEY)
    repo = NotifyRepository(session)
    held = await repo.subscription(sub.subscription_id, lock=True)
    before = _state(held)
    owner = actor if held is None else held.owner_source
    values = sub.model_dump() | {"active": True, "owner_source": owner}
    await repo.put_subscription(values)
    entry = audit.AuditEntry(
        actor=actor,
        action="subscription.added" if before is None else "subscription.replaced",
        entity_type="subscription",
        entity_id=sub.subscription_id,
        before=before,
        after=_audited({field: values[field] for field in _FIELDS}),
        causing_event_id=causing_event_id,
    )
    audit.record(session, prefix, entry)
    if sub.channel != "webhook" or keyring is None:
        return None
    return await issue_secret(
        session,
        prefix,
        keyring,
        sub.subscription_id,
        actor=actor,
        now=now or dt.datetime.now(dt.UTC),
        reveal=reveal,
        causing_event_id=causing_event_id,
    )


async def remove_subscription(
    session: AsyncSession,
    prefix: str,
    subscription_id: str,
    *,
    actor: str,
    causing_event_id: str | None = None,
) -> bool:
    """Deactivate a subscription (rows stay: deliveries refer to them). False if unknown or inactive."""
    row = await NotifyRepository(session).subscription(subscription_id, lock=True)
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
    return await NotifyRepository(session).subscriptions(include_inactive=include_inactive)
