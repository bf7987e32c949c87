"""Read a whole topic, from its beginning to its end as it is now, without a consumer group.

For operator commands (``drx rejected``, ``drx audit verify --against-topic``): nothing is
committed, so reading changes nothing for the workers.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.config import KafkaSettings
from shared.kafka import records as tolerant_records

__all__ = ["read_topic"]


async def read_topic(
    settings: KafkaSettings, topic: str, timeout_s: float = 30.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every record now on ``topic``, in offset order per partition.

    Raises ``TimeoutError`` when Kafka gives nothing for ``timeout_s`` before the end is
    reached (a long topic that keeps coming is read to its end however long it takes).
    """
    tolerant_records.install()  # a header name that is not UTF-8 must not make the topic unreadable
    consumer = AIOKafkaConsumer(
        topic,
        **settings.client_options(),
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        async with asyncio.timeout(timeout_s):  # without a group, every partition is assigned to us
            while not consumer.assignment():  # noqa: ASYNC110 - aiokafka has no event for it
                await asyncio.sleep(0.05)
            partitions = sorted(consumer.assignment())
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            # Done with a partition when our position reaches its end: also right for one whose
            # records retention has deleted (its first offset is then its end).
            remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        found: list[ConsumerRecord[Any, Any]] = []
        progress = time.monotonic()
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=500)
            for records in batch.values():
                found += records
            if batch:
                progress = time.monotonic()
            elif time.monotonic() - progress > timeout_s:
                raise TimeoutError(f"nothing from {topic} for {timeout_s:g} s before its end")
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return found
    finally:
        await consumer.stop()
