"""Notify's subscriptions consumer rejects a record whose header name is not UTF-8, and goes on past it."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from services.notify.subscriptions import list_subscriptions
from shared.kafka.topics import REJECTED, SUBSCRIPTIONS_IN, topic_name
from tests.support import builders as b
from tests.support.kafka import eventually
from tests.support.pipeline import running_pipeline
from tests.support.raw_records import send_with_raw_headers

ORG = b.ORGANISATION[0]
CONTENT_TYPE = [("content-type", b.HEADERS["content-type"].encode())]


def _subscription(subscription_id: str) -> bytes:
    data = {
        "subscription_id": subscription_id,
        "recipient_id": "trc-gaziantep",
        "recipient_kind": "organisation",
        "channel": "email",
        "address": "ops@example.org",
    }
    return b.encode(b.envelope("org.drx.subscription.set", data, ORG))


async def test_a_header_name_that_is_not_utf8_is_rejected_and_the_next_subscription_applied(settings):
    async with running_pipeline(settings, REJECTED, matchers=0, notify=True) as pipeline:
        notify = pipeline.notify
        assert notify is not None
        servers = settings.kafka.bootstrap_servers
        topic = topic_name(settings.kafka.topic_prefix, SUBSCRIPTIONS_IN)
        await send_with_raw_headers(servers, topic, _subscription("s-bad"), [(b"\xff\xfebad", b"x")])
        await send_with_raw_headers(servers, topic, _subscription("s-good"), CONTENT_TYPE)

        (rejected,) = await pipeline.wait_rejected(1)
        assert rejected["data"]["reason"] == "header '\\udcff\\udcfebad' is not valid UTF-8"
        assert rejected["data"]["source_topic"] == topic

        async def applied() -> list[str]:
            async with notify.sessions() as session:
                return [row.subscription_id for row in await list_subscriptions(session)]

        async def good_applied() -> bool:
            return "s-good" in await applied()

        await eventually(good_applied, 30, "the subscription after the bad record")
        assert "s-bad" not in await applied()

        admin = AIOKafkaAdminClient(bootstrap_servers=servers)
        await admin.start()
        try:
            partition = TopicPartition(topic, 0)
            end = rejected["data"]["source_offset"] + 2

            async def committed_past_both() -> bool:
                offsets = await admin.list_consumer_group_offsets(notify.group_id)
                return partition in offsets and offsets[partition].offset >= end

            await eventually(committed_past_both, 30, "notify's committed offset past both records")
        finally:
            await admin.close()
