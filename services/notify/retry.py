"""``drx deliveries retry``: an operator sends chosen dead letters again, once the cause is fixed.

A dead-lettered delivery (``status = 'dead'``, after ``DRX_NOTIFY_MAX_ATTEMPTS`` failures or a
failure that no retry could fix) stays in the table with its last error. Retrying puts it back
to ``pending`` with its attempts at 0 and due now, so notify's sending loop
(``services/notify/delivery.py``) picks it up as it would a new one: same id, same body, same
signing, and the ``org.drx.notification.sent`` event and audit record when it arrives.

Each retried row gets a ``delivery.retried`` audit record naming who asked and the attempts it
had; never its address or the subscription's secret. A delivery that is already pending or sent
is left as it is and the answer says so, so running the same command twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared import audit
from shared.db.models import DeliveryRow

__all__ = ["Outcome", "RetryResult", "outcome_for", "retry_dead_since", "retry_deliveries"]

Outcome = Literal["retried", "already pending", "already sent", "not dead", "unknown"]


@dataclass(frozen=True, slots=True)
class RetryResult:
    """What happened to one delivery id, as the CLI prints it."""

    delivery_id: str
    outcome: Outcome
    status: str | None = None  # the row's status when it was not retried

    def __str__(self) -> str:
        if self.outcome == "retried":
            return f"{self.delivery_id}: retried, it will be sent again shortly"
        if self.outcome == "unknown":
            return f"{self.delivery_id}: no such delivery"
        if self.outcome == "not dead":
            return f"{self.delivery_id}: not retried, it is {self.status} (only dead letters are retried)"
        return f"{self.delivery_id}: not retried, it is {self.outcome.removeprefix('already ')} already"


def outcome_for(status: str | None) -> Outcome:
    """The pure rule: only a dead letter is retried; pending and sent ones are answered as such."""
    if status is None:
        return "unknown"
    if status == "dead":
        return "retried"
    if status == "pending":
        return "already pending"
    if status == "sent":
        return "already sent"
    return "not dead"  # held for a digest, or folded into one: the digest carries it


async def retry_deliveries(
    session: AsyncSession, prefix: str, delivery_ids: Sequence[str], *, actor: str, now: dt.datetime
) -> list[RetryResult]:
    """Retry each named delivery that is dead, in the caller's transaction, one result per id."""
    results = []
    for delivery_id in dict.fromkeys(delivery_ids):  # a repeated id is answered once
        row = await session.scalar(
            select(DeliveryRow).where(DeliveryRow.delivery_id == delivery_id).with_for_update()
        )
        outcome = outcome_for(row.status if row is not None else None)
        if row is None or outcome != "retried":
            results.append(RetryResult(delivery_id, outcome, row.status if row is not None else None))
            continue
        await session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.delivery_id == delivery_id, DeliveryRow.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=now)
        )
        entry = audit.AuditEntry(
            actor=actor,
            action="delivery.retried",
            entity_type="notification",
            entity_id=delivery_id,
            before={"status": "dead", "attempts": row.attempts},
            after={"status": "pending", "attempts": 0},
            causing_event_id=row.causing_event_id,
            correlation_id=row.correlation_id,
        )
        audit.record(session, prefix, entry, at=now)
        results.append(RetryResult(delivery_id, "retried"))
    return results


async def retry_dead_since(
    session: AsyncSession, prefix: str, since: dt.datetime, *, actor: str, now: dt.datetime
) -> list[RetryResult]:
    """Retry every dead letter created at or after ``since`` (oldest first)."""
    ids = await session.scalars(
        select(DeliveryRow.delivery_id)
        .where(DeliveryRow.status == "dead", DeliveryRow.created_at >= since)
        .order_by(DeliveryRow.created_at)
    )
    return await retry_deliveries(session, prefix, list(ids), actor=actor, now=now)
