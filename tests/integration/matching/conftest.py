from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from services.ingest.domain import Reference
from services.ingest.service import IngestService
from services.matching.mapping import skill_tree
from services.matching.repository import declined
from services.matching.service import Canonical, MatchingService
from shared.db.models import MatchRow, OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.intake.parsing import SourcePosition
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, TopicSpec
from shared.reference import load_catalogue, load_skills
from tests.support import builders as b
from tests.support.pipeline import running_pipeline
from tests.support.provision import register_sources


async def declined_pairs(session) -> set[tuple[str, str]]:
    """(need, pledge) pairs a coordinator declined: matching rightly never proposes them again."""
    rows = await session.execute(select(MatchRow.need_id, MatchRow.pledge_id).where(declined()))
    return {(need_id, pledge_id) for need_id, pledge_id in rows}


@pytest.fixture
async def pipeline(settings):
    async with running_pipeline(settings, CANONICAL, MATCHES, REJECTED) as harness:
        yield harness


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
    await register_sources(settings)
    engine = create_engine(settings.database)
    yield InProcess(engine)
    await engine.dispose()
