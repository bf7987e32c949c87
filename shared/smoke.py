"""A round trip through the real drx topics and tables: the stack's end-to-end smoke check.

A FastStream subscriber (explicit group, NACK_ON_ERROR, earliest offset) reads a record from the
needs intake topic and records its event id in ``processed_events``; the check passes when the
row is in PostgreSQL. ``drx dev up`` stacks are checked with it (tests/integration/shared).
"""

from __future__ import annotations

import asyncio
import uuid

from faststream import AckPolicy
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from shared.config import Settings
from shared.db.models import ProcessedEvent
from shared.db.session import create_engine, create_session_factory
from shared.kafka.broker import make_broker
from shared.kafka.topics import NEEDS_IN, topic_name

__all__ = ["smoke_round_trip"]

_CONSUMER = "drx-smoke"


async def smoke_round_trip(settings: Settings, timeout: float = 60.0) -> str:
    """Publish one CloudEvent, consume it with a real group, persist its id; return the id."""
    topic = topic_name(settings.kafka.topic_prefix, NEEDS_IN)
    event_id = f"smoke-{uuid.uuid4()}"
    engine = create_engine(settings.database)
    sessions = create_session_factory(engine)
    seen = asyncio.Event()
    broker = make_broker(settings.kafka, "smoke")

    @broker.subscriber(
        topic,
        group_id=f"{_CONSUMER}-{event_id}",
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=6000,
    )
    async def on_event(body: dict[str, object]) -> None:
        if body.get("id") != event_id:
            return
        async with sessions.begin() as session:
            await session.execute(
                insert(ProcessedEvent).values(consumer=_CONSUMER, event_id=event_id).on_conflict_do_nothing()
            )
        seen.set()

    try:
        await broker.start()
        await broker.publish(
            {
                "specversion": "1.0",
                "id": event_id,
                "source": "drx/smoke",
                "type": "org.drx.smoke",
                "data": {},
            },
            topic,
            key=event_id.encode(),
        )
        await asyncio.wait_for(seen.wait(), timeout)
        async with sessions() as session:
            stored = await session.scalar(
                select(ProcessedEvent.event_id).where(
                    ProcessedEvent.consumer == _CONSUMER, ProcessedEvent.event_id == event_id
                )
            )
        if stored != event_id:
            msg = "the smoke event was consumed but its row is not in PostgreSQL"
            raise RuntimeError(msg)
        return event_id
    finally:
        await broker.stop()
        await engine.dispose()
