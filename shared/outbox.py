"""Transactional outbox: events are written in the same transaction as the state that causes them.

:func:`enqueue` adds an event to the current transaction. :class:`OutboxRelay` publishes pending
rows in id order and marks them published. One relay at a time holds a PostgreSQL advisory lock,
so rows leave in the order they were written; a relay that dies after publishing and before
marking publishes those rows again on restart: consumers deduplicate on the CloudEvents
``source`` + ``id``, which stay the same.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import KafkaSettings
from shared.db.models import OutboxMessage
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.faults import fault_point
from shared.kafka.topics import REJECTED, topic_name
from shared.logging import get_logger
from shared.observability import outbox_published

__all__ = ["OutboxRelay", "enqueue", "outbox_message"]

_RELAY_LOCK = 0x647278_0001  # "drx" + 1: the advisory lock only one relay holds at a time
log = get_logger(__name__)


def enqueue(session: AsyncSession, topic: str, event: CloudEvent, key: str | None) -> None:
    """Add ``event`` to the outbox within the caller's transaction (structured CloudEvents mode)."""
    session.add(outbox_message(topic, event, key))


def outbox_message(topic: str, event: CloudEvent, key: str | None) -> OutboxMessage:
    """The outbox row for ``event``; for code that holds a synchronous ``Session`` (session events)."""
    return OutboxMessage(
        topic=topic,
        key=key.encode() if key is not None else None,
        headers={"content-type": STRUCTURED_CONTENT_TYPE},
        payload=event.model_dump_json(exclude_none=True).encode(),
    )


class OutboxRelay:
    """Publishes outbox rows to Kafka. Run one per worker process; they take turns safely."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        kafka: KafkaSettings,
        *,
        batch_size: int = 500,
        poll_interval: float = 0.05,
        after_publish: Callable[[list[int]], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        self._kafka = kafka
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._after_publish = after_publish  # a test hook: runs between publish and mark
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()

    async def start(self) -> None:
        """Connect and publish in the background until :meth:`stop`."""
        await self.connect()
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def connect(self) -> None:
        """Connect the producer only; call :meth:`publish_once` yourself (tests, one-shot tools)."""
        self._producer = AIOKafkaProducer(
            **self._kafka.client_options(),
            enable_idempotence=self._kafka.idempotent_producer,
            acks="all",
            linger_ms=5,
        )
        await self._producer.start()

    def wake(self) -> None:
        """Publish soon: called after a transaction that enqueued something commits."""
        self._wakeup.set()

    async def stop(self) -> None:
        """Finish the batch in hand, then stop; pending rows wait for the next relay."""
        self._stopping.set()
        self._wakeup.set()
        if self._task is not None:
            await self._task
        if self._producer is not None:
            await self._producer.stop()

    async def _run(self) -> None:
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                published = await self.publish_once()
            except Exception:  # the relay must outlive broker and database outages
                log.exception("outbox relay failed; retrying", retry_in_s=backoff)
                await self._sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            if published < self._batch_size:
                await self._sleep(self._poll_interval)

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wakeup.wait(), seconds)
        self._wakeup.clear()

    async def publish_once(self) -> int:
        """Publish up to one batch of pending rows in id order; return how many were published."""
        assert self._producer is not None, "start() the relay first"
        async with self._sessions.begin() as session:
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(_RELAY_LOCK))):
                return 0  # another relay is at work
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.published_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            deliveries = [
                await self._producer.send(
                    row.topic,
                    row.payload,
                    key=row.key,
                    headers=[(name, value.encode()) for name, value in row.headers.items()],
                )
                for row in rows
            ]
            await asyncio.gather(*deliveries)  # every record acknowledged by the broker
            ids = [row.id for row in rows]
            if self._after_publish is not None:
                await self._after_publish(ids)
            fault_point("relay-after-publish")  # the fault suite's kill -9 before rows are marked
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=func.now())
            )
            published = [(row.topic, row.payload) for row in rows]
        # Counted once marked and committed (a relay that dies before that publishes them again).
        outbox_published(topic_name(self._kafka.topic_prefix, REJECTED), published)
        return len(published)
