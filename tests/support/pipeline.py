"""The workers running in this process on real Kafka and PostgreSQL, and the harness that drives them.

Ingest's, matching's and notify's integration tests all start the same stack: provision, ingest,
then matching workers, then (for notify) the notify worker, and stop them in reverse. It is written
once here, in ``running_pipeline``, so a fixture only says which workers and which topics it reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import inspect, select

from services.ingest.app import IngestWorker
from services.matching.app import MatchingWorker
from services.notify.app import NotifyWorker
from shared.config import Settings
from shared.db.models import CrisisRow, MatchingNeedRow, MatchingPledgeRow, NeedRow, PledgeRow
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import TopicSpec, topic_name
from tests.support import builders
from tests.support.builders import COORDINATOR, HEADERS, encode, envelope
from tests.support.invariants import ledger_violations
from tests.support.kafka import Producer, TopicReader, eventually
from tests.support.provision import provision

__all__ = ["IngestHarness", "Pipeline", "running_pipeline", "start_pipeline"]


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


@dataclass
class Pipeline(IngestHarness):
    """Ingest with the matching workers (and notify, when asked for) behind it."""

    matchers: list[MatchingWorker] = field(default_factory=list)
    notify: NotifyWorker | None = None

    def matches_of(self, status: str | None = None) -> list[dict]:
        prefix = "org.drx.match."
        return [
            r
            for r in self.out.records
            if r["type"].startswith(prefix)
            and r["type"] not in ("org.drx.match.decided", "org.drx.match.reminder")
            and (status is None or r["data"]["status"] == status)
        ]

    async def wait_matches(self, predicate, what: str, timeout: float = 60) -> list[dict]:
        await self.out.wait_for(lambda _records: predicate(self.matches_of()), timeout, what)
        return self.matches_of()

    async def first_proposal(self) -> dict:
        """Declare the test crisis, post need n-1 and pledge p-1, and return the one proposal."""
        organisation, donor = builders.ORGANISATION[0], builders.DONOR[0]
        await self.declare(builders.crisis())
        await self.post("org.drx.need.posted", builders.need("n-1"), organisation)
        await self.wait_row("need", "n-1")
        await self.post("org.drx.pledge.posted", builders.pledge("p-1"), donor)
        (proposal,) = await self.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
        return proposal

    async def wait_matching(self, kind: str, entity_id: str, timeout: float = 30) -> None:
        """Wait until matching (not just ingest) holds the need or pledge."""
        table = MatchingNeedRow if kind == "need" else MatchingPledgeRow

        async def held() -> bool:
            async with self.worker.sessions() as session:
                return await session.get(table, entity_id) is not None

        await eventually(held, timeout, f"matching to hold {kind} {entity_id}")

    async def ledger_violations(self) -> list[str]:
        return await ledger_violations(self.worker.sessions)


async def start_pipeline(settings: Settings, matchers: int = 1) -> tuple[IngestWorker, list[MatchingWorker]]:
    """Provision, then start ingest and ``matchers`` matching workers; the caller stops them.

    For a test that reads the output its own way (the race test's coordinator); every other test
    uses ``running_pipeline``, which also stops them.
    """
    await provision(settings)
    ingest = IngestWorker(settings)
    await ingest.start()
    workers = [MatchingWorker(settings) for _ in range(matchers)]
    for worker in workers:
        await worker.start()
    return ingest, workers


@asynccontextmanager
async def running_pipeline(
    settings: Settings, *reads: TopicSpec, matchers: int = 1, notify: bool = False
) -> AsyncIterator[Pipeline]:
    """Ingest, ``matchers`` matching workers and optionally notify, with a producer and a reader of ``reads``.

    Ingest's own tests ask for no matchers. On the way out notify stops first and ingest last.
    """
    ingest, workers = await start_pipeline(settings, matchers)
    notifier: NotifyWorker | None = None
    prefix = settings.kafka.topic_prefix
    try:
        if notify:
            started = NotifyWorker(settings)
            await started.start()
            notifier = started
        async with (
            Producer(settings.kafka.bootstrap_servers) as producer,
            TopicReader(settings.kafka.bootstrap_servers, *(topic_name(prefix, t) for t in reads)) as out,
        ):
            yield Pipeline(settings, producer, out, ingest, workers, notifier)
    finally:
        if notifier is not None:
            await notifier.stop()
        for worker in workers:
            await worker.stop()
        await ingest.stop()
