"""What the demo reads back while it runs: the output topics, and whether the pipeline is idle.

The observer follows ``canonical``, ``matches``, ``notifications`` and ``rejected`` from the
start, counting for the live line and keeping the latest state of every match (decisions are
taken on those). The pipeline is idle when ingest has processed everything posted, the outbox
and the deliveries have nothing pending, every subscription posted exists, and every drx
consumer group has committed everything on every topic it reads. Waiting for "nothing changed
for a second" once called matching idle before it had applied the last decisions (the summary
showed fulfilled 0 while the database held 27); these conditions say when the work is done.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.demo.receiver import WebhookReceiver
from services.demo.selection import MatchState
from services.demo.summary import Rejection, Tally
from shared.config import KafkaSettings
from shared.db.models import DeliveryRow, OutboxMessage, ProcessedEvent, SubscriptionRow
from shared.kafka.lag import behind, group_lags, service_reads
from shared.kafka.topics import CANONICAL, MATCHES, NOTIFICATIONS, REJECTED, topic_name

__all__ = ["Observed", "observe", "pending", "wait_until_idle"]

_INGEST_CONSUMER = "ingest"
_RECORDED = frozenset({"org.drx.crisis.recorded", "org.drx.need.recorded", "org.drx.pledge.recorded"})


@dataclass
class Observed:
    """What the demo has read back from the output topics."""

    tally: Tally
    matches: dict[str, MatchState] = field(default_factory=dict)
    rejections: list[Rejection] = field(default_factory=list)
    records: int = 0

    def apply(self, event: dict[str, Any]) -> None:
        """Count one output event, and keep it if it is a rejection or a match's newer state."""
        kind, data, tally = event["type"], event.get("data") or {}, self.tally
        if kind in _RECORDED:
            tally.accepted += 1
        elif kind == "org.drx.decision.recorded":
            tally.accepted += 1
            tally.decisions += 1
        elif kind == "org.drx.input.rejected":
            tally.rejected += 1
            self.rejections.append(
                Rejection(
                    reason=data["reason"],
                    source_topic=data["source_topic"],
                    event_id=data.get("event_id"),
                    event_type=data.get("event_type"),
                    original_text=data.get("original_text"),
                )
            )
        elif kind == "org.drx.notification.sent":
            tally.alerts += 1
        elif kind.startswith("org.drx.match.") and "match_id" in data and "status" in data:
            current = self.matches.get(data["match_id"])
            if current is None and data["status"] == "proposed":
                tally.proposals += 1
            if current is None or data["revision"] >= current.revision:
                self.matches[data["match_id"]] = MatchState(
                    data["match_id"],
                    data["need_id"],
                    data["pledge_id"],
                    data["status"],
                    data["category"],
                    data["context"]["sector"],
                    data["revision"],
                )


async def observe(kafka: KafkaSettings, observed: Observed, receiver: WebhookReceiver) -> None:
    """Read the output topics into ``observed`` until cancelled."""
    topics = [topic_name(kafka.topic_prefix, t) for t in (CANONICAL, MATCHES, NOTIFICATIONS, REJECTED)]
    consumer = AIOKafkaConsumer(
        *topics,
        **kafka.client_options(),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for record in records:
                    observed.records += 1
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        observed.apply(json.loads(record.value))
            observed.tally.webhooks = receiver.received
    finally:
        await consumer.stop()


@dataclass(frozen=True, slots=True)
class _Database:
    """What the database says is still to do, and a value that changes when an outbox row is added."""

    waiting: list[str]
    outbox_written: tuple[object, ...]


async def _database(
    sessions: async_sessionmaker[AsyncSession], observed: Observed, to_ingest: int, subscribed: set[str]
) -> _Database:
    async with sessions() as session:
        ingested = await session.scalar(
            select(func.count())
            .select_from(ProcessedEvent)
            .where(ProcessedEvent.consumer == _INGEST_CONSUMER)
        )
        outbox_pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
        written = (await session.execute(select(func.count(), func.max(OutboxMessage.id)))).one()
        deliveries_pending = await session.scalar(
            select(func.count()).select_from(DeliveryRow).where(DeliveryRow.status == "pending")
        )
        subscriptions = set(await session.scalars(select(SubscriptionRow.subscription_id)))
    observed.tally.subscriptions = len(subscriptions)
    waiting = []
    if (ingested or 0) < to_ingest:
        waiting.append(f"ingest has processed {ingested} of the {to_ingest} events posted")
    if outbox_pending:
        waiting.append(f"{outbox_pending} outbox rows are not yet published")
    if deliveries_pending:
        waiting.append(f"{deliveries_pending} deliveries are pending")
    if missing := subscribed - subscriptions:
        waiting.append(f"{len(missing)} subscriptions posted do not exist yet")
    return _Database(waiting, tuple(written))


async def pending(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaSettings,
    observed: Observed,
    *,
    to_ingest: int,
    subscribed: set[str],
) -> list[str]:
    """What is still to do, in words; empty when every effect of everything posted is applied.

    The database is read before and after the consumer lag: a record handled between the two
    readings wrote its outbox row in the same transaction as its offset commit came after, so
    the second reading sees a new row (or a pending one) and the check does not pass. Only
    when the outbox is empty and unchanged on both sides of a lag of 0 for every group on
    every topic it reads is there nothing in flight anywhere.
    """
    before = await _database(sessions, observed, to_ingest, subscribed)
    if before.waiting:
        return before.waiting
    waiting = [str(lag) for lag in behind(await group_lags(kafka, service_reads(kafka.topic_prefix)))]
    if waiting:
        return waiting
    after = await _database(sessions, observed, to_ingest, subscribed)
    if after.waiting:
        return after.waiting
    if after.outbox_written != before.outbox_written:
        return ["the workers wrote new outbox rows while the lag was read"]
    return []


async def wait_until_idle(
    sessions: async_sessionmaker[AsyncSession],
    kafka: KafkaSettings,
    observed: Observed,
    *,
    to_ingest: int,
    subscribed: set[str],
    timeout: float,
) -> list[str]:
    """Wait until :func:`pending` finds nothing to do; on timeout, what was still waiting (else [])."""
    deadline = time.monotonic() + timeout
    while True:
        waiting = await pending(sessions, kafka, observed, to_ingest=to_ingest, subscribed=subscribed)
        if not waiting or time.monotonic() >= deadline:
            return waiting
        await asyncio.sleep(0.2)
