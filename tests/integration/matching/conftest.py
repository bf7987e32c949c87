from __future__ import annotations

import pytest
from sqlalchemy import func, select, text

from services.ingest.app import IngestWorker
from services.matching.app import MatchingWorker
from services.matching.repository import DECLINED
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, topic_name
from shared.sources import add_source
from tests.integration.ingest.conftest import IngestHarness
from tests.support.builders import SOURCES
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
        """Every allocation invariant, checked from the database itself."""
        problems = []
        async with self.worker.sessions() as session, session.begin():
            # One snapshot for every read below, so a worker still at work cannot make the
            # ledgers and the matches look inconsistent.
            await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
            for need in await session.scalars(select(MatchingNeedRow)):
                live = await session.scalar(
                    select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                        MatchRow.need_id == need.need_id, MatchRow.status.in_(("proposed", "confirmed"))
                    )
                )
                if need.proposed + need.confirmed != live:
                    problems.append(
                        f"need {need.need_id}: ledger {need.proposed}+{need.confirmed} != matches {live}"
                    )
                if need.proposed + need.confirmed + need.fulfilled > need.quantity:
                    problems.append(f"need {need.need_id} over-allocated")
            for pledge in await session.scalars(select(MatchingPledgeRow)):
                live = await session.scalar(
                    select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                        MatchRow.pledge_id == pledge.pledge_id, MatchRow.status.in_(("proposed", "confirmed"))
                    )
                )
                fulfilled = await session.scalar(
                    select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                        MatchRow.pledge_id == pledge.pledge_id, MatchRow.status == "fulfilled"
                    )
                )
                if pledge.allocated > pledge.quantity:
                    problems.append(f"pledge {pledge.pledge_id} over-allocated")
                if pledge.allocated < live or pledge.allocated > live + fulfilled:
                    history = [
                        (m.match_id, m.need_id, f"{m.quantity:f}", m.status, m.reason, m.revision)
                        for m in await session.scalars(
                            select(MatchRow).where(MatchRow.pledge_id == pledge.pledge_id)
                        )
                    ]
                    problems.append(
                        f"pledge {pledge.pledge_id} ({pledge.status} r{pledge.revision}):"
                        f" allocated {pledge.allocated} vs matches {live}: {history}"
                    )
        return problems


async def declined_pairs(session) -> set[tuple[str, str]]:
    """(need, pledge) pairs a coordinator declined: matching rightly never proposes them again."""
    rows = await session.execute(
        select(MatchRow.need_id, MatchRow.pledge_id).where(MatchRow.status.in_(DECLINED))
    )
    return {(need_id, pledge_id) for need_id, pledge_id in rows}


async def start_pipeline(settings, matchers: int = 1) -> Pipeline:
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
