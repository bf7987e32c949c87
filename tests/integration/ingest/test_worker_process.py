"""`drx run ingest` as an operator runs it: a separate OS process that applies events and stops on SIGTERM."""

import os
import signal
import subprocess

from services.ingest.app import IngestWorker
from shared.kafka.admin import create_topics
from tests.support import builders as b
from tests.support.cli import DRX
from tests.support.kafka import Producer, eventually
from tests.support.provision import register_sources


async def test_worker_process_applies_events_and_stops_on_sigterm(settings):
    await create_topics(settings.kafka)
    await register_sources(settings)
    env = {
        **os.environ,
        "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
        "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
        "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
        "DRX_LOG_FORMAT": "json",
    }
    worker = subprocess.Popen(
        [*DRX, "run", "ingest"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reader = IngestWorker(settings)  # only for its database session factory
    try:
        async with Producer(settings.kafka.bootstrap_servers) as producer:
            topic = f"{settings.kafka.topic_prefix}intake.crises"
            document = b.envelope("org.drx.crisis.declared", b.crisis("c-proc"), b.COORDINATOR[0])
            await producer.send(
                topic, b.encode(document), key="c-proc", headers={"content-type": b"application/json"}
            )

        async def stored() -> bool:
            async with reader.sessions() as session:
                from shared.db.models import CrisisRow

                return await session.get(CrisisRow, "c-proc") is not None

        await eventually(stored, 60, "the worker process to store the crisis")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        await reader.engine.dispose()
