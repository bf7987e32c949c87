"""A real client round trip against a Kafka-compatible broker: the only readiness check we trust.

An open port is not readiness (a KRaft broker binds before it is unfenced, and a port can belong
to another process). Creating a topic, producing, and consuming through a consumer group is.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

__all__ = ["kafka_round_trip"]


async def kafka_round_trip(
    bootstrap_servers: str, timeout: float = 30.0, options: Mapping[str, Any] | None = None
) -> None:
    """Create a scratch topic, produce one record, consume it in a group, commit, delete the topic.

    ``options`` are extra client options (security protocol, SSL context, SASL credentials) for
    a broker that asks for them. Raises ``TimeoutError`` or the client's error when the broker
    cannot do all of that.
    """
    topic = f"__drx_probe_{uuid.uuid4().hex[:12]}"
    payload = uuid.uuid4().bytes
    extra = dict(options or {})
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **extra)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", **extra)
        await producer.start()
        try:
            await asyncio.wait_for(producer.send_and_wait(topic, payload), timeout)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap_servers,
            group_id=f"{topic}-group",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            **extra,
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), timeout)
            if record.value != payload:
                msg = f"probe read back {record.value!r}, not what it wrote"
                raise RuntimeError(msg)
            await consumer.commit()
        finally:
            await consumer.stop()
    finally:
        with contextlib.suppress(Exception):
            await admin.delete_topics([topic])
        await admin.close()
