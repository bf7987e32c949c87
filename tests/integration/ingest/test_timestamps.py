"""A record's timestamp cannot stall ingest or move its "now": the broker's clock, else the worker's."""

from __future__ import annotations

import dataclasses

import pytest
import structlog
from aiokafka import AIOKafkaProducer

from services.ingest.domain import Reference
from services.ingest.service import IngestService
from shared.db.session import create_engine, create_session_factory
from shared.kafka.topics import CRISES_IN, NEEDS_IN
from tests.support import builders as b
from tests.support.provision import register_sources

ORG = b.ORGANISATION[0]
YEAR_33658_MS = 1_000_000_000_000_000


@pytest.fixture
async def service(settings):
    await register_sources(settings)
    engine = create_engine(settings.database)
    yield IngestService(create_session_factory(engine), Reference.load(), "drx.")
    await engine.dispose()


async def test_a_far_off_timestamp_is_judged_by_the_workers_clock_not_raised_on(service):
    """What a topic still on CreateTime hands ingest: once, the year 33658 stopped it."""
    crisis = b.raw(CRISES_IN, "org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])
    future = dataclasses.replace(
        b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG), timestamp_ms=YEAR_33658_MS
    )
    past = dataclasses.replace(b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-2"), ORG), timestamp_ms=-1)
    with structlog.testing.capture_logs() as logs:
        results = await service.handle_batch([crisis, future, past])
    # needed_by is 10 days from today: judged in 33658 it would be past, so these were judged now.
    assert [r.outcome for r in results] == ["accepted", "accepted", "accepted"]
    replaced = [e for e in logs if e["event"] == "record timestamp replaced by this worker's clock"]
    assert [e["position"] for e in replaced] == [str(future.position), str(past.position)]


async def test_a_far_off_timestamp_sent_to_an_intake_topic_is_replaced_by_the_brokers(ingest):
    await ingest.declare(b.crisis())
    producer = AIOKafkaProducer(bootstrap_servers=ingest.settings.kafka.bootstrap_servers)
    await producer.start()
    try:
        document = b.envelope("org.drx.need.posted", b.need("n-far"), ORG)
        await producer.send_and_wait(
            ingest.topic("org.drx.need.posted"),
            b.encode(document),
            key=b"n-far",
            headers=[(k, v.encode()) for k, v in b.HEADERS.items()],
            timestamp_ms=YEAR_33658_MS,
        )
    finally:
        await producer.stop()
    await ingest.post("org.drx.need.posted", b.need("n-after"), ORG)

    assert (await ingest.wait_row("need", "n-far")).status == "open"
    assert (await ingest.wait_row("need", "n-after")).status == "open"
    assert not ingest.out.of_type("org.drx.input.rejected")
