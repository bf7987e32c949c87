"""The inbox: which events each consumer has applied, so a redelivery applies nothing twice.

A consumer calls :func:`claim` in the transaction that applies an event, with a key that names
the event (its ``source`` + ``id``, or a record's position when it has no readable id). The first
claim inserts a row and returns True; a second delivery of the same event finds the row and
returns False, and the consumer skips it. Because the row commits with the effect, a crash before
the commit leaves neither, and the redelivery applies the event once.
"""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.models import ProcessedEvent

__all__ = ["claim", "release"]


async def claim(session: AsyncSession, consumer: str, key: str) -> bool:
    """Record that ``consumer`` is applying the event ``key``; False when it already was (a redelivery)."""
    claimed = await session.scalar(
        insert(ProcessedEvent)
        .values(consumer=consumer, event_id=key)
        .on_conflict_do_nothing()
        .returning(ProcessedEvent.event_id)
    )
    return claimed is not None


async def release(session: AsyncSession, consumer: str, key: str) -> None:
    """Forget a claim, so the same event may be applied later (a rejected event, sent again once fixed)."""
    await session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.consumer == consumer, ProcessedEvent.event_id == key)
    )
