"""Read a whole topic, from its beginning to its end as it is now, without a consumer group.

For operator commands (``drx rejected``, ``drx audit verify --against-topic``): nothing is
committed, so reading changes nothing for the workers.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord

from shared.config import KafkaSettings

__all__ = ["read_topic"]


async def read_topic(
    settings: KafkaSettings, topic: str, timeout_s: float = 30.0
) -> list[ConsumerRecord[Any, Any]]:
    """Every record now on ``topic``, in offset order per partition.

    Raises ``TimeoutError`` when the end is not reached within ``timeout_s``.
    """
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
            found: list[ConsumerRecord[Any, Any]] = []
            remaining = {tp for tp, end in ends.items() if end > 0}
            while remaining:
                batch = await consumer.getmany(*remaining, timeout_ms=500)
                for tp, records in batch.items():
                    found += records
                    if records and records[-1].offset + 1 >= ends[tp]:
                        remaining.discard(tp)
            return found
    finally:
        await consumer.stop()
