"""What the demo reads back while it runs: the output topics, and whether the pipeline is idle.

The observer follows ``canonical``, ``matches``, ``notifications`` and ``rejected`` from the
start, counting for the live line and keeping the latest state of every match (decisions are
taken on those). The pipeline is idle when ingest has processed everything posted, the outbox
and the deliveries have nothing pending, every subscription posted exists, and nothing in the
database or on those topics has changed for a second.
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
from shared.kafka.topics import CANONICAL, MATCHES, NOTIFICATIONS, REJECTED, topic_name

__all__ = ["Observed", "observe", "wait_until_idle"]

_IDLE_S = 1.0  # the pipeline is idle when nothing changed for this long and nothing is pending
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


async def _fingerprint(
    sessions: async_sessionmaker[AsyncSession], observed: Observed, to_ingest: int, subscribed: set[str]
) -> tuple[bool, tuple[object, ...]]:
    """(nothing is pending, a value that changes whenever anything happens)."""
    async with sessions() as session:
        processed = dict(
            (
                await session.execute(
                    select(ProcessedEvent.consumer, func.count()).group_by(ProcessedEvent.consumer)
                )
            )
            .tuples()
            .all()
        )
        outbox_pending = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
        )
        outbox_last = await session.scalar(select(func.max(OutboxMessage.id)))
        deliveries = dict(
            (await session.execute(select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)))
            .tuples()
            .all()
        )
        subscriptions = set(await session.scalars(select(SubscriptionRow.subscription_id)))
    observed.tally.subscriptions = len(subscriptions)
    idle = (
        processed.get(_INGEST_CONSUMER, 0) >= to_ingest
        and not outbox_pending
        and not deliveries.get("pending", 0)
        and subscribed <= subscriptions
    )
    fingerprint = (sorted(processed.items()), outbox_last, sorted(deliveries.items()), observed.records)
    return idle, fingerprint


async def wait_until_idle(
    sessions: async_sessionmaker[AsyncSession],
    observed: Observed,
    *,
    to_ingest: int,
    subscribed: set[str],
    timeout: float,
) -> bool:
    """Wait until ``to_ingest`` events are processed and nothing has moved for a second; False on timeout."""
    deadline = time.monotonic() + timeout
    last: tuple[object, ...] | None = None
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        idle, fingerprint = await _fingerprint(sessions, observed, to_ingest, subscribed)
        if fingerprint != last:
            last, quiet_since = fingerprint, time.monotonic()
        elif idle and time.monotonic() - quiet_since >= _IDLE_S:
            return True
        await asyncio.sleep(0.2)
    return False
