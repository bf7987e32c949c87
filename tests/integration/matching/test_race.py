"""Three matching workers in one consumer group racing on shared pledges: the invariants hold.

A coordinator confirms or rejects some proposals as they appear, so decisions, releases and new
proposals race with postings and withdrawals too.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import zlib
from collections.abc import Awaitable, Callable
from typing import Any, Self

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from shared.db.models import MatchingNeedRow, OutboxMessage
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, topic_name
from tests.support import builders as b
from tests.support.invariants import match_event_mismatches, unmatched_pairs
from tests.support.kafka import Producer, eventually
from tests.support.pipeline import Pipeline, start_pipeline

ITEMS = ["HSHEBLANWHT1", "HSHEBLANCLT1", "HSHEBLANPHT1", "HSHETENTF16C"]  # three blankets, one tent
# About 315 events per unit of scale: the default 8 is about 2,500 events (some 100 s on the
# 2-core CI machine); DRX_RACE_SCALE=1 for a quick run while working on matching.
SCALE = int(os.environ.get("DRX_RACE_SCALE", "8"))


TARGET = {"confirm": "confirmed", "reject": "rejected"}
# A decision that lost the race to a withdrawal: matching refuses it with this reason.
REFUSED = re.compile(r"match '(?P<match>[^']+)' is cancelled; it cannot be (?P<decision>confirm|reject)ed")


class Offsets:
    """End offsets of topics and consumer groups' lag on them, through one admin client and consumer."""

    def __init__(self, settings) -> None:
        self._servers = settings.kafka.bootstrap_servers
        self._partitions = settings.kafka.partitions

    async def __aenter__(self) -> Self:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=self._servers)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=self._servers)
        await self._admin.start()
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()
        await self._admin.close()

    async def ends(self, *topics: str) -> dict[TopicPartition, int]:
        partitions = [TopicPartition(t, p) for t in topics for p in range(self._partitions)]
        return await self._consumer.end_offsets(partitions)

    async def lag(self, group: str, *topics: str) -> int:
        committed = await self._admin.list_consumer_group_offsets(group)
        ends = await self.ends(*topics)
        return sum(end - max(committed[tp].offset if tp in committed else 0, 0) for tp, end in ends.items())


class Coordinator:
    """Reads the matches and rejected topics and decides on some proposals as they appear.

    About one proposal in ten is confirmed and one in twenty rejected, chosen by a hash of the
    match id (few enough to keep the run's length near what it was without decisions). It reads
    as a consumer group and commits a batch only after the decisions it called for were sent,
    so a lag of zero means every proposal so far was seen and answered.
    ``records`` holds every record read, like a ``TopicReader``.
    """

    def __init__(self, settings) -> None:
        prefix = settings.kafka.topic_prefix
        self.group_id = f"{prefix}race-coordinator"
        self.topics = (topic_name(prefix, MATCHES), topic_name(prefix, REJECTED))
        self._consumer = AIOKafkaConsumer(
            *self.topics,
            bootstrap_servers=settings.kafka.bootstrap_servers,
            group_id=self.group_id,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.records: list[dict[str, Any]] = []
        self.decided: dict[str, str] = {}  # match id -> decision sent
        self._task: asyncio.Task[None] | None = None

    async def start(self, post: Callable[..., Awaitable[Any]]) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run(post))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    def check(self) -> None:
        """Raise what stopped the coordinator, if it stopped."""
        if self._task is not None and self._task.done():
            self._task.result()

    def of_type(self, event_type: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["type"] == event_type]

    async def _run(self, post: Callable[..., Awaitable[Any]]) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            decisions = []
            for records in batch.values():
                for record in records:
                    event = json.loads(record.value)
                    self.records.append(event)
                    if event["type"] == "org.drx.match.proposed":
                        decisions.append(self._decide(post, event["data"]["match_id"]))
            await asyncio.gather(*decisions)
            if batch:
                await self._consumer.commit()

    async def _decide(self, post: Callable[..., Awaitable[Any]], match_id: str) -> None:
        choice = zlib.crc32(match_id.encode()) % 20
        if choice >= 3:
            return  # left undecided
        decision = "confirm" if choice < 2 else "reject"
        self.decided[match_id] = decision
        data = {"match_id": match_id, "decision": decision, "decided_by": "race-coordinator"}
        if decision == "reject":
            data["reason"] = "declined by the race test"
        await post("org.drx.match.decided", data, b.COORDINATOR[0])


def _postings(rng: random.Random) -> tuple[list[tuple[str, Any, str]], list[tuple[str, Any, str]]]:
    """Needs and pledges in a shuffled order, then the withdrawals of some of them."""
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
        events.append(("org.drx.pledge.posted", b.pledge(f"p-{i}", crisis_id=crisis, spec=spec), b.DONOR[0]))
    rng.shuffle(events)
    withdrawals = [
        ("org.drx.pledge.withdrawn", {"pledge_id": f"p-{i}", "revision": 2}, b.DONOR[0])
        for i in rng.sample(range(160 * SCALE), 20 * SCALE)
    ]
    withdrawals += [
        ("org.drx.need.withdrawn", {"need_id": f"n-{i}", "revision": 2}, b.ORGANISATION[0])
        for i in rng.sample(range(120 * SCALE), 15 * SCALE)
    ]
    return events, withdrawals


async def _settled(pipe: Pipeline, workers, coordinator: Coordinator, offsets: Offsets) -> bool:
    """Every stage quiet, and nothing handed on while they were checked one by one.

    Decisions make the pipeline a loop (proposal, decision, release, proposal), so work could
    pass a stage just after its check; any hand-over writes an outbox row or a record, which
    ``progress`` would show.
    """
    ingest = pipe.worker
    intake = [
        pipe.topic(t) for t in ("org.drx.need.posted", "org.drx.pledge.posted", "org.drx.match.decided")
    ]
    canonical = topic_name(pipe.settings.kafka.topic_prefix, CANONICAL)

    async def progress() -> tuple[Any, ...]:
        """What moves when any stage hands work on: outbox rows written, records published."""
        async with ingest.sessions() as session:
            last_outbox = await session.scalar(select(func.max(OutboxMessage.id)))
        ends = await offsets.ends(*intake, canonical, *coordinator.topics)
        return last_outbox, sum(ends.values())

    async def quiet() -> bool:
        """Each stage has nothing left: ingest, the outbox, matching, the coordinator."""
        if await offsets.lag(ingest.group_id, *intake):
            return False
        async with ingest.sessions() as session:
            pending = await session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.published_at.is_(None))
            )
        if pending:
            return False
        if await offsets.lag(workers[0].group_id, canonical):
            return False
        return await offsets.lag(coordinator.group_id, *coordinator.topics) == 0

    coordinator.check()
    before = await progress()
    return await quiet() and await progress() == before


def _decision_problems(coordinator: Coordinator) -> list[str]:
    """Each decision took effect, or lost the race to a withdrawal and was refused with why."""
    applied = {
        (r["data"]["match_id"], r["data"]["status"])
        for r in coordinator.records
        if r["type"] in ("org.drx.match.confirmed", "org.drx.match.rejected")
    }
    problems = []
    refused = {}
    for rejected in coordinator.of_type("org.drx.input.rejected"):
        found = REFUSED.fullmatch(rejected["data"]["reason"])
        if found is None or coordinator.decided.get(found["match"]) != found["decision"]:
            problems.append(f"unexpected rejection: {rejected['data']['reason']}")
        else:
            refused[found["match"]] = found["decision"]
    for match_id, decision in coordinator.decided.items():
        took = (match_id, TARGET[decision]) in applied
        if took == (match_id in refused):
            problems.append(f"{decision} {match_id}: applied {took}, refused {match_id in refused}")
    if {status for _, status in applied} != {"confirmed", "rejected"}:
        problems.append(f"the decisions did not mix: {sorted({status for _, status in applied})}")
    return problems


@pytest.mark.slow
async def test_three_workers_never_over_allocate_and_leave_nothing_matchable(settings):
    rng = random.Random(20261122)
    ingest, workers = await start_pipeline(settings, matchers=3)
    coordinator = Coordinator(settings)
    try:
        async with Producer(settings.kafka.bootstrap_servers) as producer, Offsets(settings) as offsets:
            # The coordinator reads the output; the race test uses none of the reader's waits.
            pipe = Pipeline(settings, producer, coordinator, ingest)  # type: ignore[arg-type]
            pipe.matchers = workers
            await coordinator.start(pipe.post)
            await pipe.declare(b.crisis())
            events, withdrawals = _postings(rng)
            await asyncio.gather(*(pipe.post(*event) for event in events))
            await asyncio.gather(*(pipe.post(*event) for event in withdrawals))

            async def settled() -> bool:
                return await _settled(pipe, workers, coordinator, offsets)

            await eventually(settled, 180 * SCALE, "every event applied by ingest, matching and coordinator")
            assert await pipe.ledger_violations() == []
            assert await match_event_mismatches(ingest.sessions, coordinator.records) == []
            assert _decision_problems(coordinator) == []

            async with ingest.sessions() as session:
                open_needs = await session.scalar(
                    select(func.count()).select_from(MatchingNeedRow).where(MatchingNeedRow.status == "open")
                )
            assert open_needs == 105 * SCALE
            # Capacity released by rejections and withdrawals went wherever it could still be used.
            left = await unmatched_pairs(ingest.sessions, b.today())
            assert left == [], f"eligible pairs left unmatched: {left[:5]}"
            assert len(coordinator.of_type("org.drx.match.proposed")) > 50
    finally:
        await coordinator.stop()
        for worker in workers:
            await worker.stop()
        await ingest.stop()
