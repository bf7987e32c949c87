"""What a worker tells its orchestrator: ``/readyz`` follows PostgreSQL and Kafka going away and
coming back, and a static group member is accepted by Kafka.

The worker runs in the test's process here (its FastStream app, health server included); the
tests that run it as its own OS process are in test_operations_shutdown.py.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import SecretStr

from services.ingest.app import IngestWorker
from shared.config import (
    DatabaseSettings,
    HealthSettings,
    KafkaSettings,
    ScheduleSettings,
    Settings,
    WorkerSettings,
)
from shared.db.models import CrisisRow
from shared.infra._process import free_port
from shared.infra.kafka import ApacheKafkaServer
from shared.kafka.admin import create_topics
from shared.kafka.topics import CRISES_IN, topic_name
from tests.support import builders as b
from tests.support.kafka import Producer, eventually
from tests.support.provision import provision


async def test_readyz_is_503_while_postgresql_is_unreachable(kafka):
    await create_topics(kafka.settings)
    port = free_port()
    settings = Settings(
        kafka=kafka.settings,
        database=DatabaseSettings(
            url=SecretStr(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/drx")
        ),
        health=HealthSettings(host="127.0.0.1", port=port, check_timeout_s=1.0),
        schedule=ScheduleSettings(enabled=False),
    )
    app = IngestWorker(settings).app()
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert (await client.get("/livez")).status_code == 200
            response = await client.get("/readyz")
            assert response.status_code == 503
            answer = response.json()
            assert answer["ready"] is False
            assert answer["checks"]["kafka"] == "ok"
            assert answer["checks"]["postgres"].startswith("unreachable")
            assert "postgres" in answer["reason"]
    finally:
        await app.stop()


async def test_static_membership_is_accepted_by_kafka(settings):
    """A worker with DRX_KAFKA_GROUP_INSTANCE_ID joins its group and consumes."""
    await provision(settings)
    static = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"group_instance_id": "drx-ingest-0"})}
    )
    worker = IngestWorker(static)
    await worker.start()
    try:
        async with Producer(settings.kafka.bootstrap_servers) as producer:
            document = b.envelope("org.drx.crisis.declared", b.crisis("c-static"), b.COORDINATOR[0])
            crises = topic_name(settings.kafka.topic_prefix, CRISES_IN)
            await producer.send(crises, b.encode(document), key="c-static")

        async def stored() -> bool:
            async with worker.sessions() as session:
                return await session.get(CrisisRow, "c-static") is not None

        await eventually(stored, 60, "the crisis, consumed by a static member")
        (subscriber,) = worker.broker.subscribers
        # FastStream's Kafka subscriber keeps its aiokafka consumer in an attribute its type does
        # not declare, and aiokafka says which instance id joined nowhere public.
        consumer = subscriber.consumer  # type: ignore[attr-defined]
        assert consumer._coordinator._group_instance_id == "drx-ingest-0-intake"
    finally:
        await worker.stop()


async def test_readyz_is_503_while_kafka_is_down_and_200_once_it_is_back(database, kafka_broker, tmp_path):
    """A broker of the test's own, stopped and started again on the same port and data.

    The session's broker is left alone: other tests use it, and its restart helper stops and
    starts it in one call, with no moment to look at /readyz in between.
    """
    if kafka_broker.restart is None:
        pytest.skip(
            f"launching a broker of its own needs the Kafka jars; the session uses {kafka_broker.provider}"
        )
    workdir = tmp_path / "kafka"
    workdir.mkdir()
    broker = ApacheKafkaServer(workdir, heap_mb=256)
    broker.start()
    try:
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, partitions=1)
        await create_topics(kafka)
        port = free_port()
        settings = Settings(
            kafka=kafka,
            database=database.settings,
            health=HealthSettings(host="127.0.0.1", port=port, check_timeout_s=1.0),
            schedule=ScheduleSettings(enabled=False),
            worker=WorkerSettings(shutdown_timeout_s=5.0),
        )
        app = IngestWorker(settings).app()
        await app.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                answers: list[dict] = []

                async def ready_is(status: int) -> bool:
                    response = await client.get("/readyz")
                    answers.append(response.json())
                    return response.status_code == status

                await eventually(lambda: ready_is(200), 60, "/readyz 200 with Kafka up")
                await asyncio.to_thread(broker.stop)
                await eventually(lambda: ready_is(503), 30, "/readyz 503 with Kafka stopped")
                answer = answers[-1]
                assert answer["ready"] is False
                assert answer["checks"]["kafka"].startswith("no answer from Kafka"), answer
                assert answer["checks"]["postgres"] == "ok", answer
                assert answer["reason"].startswith("kafka"), answer
                assert (await client.get("/livez")).status_code == 200

                broker.start()  # on this thread: the broker dies with the thread that started it
                await eventually(lambda: ready_is(200), 60, "/readyz 200 once Kafka is back")
                assert answers[-1]["checks"] == {
                    "kafka": "ok",
                    "postgres": "ok",
                    "consumers": "ok",
                    "outbox": "ok",
                }
        finally:
            await app.stop()
    finally:
        broker.stop()
