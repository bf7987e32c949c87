"""The test broker is a real Kafka: topics, produce, consume in a group, committed offsets."""

import asyncio
import contextlib
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.kafka.admin import create_topics, list_topics
from shared.kafka.topics import NEEDS_IN, TOPICS, topic_name


class TestTopicProvisioning:
    async def test_creates_every_topic_with_configured_partitions(self, kafka):
        created = await create_topics(kafka.settings)
        assert sorted(created) == sorted(topic_name(kafka.settings.topic_prefix, s) for s in TOPICS)
        listed = await list_topics(kafka.settings)
        assert listed == dict.fromkeys(created, kafka.settings.partitions)

    async def test_is_idempotent(self, kafka):
        await create_topics(kafka.settings)
        assert await create_topics(kafka.settings) == []

    async def test_broker_does_not_auto_create(self, kafka):
        """Workers must not rely on auto-creation: a topic nobody provisioned does not appear."""
        missing = f"{kafka.settings.topic_prefix}never-created"
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, request_timeout_ms=3000)
        await producer.start()
        try:
            with contextlib.suppress(Exception):  # aiokafka waits for metadata that never comes
                await asyncio.wait_for(producer.send_and_wait(missing, b"x"), 5)
        finally:
            await producer.stop()
        assert missing not in await list_topics(kafka.settings)


class TestRoundTrip:
    async def test_group_consumer_reads_what_was_produced_and_commits(self, kafka):
        await create_topics(kafka.settings, (NEEDS_IN,))
        topic = topic_name(kafka.settings.topic_prefix, NEEDS_IN)
        payloads = {uuid.uuid4().bytes for _ in range(20)}
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, enable_idempotence=True)
        await producer.start()
        try:
            for payload in payloads:
                await producer.send_and_wait(topic, payload, key=payload[:4])
        finally:
            await producer.stop()

        group = f"{kafka.settings.topic_prefix}group"
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka.bootstrap_servers,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        received: set[bytes] = set()
        try:
            async with asyncio.timeout(30):
                while received != payloads:
                    batch = await consumer.getmany(timeout_ms=1000)
                    received |= {record.value for records in batch.values() for record in records}
            await consumer.commit()
        finally:
            await consumer.stop()
        assert received == payloads

        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            offsets = await admin.list_consumer_group_offsets(group)
        finally:
            await admin.close()
        committed = sum(meta.offset for tp, meta in offsets.items() if isinstance(tp, TopicPartition))
        assert committed == len(payloads)
