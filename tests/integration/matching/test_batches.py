"""Matching's batches on real PostgreSQL: one transaction per batch, one event at a time on failure.

Canonical events come from ingest's service, as in production; no Kafka is needed to show what a
batch does inside the database.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time

import pytest
from sqlalchemy import select

from services.ingest.domain import Reference
from services.ingest.parsing import RawMessage
from services.ingest.service import IngestService
from services.matching.mapping import skill_tree
from services.matching.service import Canonical, MatchingService, _Unit
from shared.db.models import MatchingPledgeRow, MatchRow, OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import CloudEvent
from shared.kafka.topics import CANONICAL, CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN, TopicSpec
from shared.reference import load_catalogue, load_skills
from shared.sources import add_source
from tests.support import builders as b
from tests.support.invariants import ledger_violations

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]
_offsets = itertools.count()


class Stack:
    def __init__(self, engine) -> None:
        self.sessions = create_session_factory(engine)
        self.ingest = IngestService(self.sessions, Reference.load(), "drx.")
        self.matching = MatchingService(self.sessions, load_catalogue(), skill_tree(load_skills()), "drx.")
        self._seen = 0

    async def canonical(self, spec: TopicSpec, event_type: str, data: dict, source: str) -> list[Canonical]:
        """Post through ingest; the canonical events it queued, as matching would receive them."""
        raw = RawMessage(
            topic=f"drx.{spec.name}",
            spec=spec,
            partition=0,
            offset=next(_offsets),
            timestamp_ms=int(time.time() * 1000),
            value=b.encode(b.envelope(event_type, data, source)),
            headers=dict(b.HEADERS),
        )
        assert (await self.ingest.handle(raw)).outcome == "accepted"
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
            Canonical(CloudEvent.model_validate_json(payload), today, f"drx.canonical/0/{row_id}")
            for row_id, payload in rows
        ]

    async def matches(self) -> list[MatchRow]:
        async with self.sessions() as session:
            return list(await session.scalars(select(MatchRow).order_by(MatchRow.created_at)))


@pytest.fixture
async def stack(settings):
    for source in b.SOURCES:
        await add_source(settings, *source)
    engine = create_engine(settings.database)
    yield Stack(engine)
    await engine.dispose()


def _no_fallback(monkeypatch, matching: MatchingService) -> None:
    async def one_by_one(*_args, **_kwargs):
        raise AssertionError("the batch fell back to one event per transaction")

    monkeypatch.setattr(matching, "handle", one_by_one)


async def test_a_batch_applies_in_order_and_a_later_event_sees_an_earlier_one(stack, monkeypatch):
    crisis = await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    need = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)  # 400
    pledge = await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250
    _no_fallback(monkeypatch, stack.matching)

    results = await stack.matching.handle_batch([*crisis, *need, *pledge, *need])
    assert [(r.outcome, r.proposals) for r in results] == [
        ("applied", 0),
        ("applied", 0),
        ("applied", 1),  # the pledge found the need recorded earlier in the same batch
        ("duplicate", 0),
    ]
    (match,) = await stack.matches()
    assert (match.need_id, match.pledge_id, match.quantity, match.status) == ("n-1", "p-1", 250, "proposed")

    decision = {"match_id": match.match_id, "decision": "reject", "decided_by": "coord", "reason": "no"}
    rejected = await stack.canonical(DECISIONS_IN, "org.drx.match.decided", decision, COORD)
    another = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-2"), ORG)
    results = await stack.matching.handle_batch([*rejected, *another])
    assert [(r.outcome, r.proposals) for r in results] == [("applied", 0), ("applied", 1)]
    statuses = {(m.need_id, m.status) for m in await stack.matches()}
    assert statuses == {("n-1", "rejected"), ("n-2", "proposed")}  # released, then taken by the new need
    assert await ledger_violations(stack.sessions) == []


async def test_a_failing_event_makes_the_batch_go_one_by_one_keeping_those_before_it(stack, monkeypatch):
    crisis = await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    need = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)
    pledge = await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR)
    batch = [*crisis, *need, *pledge]
    on_pledge = _Unit._on_pledge

    async def failing(self, state):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(_Unit, "_on_pledge", failing)
    with pytest.raises(ConnectionError):
        await stack.matching.handle_batch(batch)
    async with stack.sessions() as session:
        assert await session.get(MatchingPledgeRow, "p-1") is None
    assert await stack.matches() == []

    monkeypatch.setattr(_Unit, "_on_pledge", on_pledge)  # back: the batch is read again
    results = await stack.matching.handle_batch(batch)
    assert [r.outcome for r in results] == ["duplicate", "duplicate", "applied"]  # the first two were kept
    assert len(await stack.matches()) == 1
