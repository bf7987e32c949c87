"""Reading a whole topic for operator commands (``shared.kafka.reading``) on a real broker."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from shared.kafka.admin import create_topics
from shared.kafka.reading import read_topic
from shared.kafka.topics import REJECTED, topic_name


async def test_reads_every_partition_to_its_end_and_an_emptied_one_at_once(settings):
    await create_topics(settings.kafka)
    topic = topic_name(settings.kafka.topic_prefix, REJECTED)
    assert await read_topic(settings.kafka, topic, timeout_s=10) == []

    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await producer.start()
    try:
        for number in range(30):
            await producer.send_and_wait(topic, f"r{number}".encode(), key=f"k{number}".encode())
    finally:
        await producer.stop()
    values = sorted(r.value.decode() for r in await read_topic(settings.kafka, topic, timeout_s=10))
    assert values == sorted(f"r{n}" for n in range(30))

    # As retention does: every record deleted, the partitions' ends unchanged.
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
        await admin.delete_records({tp: RecordsToDelete(before_offset=-1) for tp in partitions})
    finally:
        await admin.close()
    assert await read_topic(settings.kafka, topic, timeout_s=10) == []  # not a 10 s wait for nothing
