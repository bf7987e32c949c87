from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import inspect, select

from services.ingest.app import IngestWorker
from shared.config import Settings
from shared.db.models import CrisisRow, NeedRow, PledgeRow
from shared.events.registry import EVENT_TYPES
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, REJECTED, topic_name
from shared.sources import add_source
from tests.support.builders import COORDINATOR, HEADERS, SOURCES, encode, envelope
from tests.support.kafka import Producer, TopicReader, eventually


@dataclass
class IngestHarness:
    settings: Settings
    producer: Producer
    out: TopicReader
    worker: IngestWorker

    def topic(self, event_type: str) -> str:
        return topic_name(self.settings.kafka.topic_prefix, EVENT_TYPES[event_type].topic)

    async def post(self, event_type: str, data: Any, source: str, *, event_id: str | None = None) -> dict:
        """Send like a real producer: keyed by the entity id, so one entity's events stay in order."""
        document = envelope(event_type, data, source, event_id=event_id)
        key = next((data[f] for f in ("need_id", "pledge_id", "crisis_id", "match_id") if f in data), None)
        await self.send_raw(event_type, encode(document), key=key)
        return document

    async def send_raw(
        self,
        event_type_or_topic: str,
        value: bytes,
        headers: dict[str, bytes] | None = None,
        *,
        key: str | None = None,
    ) -> None:
        topic = self.topic(event_type_or_topic) if event_type_or_topic in EVENT_TYPES else event_type_or_topic
        headers = headers or {k: v.encode() for k, v in HEADERS.items()}
        await self.producer.send(topic, value, key=key, headers=headers)

    async def declare(self, crisis: dict) -> None:
        """Declare a crisis and wait until ingest holds it (it travels on another topic than needs)."""
        await self.post("org.drx.crisis.declared", crisis, COORDINATOR[0])
        await self.wait_row("crisis", crisis["crisis_id"])

    async def row(self, kind: str, entity_id: str):
        table = {"crisis": CrisisRow, "need": NeedRow, "pledge": PledgeRow}[kind]
        async with self.worker.sessions() as session:
            key = inspect(table).primary_key[0]
            return await session.scalar(select(table).where(key == entity_id))

    async def wait_row(self, kind: str, entity_id: str, predicate=lambda row: True, timeout: float = 30):
        async def found() -> bool:
            row = await self.row(kind, entity_id)
            return row is not None and predicate(row)

        await eventually(found, timeout, f"{kind} {entity_id}")
        return await self.row(kind, entity_id)

    async def wait_rejected(self, count: int, timeout: float = 30) -> list[dict]:
        await self.out.wait_for(
            lambda records: len([r for r in records if r["type"] == "org.drx.input.rejected"]) >= count,
            timeout,
            f"{count} rejected records",
        )
        return self.out.of_type("org.drx.input.rejected")


@pytest.fixture
async def ingest(settings):
    await create_topics(settings.kafka)
    for source, role, party, name in SOURCES:
        await add_source(settings, source, role, party, name)
    worker = IngestWorker(settings)
    await worker.start()
    prefix = settings.kafka.topic_prefix
    try:
        async with (
            Producer(settings.kafka.bootstrap_servers) as producer,
            TopicReader(
                settings.kafka.bootstrap_servers, topic_name(prefix, CANONICAL), topic_name(prefix, REJECTED)
            ) as out,
        ):
            yield IngestHarness(settings, producer, out, worker)
    finally:
        await worker.stop()
