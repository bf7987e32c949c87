"""The outbox relay publishes what was committed, in order, and again after a crash mid-way."""

import asyncio
import datetime as dt
import json

import pytest
from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel
from sqlalchemy import func, select

from shared.db.models import OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import new_event
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, topic_name
from shared.outbox import OutboxRelay, enqueue


class Note(BaseModel):
    n: int


@pytest.fixture
async def sessions(database):
    engine = create_engine(database.settings)
    yield create_session_factory(engine)
    await engine.dispose()


async def _enqueue(sessions, topic, numbers, *, commit=True):
    session = sessions()
    async with session.begin() as tx:
        for n in numbers:
            event = new_event(
                "org.drx.test", "urn:test", Note(n=n), time=dt.datetime.now(dt.UTC), event_id=f"e{n}"
            )
            enqueue(session, topic, event, key="same-key")
        if not commit:
            await tx.rollback()
    await session.close()


async def _read(kafka, topic, count, timeout=30):
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[str] = []
    try:
        async with asyncio.timeout(timeout):
            while len(seen) < count:
                for records in (await consumer.getmany(timeout_ms=500)).values():
                    seen += [json.loads(r.value)["id"] for r in records]
        extra = await consumer.getmany(timeout_ms=1500)  # nothing more should follow
        seen += [json.loads(r.value)["id"] for records in extra.values() for r in records]
    finally:
        await consumer.stop()
    return seen


async def _pending(sessions):
    async with sessions() as session:
        return await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )


async def test_publishes_committed_rows_in_order_and_marks_them(kafka, sessions):
    await create_topics(kafka.settings, (CANONICAL,))
    topic = topic_name(kafka.settings.topic_prefix, CANONICAL)
    await _enqueue(sessions, topic, range(5))
    await _enqueue(sessions, topic, [99], commit=False)  # rolled back: must never be published
    relay = OutboxRelay(sessions, kafka.settings)
    await relay.start()
    try:
        async with asyncio.timeout(30):
            while await _pending(sessions):
                await asyncio.sleep(0.05)
    finally:
        await relay.stop()
    assert await _read(kafka, topic, 5) == [f"e{n}" for n in range(5)]


async def test_crash_between_publish_and_mark_publishes_again(kafka, sessions):
    """At-least-once: the rows go out again; their event ids are the same, so consumers dedupe."""
    await create_topics(kafka.settings, (CANONICAL,))
    topic = topic_name(kafka.settings.topic_prefix, CANONICAL)
    await _enqueue(sessions, topic, range(3))

    async def crash(ids):
        raise RuntimeError("relay died after publishing")

    crashing = OutboxRelay(sessions, kafka.settings, after_publish=crash)
    await crashing.connect()
    try:
        with pytest.raises(RuntimeError, match="relay died"):
            await crashing.publish_once()
    finally:
        await crashing.stop()
    assert await _pending(sessions) == 3

    healthy = OutboxRelay(sessions, kafka.settings)
    await healthy.connect()
    try:
        assert await healthy.publish_once() == 3
    finally:
        await healthy.stop()
    assert await _pending(sessions) == 0
    assert await _read(kafka, topic, 6) == ["e0", "e1", "e2", "e0", "e1", "e2"]


async def test_two_relays_publish_each_row_once(kafka, sessions):
    await create_topics(kafka.settings, (CANONICAL,))
    topic = topic_name(kafka.settings.topic_prefix, CANONICAL)
    await _enqueue(sessions, topic, range(200))
    relays = [OutboxRelay(sessions, kafka.settings, batch_size=20) for _ in range(2)]
    for relay in relays:
        await relay.start()
    try:
        async with asyncio.timeout(60):
            while await _pending(sessions):
                await asyncio.sleep(0.05)
    finally:
        for relay in relays:
            await relay.stop()
    ids = await _read(kafka, topic, 200)
    assert ids == [f"e{n}" for n in range(200)]  # once each, and in order for the one key
