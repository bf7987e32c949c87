"""Transactional outbox: events are written in the same transaction as the state that causes them.

:func:`enqueue` adds an event to the current transaction. :class:`OutboxRelay` publishes pending
rows in id order and marks them published. One relay at a time holds a PostgreSQL advisory lock,
so rows leave in the order they were written; a relay that dies after publishing and before
marking publishes those rows again on restart: consumers deduplicate on the CloudEvents
``source`` + ``id``, which stay the same.

No row can hold up the others. :func:`enqueue` refuses an event larger than Kafka takes
(:data:`MAX_ROW_BYTES`), so the transaction that made it fails where the bug is. A row the
broker still refuses for what it is (too large for the broker's own limit, a topic that cannot
exist) is *parked*: set aside with its error, counted in ``drx_outbox_parked``, shown by
``drx outbox list`` and released by ``drx outbox retry`` (docs/operations.md), while the rows
after it go on. Errors that say the broker is away keep the row pending and the relay backs off.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka import errors as kafka_errors
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.config import KafkaSettings
from shared.db.models import OutboxMessage
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.faults import fault_point
from shared.kafka.topics import REJECTED, topic_name
from shared.logging import get_logger
from shared.observability import outbox_published
from shared.retrying import Delays, RetryLog

__all__ = [
    "MAX_ROW_BYTES",
    "OutboxRelay",
    "OutboxRowTooLargeError",
    "ParkedRow",
    "enqueue",
    "is_permanent",
    "outbox_message",
    "parked_rows",
    "retry_parked",
]

_RELAY_LOCK = 0x647278_0001  # "drx" + 1: the advisory lock only one relay holds at a time
MAX_ROW_BYTES = 900 * 1024  # under Kafka's default 1 MiB for a record with its key and headers
_ERROR_CHARS = 1_000  # of a parked row's error
log = get_logger(__name__)

# Refusals that say something about the record itself: sending it again cannot succeed.
_PERMANENT = (
    kafka_errors.MessageSizeTooLargeError,
    kafka_errors.RecordTooLargeError,
    kafka_errors.RecordListTooLargeError,
    kafka_errors.InvalidTopicError,
    kafka_errors.CorruptRecordException,
    kafka_errors.UnsupportedCodecError,
)


class OutboxRowTooLargeError(ValueError):
    """An event bigger than Kafka takes: a bug in whatever built it (every input is bounded)."""


def is_permanent(error: BaseException) -> bool:
    """Whether the broker's refusal is about the row (park it) rather than the broker (wait)."""
    return isinstance(error, _PERMANENT) or not isinstance(error, kafka_errors.KafkaError)


def enqueue(session: AsyncSession, topic: str, event: CloudEvent, key: str | None) -> None:
    """Add ``event`` to the outbox within the caller's transaction (structured CloudEvents mode)."""
    session.add(outbox_message(topic, event, key))


def outbox_message(topic: str, event: CloudEvent, key: str | None) -> OutboxMessage:
    """The outbox row for ``event``; for code that holds a synchronous ``Session`` (session events)."""
    payload = event.model_dump_json(exclude_none=True).encode()
    if len(payload) > MAX_ROW_BYTES:
        msg = f"{event.type} {event.id!r} is {len(payload)} bytes; an outbox row may hold {MAX_ROW_BYTES}"
        raise OutboxRowTooLargeError(msg)
    return OutboxMessage(
        topic=topic,
        key=key.encode() if key is not None else None,
        headers={"content-type": STRUCTURED_CONTENT_TYPE},
        payload=payload,
    )


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """A row the relay set aside: which, where to, when, why, and how big."""

    id: int
    topic: str
    created_at: dt.datetime
    parked_at: dt.datetime
    error: str
    size: int


async def parked_rows(session: AsyncSession, limit: int = 1000) -> list[ParkedRow]:
    """The parked rows, oldest first."""
    rows = await session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.topic,
            OutboxMessage.created_at,
            OutboxMessage.parked_at,
            OutboxMessage.error,
            func.length(OutboxMessage.payload),
        )
        .where(OutboxMessage.parked_at.is_not(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    return [ParkedRow(*row) for row in rows]


async def retry_parked(session: AsyncSession, ids: Sequence[int] | None = None) -> int:
    """Give parked rows (these ``ids``, or all) back to the relay; how many were released."""
    statement = update(OutboxMessage).where(OutboxMessage.parked_at.is_not(None))
    if ids is not None:
        statement = statement.where(OutboxMessage.id.in_(ids))
    result = await session.execute(statement.values(parked_at=None, error=None))
    return int(result.rowcount)  # type: ignore[attr-defined]


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
        self._retries = RetryLog(log, "outbox relay", Delays(first_s=0.5, max_s=30.0))

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
        """Publish until stopped; through an outage, back off and log once per window."""
        while not self._stopping.is_set():
            try:
                published = await self.publish_once()
            except Exception as error:  # noqa: BLE001 - the relay outlives outages; RetryLog logs it
                await self._sleep(self._retries.failed(error))
                continue
            self._retries.succeeded()
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
                    .where(OutboxMessage.published_at.is_(None), OutboxMessage.parked_at.is_(None))
                    .order_by(OutboxMessage.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            published, parked, blocked = await self._send(rows)
            ids = [row.id for row in published]
            if self._after_publish is not None:
                await self._after_publish(ids)
            fault_point("relay-after-publish")  # the fault suite's kill -9 before rows are marked
            if ids:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(published_at=func.now())
                )
            for row, error in parked:
                reason = f"{type(error).__name__}: {error}"[:_ERROR_CHARS]
                row.parked_at = dt.datetime.now(dt.UTC)
                row.error = reason
                log.error(
                    "outbox row parked: the broker refused it", row=row.id, topic=row.topic, error=reason
                )
            sent = [(row.topic, row.payload) for row in published]
        # Counted once marked and committed (a relay that dies before that publishes them again).
        outbox_published(topic_name(self._kafka.topic_prefix, REJECTED), sent)
        if blocked is not None:
            raise blocked  # the broker is away: _run backs off; the rows before it are marked
        return len(sent)

    async def _send(
        self, rows: Sequence[OutboxMessage]
    ) -> tuple[list[OutboxMessage], list[tuple[OutboxMessage, BaseException]], BaseException | None]:
        """Send ``rows`` and sort them: published, parked with their error, and the first transient error.

        Rows after a transient failure count as not published even when the broker took them:
        they go again, in order, with the failed one (consumers deduplicate the repeats).
        """
        assert self._producer is not None, "start() the relay first"
        outcomes: list[asyncio.Future[object] | BaseException] = []
        for row in rows:
            try:
                outcomes.append(
                    await self._producer.send(
                        row.topic,
                        row.payload,
                        key=row.key,
                        headers=[(name, value.encode()) for name, value in row.headers.items()],
                    )
                )
            except Exception as error:  # noqa: BLE001 - refused before sending: sorted below
                outcomes.append(error)
        pending = [outcome for outcome in outcomes if isinstance(outcome, asyncio.Future)]
        acknowledged = iter(await asyncio.gather(*pending, return_exceptions=True))
        published: list[OutboxMessage] = []
        parked: list[tuple[OutboxMessage, BaseException]] = []
        for row, outcome in zip(rows, outcomes, strict=True):
            result = next(acknowledged) if isinstance(outcome, asyncio.Future) else outcome
            if not isinstance(result, BaseException):
                published.append(row)
            elif is_permanent(result):
                parked.append((row, result))
            else:
                return published, parked, result
        return published, parked, None

        # Counted once marked and committed (a relay that dies before that publishes them again).
        outbox_published(topic_name(self._kafka.topic_prefix, REJECTED), published)
        return len(published)
