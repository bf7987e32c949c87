from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from services.ingest.app import IngestWorker
from services.ingest.domain import Reference
from services.ingest.service import IngestService
from services.matching.app import MatchingWorker
from services.matching.mapping import skill_tree
from services.matching.repository import declined
from services.matching.service import Canonical, MatchingService
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow, OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.intake.parsing import SourcePosition
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, TopicSpec, topic_name
from shared.reference import load_catalogue, load_skills
from shared.sources import add_source
from tests.integration.ingest.conftest import IngestHarness
from tests.support import builders as b
from tests.support.builders import SOURCES
from tests.support.invariants import ledger_violations
from tests.support.kafka import Producer, TopicReader, eventually


class Pipeline(IngestHarness):
    matchers: list[MatchingWorker]

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

    async def wait_matching(self, kind: str, entity_id: str, timeout: float = 30) -> None:
        """Wait until matching (not just ingest) holds the need or pledge."""
        table = MatchingNeedRow if kind == "need" else MatchingPledgeRow

        async def held() -> bool:
            async with self.worker.sessions() as session:
                return await session.get(table, entity_id) is not None

        await eventually(held, timeout, f"matching to hold {kind} {entity_id}")

    async def ledger_violations(self) -> list[str]:
        return await ledger_violations(self.worker.sessions)


async def declined_pairs(session) -> set[tuple[str, str]]:
    """(need, pledge) pairs a coordinator declined: matching rightly never proposes them again."""
    rows = await session.execute(select(MatchRow.need_id, MatchRow.pledge_id).where(declined()))
    return {(need_id, pledge_id) for need_id, pledge_id in rows}


async def start_pipeline(settings, matchers: int = 1) -> tuple[IngestWorker, list[MatchingWorker]]:
    await create_topics(settings.kafka)
    for source, role, party, name in SOURCES:
        await add_source(settings, source, role, party, name)
    ingest = IngestWorker(settings)
    await ingest.start()
    workers = [MatchingWorker(settings) for _ in range(matchers)]
    for worker in workers:
        await worker.start()
    return ingest, workers


@pytest.fixture
async def pipeline(settings):
    ingest, workers = await start_pipeline(settings)
    prefix = settings.kafka.topic_prefix
    try:
        async with (
            Producer(settings.kafka.bootstrap_servers) as producer,
            TopicReader(
                settings.kafka.bootstrap_servers,
                *(topic_name(prefix, t) for t in (CANONICAL, MATCHES, REJECTED)),
            ) as out,
        ):
            harness = Pipeline(settings, producer, out, ingest)
            harness.matchers = workers
            yield harness
    finally:
        for worker in workers:
            await worker.stop()
        await ingest.stop()


class InProcess:
    """Ingest's and matching's services in this process on real PostgreSQL, without Kafka."""

    def __init__(self, engine) -> None:
        self.sessions = create_session_factory(engine)
        self.ingest = IngestService(self.sessions, Reference.load(), "drx.")
        self.matching = MatchingService(self.sessions, load_catalogue(), skill_tree(load_skills()), "drx.")
        self._seen = 0

    async def canonical(self, spec: TopicSpec, event_type: str, data: dict, source: str) -> list[Canonical]:
        """Post through ingest; the canonical events it queued, as matching would receive them."""
        assert (await self.ingest.handle(b.raw(spec, event_type, data, source))).outcome == "accepted"
        async with self.sessions() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.id, OutboxMessage.payload)
                    .where(OutboxMessage.topic == f"drx.{CANONICAL.name}", OutboxMessage.id > self._seen)
                    .order_by(OutboxMessage.id)
                )
            ).all()
        self._seen = max((row_id for row_id, _ in rows), default=self._seen)
        today = dt.datetime.now(dt.UTC).date()
        return [
            Canonical(
                CloudEvent.model_validate_json(payload), today, SourcePosition("drx.canonical", 0, row_id)
            )
            for row_id, payload in rows
        ]

    async def matches(self) -> list[MatchRow]:
        async with self.sessions() as session:
            return list(await session.scalars(select(MatchRow).order_by(MatchRow.created_at)))


@pytest.fixture
async def in_process(settings):
    for source in SOURCES:
        await add_source(settings, *source)
    engine = create_engine(settings.database)
    yield InProcess(engine)
    await engine.dispose()
