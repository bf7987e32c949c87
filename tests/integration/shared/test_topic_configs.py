"""Intake topics carry the broker's clock: created so, altered so; a producer's far-off time is ignored."""

import asyncio
import time

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.kafka.admin import ConfigChange, provision_topics
from shared.kafka.configs import describe_topic_configs
from shared.kafka.topics import CANONICAL, NEEDS_IN, PLEDGES_IN, TOPICS, topic_name
from tests.support.cli import run_drx

TIMESTAMP_TYPE = "message.timestamp.type"
YEAR_33658_MS = 1_000_000_000_000_000


async def timestamp_types(kafka, names):
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        found = await describe_topic_configs(admin, names, [TIMESTAMP_TYPE])
    finally:
        await admin.close()
    return {name: configs[TIMESTAMP_TYPE] for name, configs in found.items()}


async def precreate(kafka, spec, configs):
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
    await admin.start()
    try:
        name = topic_name(kafka.settings.topic_prefix, spec)
        await admin.create_topics([NewTopic(name, 1, 1, topic_configs=configs)])
    finally:
        await admin.close()
    return name


class TestProvisioning:
    async def test_intake_topics_are_created_with_the_brokers_clock_and_the_others_are_not(self, kafka):
        done = await provision_topics(kafka.settings)
        assert len(done.created) == len(TOPICS)
        assert done.changed == []
        names = {spec: topic_name(kafka.settings.topic_prefix, spec) for spec in TOPICS}
        types = await timestamp_types(kafka, names.values())
        for spec, name in names.items():
            expected = "LogAppendTime" if spec.name.startswith("intake.") else "CreateTime"
            assert types[name] == expected, name

    async def test_an_existing_intake_topic_is_altered_once_and_keeps_its_other_configs(self, kafka):
        needs = await precreate(kafka, NEEDS_IN, {TIMESTAMP_TYPE: "CreateTime", "retention.ms": "86400000"})
        done = await provision_topics(kafka.settings)
        assert needs not in done.created
        assert done.changed == [ConfigChange(needs, TIMESTAMP_TYPE, "CreateTime", "LogAppendTime")]
        assert (await timestamp_types(kafka, [needs]))[needs] == "LogAppendTime"
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka.bootstrap_servers)
        await admin.start()
        try:
            retention = await describe_topic_configs(admin, [needs], ["retention.ms"])
        finally:
            await admin.close()
        assert retention[needs]["retention.ms"] == "86400000"  # incremental: the operator's override stays

        again = await provision_topics(kafka.settings)
        assert again.created == []
        assert again.changed == []

    async def test_an_existing_canonical_topic_is_left_as_it_is(self, kafka):
        canonical = await precreate(kafka, CANONICAL, {TIMESTAMP_TYPE: "CreateTime"})
        done = await provision_topics(kafka.settings, (CANONICAL,))
        assert done.created == []
        assert done.changed == []
        assert (await timestamp_types(kafka, [canonical]))[canonical] == "CreateTime"

    async def test_drx_topics_create_says_what_it_changed(self, kafka):
        pledges = await precreate(kafka, PLEDGES_IN, {TIMESTAMP_TYPE: "CreateTime"})
        env = {
            "DRX_KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
            "DRX_KAFKA_TOPIC_PREFIX": kafka.settings.topic_prefix,
            "COLUMNS": "250",
        }
        first = run_drx("topics", "create", env=env)
        assert first.returncode == 0, first.stderr
        assert f"created {len(TOPICS) - 1} topic(s)" in first.stdout
        assert "changed 1 topic config(s)" in first.stdout
        assert f"{pledges}: {TIMESTAMP_TYPE} CreateTime -> LogAppendTime" in first.stdout
        second = run_drx("topics", "create", env=env)
        assert second.returncode == 0, second.stderr
        assert "created 0 topic(s)" in second.stdout
        assert "changed 0 topic config(s)" in second.stdout


class TestBrokerTime:
    async def test_a_record_sent_with_a_far_off_timestamp_comes_back_with_the_brokers(self, kafka):
        """Once altered, even a topic that began with CreateTime stamps new records itself."""
        needs = await precreate(kafka, NEEDS_IN, {TIMESTAMP_TYPE: "CreateTime"})
        await provision_topics(kafka.settings, (NEEDS_IN,))
        before_ms = int(time.time() * 1000)
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(needs, b"x", timestamp_ms=YEAR_33658_MS)
            await producer.send_and_wait(needs, b"y", timestamp_ms=0)
        finally:
            await producer.stop()
        after_ms = int(time.time() * 1000)

        consumer = AIOKafkaConsumer(
            needs, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest", group_id=None
        )
        await consumer.start()
        records: list[ConsumerRecord] = []
        try:
            async with asyncio.timeout(30):
                while len(records) < 2:
                    batch = await consumer.getmany(timeout_ms=1000)
                    records += [r for rs in batch.values() for r in rs]
        finally:
            await consumer.stop()
        assert sorted(r.value for r in records) == [b"x", b"y"]
        for record in records:
            # Both clocks are this machine's: the broker stamped the record while we waited for it.
            assert before_ms - 1000 <= record.timestamp <= after_ms + 1000
            assert record.timestamp_type == 1  # LogAppendTime
