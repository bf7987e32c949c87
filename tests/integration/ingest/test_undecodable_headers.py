"""A record whose header name is not UTF-8 is rejected by name, and ingest goes on past it.

Before shared.kafka.records, aiokafka's C reader raised UnicodeDecodeError out of getmany, which
ended FastStream's consume task: ingest stayed up and read nothing more from any intake topic.
"""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from tests.support import builders as b
from tests.support.kafka import eventually
from tests.support.raw_records import send_with_raw_headers

ORG = b.SOURCES[1][0]
CONTENT_TYPE = [("content-type", b.HEADERS["content-type"].encode())]


async def test_a_header_name_that_is_not_utf8_is_rejected_and_the_next_need_applied(ingest, settings):
    await ingest.declare(b.crisis())
    servers, topic = settings.kafka.bootstrap_servers, ingest.topic("org.drx.need.posted")
    bad = b.encode(b.envelope("org.drx.need.posted", b.need("n-bad-header"), ORG))
    good = b.encode(b.envelope("org.drx.need.posted", b.need("n-after-bad-header"), ORG))
    await send_with_raw_headers(servers, topic, bad, [*CONTENT_TYPE, (b"\xff\xfebad", b"x")])
    await send_with_raw_headers(servers, topic, good, CONTENT_TYPE)  # same partition, after it

    (rejected,) = await ingest.wait_rejected(1)
    assert rejected["data"]["reason"] == "header '\\udcff\\udcfebad' is not valid UTF-8"
    assert rejected["data"]["source_topic"] == topic
    assert rejected["data"]["source_partition"] == 0
    assert (await ingest.wait_row("need", "n-after-bad-header")).status == "open"
    assert await ingest.row("need", "n-bad-header") is None

    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        partition = TopicPartition(topic, 0)
        end = rejected["data"]["source_offset"] + 2  # the bad record and the need after it

        async def committed_past_both() -> bool:
            offsets = await admin.list_consumer_group_offsets(ingest.worker.group_id)
            return partition in offsets and offsets[partition].offset >= end

        await eventually(committed_past_both, 30, "ingest's committed offset past both records")
    finally:
        await admin.close()
