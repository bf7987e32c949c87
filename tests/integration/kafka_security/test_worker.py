"""A real worker over SASL_SSL: ingest, signed in as ``drx-ingest``, applies a need end to end.

The need is posted by the organisation's own principal and its crisis by the coordinator's;
ingest reads both with its group, stores them in the real PostgreSQL of the suite, and its
outbox relay publishes ``need.recorded`` to ``canonical`` with an idempotent producer, all
under the ACLs ``drx topics create`` wrote (``conftest.py``).
"""

from __future__ import annotations

import json
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy import select

from services.ingest.app import IngestWorker
from shared.config import KafkaSettings, ScheduleSettings, Settings
from shared.db.models import CrisisRow, NeedRow
from tests.integration.kafka_security.conftest import INTEGRATIONS, PREFIX
from tests.support.builders import COORDINATOR, HEADERS, ORGANISATION, crisis, encode, envelope, need
from tests.support.kafka import eventually
from tests.support.provision import register_sources

ORGANISATION_PRINCIPAL, _, COORDINATOR_PRINCIPAL = (i.principal for i in INTEGRATIONS)


async def post(
    settings: KafkaSettings, topic: str, event_type: str, data: dict[str, Any], source: str
) -> None:
    producer = AIOKafkaProducer(**settings.client_options(), enable_idempotence=True, acks="all")
    try:
        await producer.start()
        await producer.send_and_wait(
            f"{PREFIX}{topic}",
            encode(envelope(event_type, data, source)),
            headers=[(k, v.encode()) for k, v in HEADERS.items()],
        )
    finally:
        await producer.stop()


async def recorded_on_canonical(settings: KafkaSettings, need_id: str) -> bool:
    """Whether ``canonical`` holds ingest's ``need.recorded`` for ``need_id`` (read without a group)."""
    consumer = AIOKafkaConsumer(
        f"{PREFIX}canonical", **settings.client_options(), group_id=None, auto_offset_reset="earliest"
    )
    try:
        await consumer.start()
        batch = await consumer.getmany(timeout_ms=2000)
    finally:
        await consumer.stop()
    for records in batch.values():
        for record in records:
            try:
                event = json.loads(record.value)
            except ValueError:  # other tests' raw bytes
                continue
            if (
                isinstance(event, dict)
                and event.get("type") == "org.drx.need.recorded"
                and event["data"]["need_id"] == need_id
            ):
                return True
    return False


async def test_ingest_as_drx_ingest_applies_a_need_posted_by_its_organisations_principal(secured, database):
    server = secured.server
    settings = Settings(
        kafka=server.client_settings("drx-ingest", topic_prefix=PREFIX),
        database=database.settings,
        schedule=ScheduleSettings(enabled=False),
    )
    await register_sources(settings, (COORDINATOR, ORGANISATION))
    worker = IngestWorker(settings)
    await worker.start()
    try:
        the_crisis = crisis()
        coordinator = server.client_settings(COORDINATOR_PRINCIPAL)
        await post(coordinator, "intake.crises", "org.drx.crisis.declared", the_crisis, COORDINATOR[0])

        async def held(table: Any, key: Any, value: str) -> bool:
            async with worker.sessions() as session:
                return await session.scalar(select(table).where(key == value)) is not None

        await eventually(
            lambda: held(CrisisRow, CrisisRow.crisis_id, the_crisis["crisis_id"]), 60, "the crisis"
        )
        the_need = need(crisis_id=the_crisis["crisis_id"])
        organisation = server.client_settings(ORGANISATION_PRINCIPAL)
        await post(organisation, "intake.needs", "org.drx.need.posted", the_need, ORGANISATION[0])
        await eventually(lambda: held(NeedRow, NeedRow.need_id, the_need["need_id"]), 60, "the need")
        matching = server.client_settings("drx-matching", topic_prefix=PREFIX)
        await eventually(lambda: recorded_on_canonical(matching, the_need["need_id"]), 60, "need.recorded")
    finally:
        await worker.stop()
