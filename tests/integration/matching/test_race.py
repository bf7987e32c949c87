"""Three matching workers in one consumer group racing on shared pledges: the invariants hold."""

from __future__ import annotations

import asyncio
import os
import random

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from services.matching.domain import Eligible, eligibility
from services.matching.mapping import need_view, pledge_view, skill_tree
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, OutboxMessage
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, topic_name
from shared.reference import load_skills
from tests.integration.matching.conftest import Pipeline, start_pipeline
from tests.support import builders as b
from tests.support.kafka import Producer, TopicReader, eventually

ITEMS = ["HSHEBLANWHT1", "HSHEBLANCLT1", "HSHEBLANPHT1", "HSHETENTF16C"]  # three blankets, one tent
# About 315 events per unit of scale: the default 8 is about 2,500 events (some 100 s on the
# 2-core CI machine); DRX_RACE_SCALE=1 for a quick run while working on matching.
SCALE = int(os.environ.get("DRX_RACE_SCALE", "8"))


async def _lag(settings, group: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = [TopicPartition(topic, p) for p in range(settings.kafka.partitions)]
        ends = await consumer.end_offsets(partitions)
        return sum(end - max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items())
    finally:
        await consumer.stop()
        await admin.close()


@pytest.mark.slow
async def test_three_workers_never_over_allocate_and_leave_nothing_matchable(settings):
    rng = random.Random(20261122)
    ingest, workers = await start_pipeline(settings, matchers=3)
    prefix = settings.kafka.topic_prefix
    try:
        async with (
            Producer(settings.kafka.bootstrap_servers) as producer,
            TopicReader(
                settings.kafka.bootstrap_servers, *(topic_name(prefix, t) for t in (MATCHES, REJECTED))
            ) as out,
        ):
            pipe = Pipeline(settings, producer, out, ingest)
            pipe.matchers = workers
            await pipe.declare(b.crisis())
            events = []
            for i in range(120 * SCALE):
                spec = {
                    "category": "supplies",
                    "item_code": rng.choice(ITEMS),
                    "quantity": str(rng.randint(1, 300)),
                    "unit": "piece",
                }
                events.append(
                    (
                        "org.drx.need.posted",
                        b.need(
                            f"n-{i}",
                            urgency=rng.choice(["critical", "high", "low"]),
                            organisation=b.need()["organisation"],
                            spec=spec,
                        ),
                        b.ORGANISATION[0],
                    )
                )
            for i in range(160 * SCALE):
                spec = {
                    "category": "supplies",
                    "item_code": rng.choice(ITEMS),
                    "quantity": str(rng.randint(1, 200)),
                    "unit": "piece",
                }
                crisis = rng.choice(["eq-tur-2026", None])
                events.append(
                    ("org.drx.pledge.posted", b.pledge(f"p-{i}", crisis_id=crisis, spec=spec), b.DONOR[0])
                )
            rng.shuffle(events)
            await asyncio.gather(*(pipe.post(*event) for event in events))
            withdrawals = [
                ("org.drx.pledge.withdrawn", {"pledge_id": f"p-{i}", "revision": 2}, b.DONOR[0])
                for i in rng.sample(range(160 * SCALE), 20 * SCALE)
            ]
            withdrawals += [
                ("org.drx.need.withdrawn", {"need_id": f"n-{i}", "revision": 2}, b.ORGANISATION[0])
                for i in rng.sample(range(120 * SCALE), 15 * SCALE)
            ]
            await asyncio.gather(*(pipe.post(*event) for event in withdrawals))

            async def settled() -> bool:
                """In pipeline order: ingest consumed everything, then its outbox is drained, then
                matching consumed everything ingest published."""
                ingest_lag = 0
                for topic in ("needs", "pledges"):
                    ingest_lag += await _lag(settings, ingest.group_id, f"{prefix}intake.{topic}")
                if ingest_lag:
                    return False
                async with ingest.sessions() as session:
                    pending = await session.scalar(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.published_at.is_(None))
                    )
                if pending:
                    return False
                return await _lag(settings, workers[0].group_id, topic_name(prefix, CANONICAL)) == 0

            await eventually(settled, 180 * SCALE, "every event applied by ingest and matching")
            assert await pipe.ledger_violations() == []
            assert not out.of_type("org.drx.input.rejected")

            tree, today = skill_tree(load_skills()), b.today()
            async with ingest.sessions() as session:
                needs = [
                    need_view(n)
                    for n in await session.scalars(
                        select(MatchingNeedRow).where(MatchingNeedRow.status == "open")
                    )
                ]
                pledges = [
                    pledge_view(p)
                    for p in await session.scalars(
                        select(MatchingPledgeRow).where(MatchingPledgeRow.status == "active")
                    )
                ]
            assert len(needs) == 105 * SCALE
            left = [
                (n.need_id, p.pledge_id)
                for n in needs
                for p in pledges
                if isinstance(eligibility(n, p, today, tree), Eligible)
            ]
            assert left == [], f"eligible pairs left unmatched: {left[:5]}"
            assert len(out.of_type("org.drx.match.proposed")) > 50
    finally:
        for worker in workers:
            await worker.stop()
        await ingest.stop()
