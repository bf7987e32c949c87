"""Ingest's batches on real PostgreSQL: one transaction per batch, and one record at a time on failure."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from services.ingest.domain import Reference
from services.ingest.repository import IngestRepository
from services.ingest.service import IngestService
from shared.db.models import NeedRow
from shared.db.session import create_engine, create_session_factory
from shared.kafka.topics import CRISES_IN, NEEDS_IN
from tests.support import builders as b
from tests.support.provision import register_sources

ORG = b.ORGANISATION[0]
_offsets = itertools.count()


@pytest.fixture
async def service(settings):
    await register_sources(settings)
    engine = create_engine(settings.database)
    yield IngestService(create_session_factory(engine), Reference.load(), "drx."), engine
    await engine.dispose()


async def _need(engine, need_id: str) -> NeedRow | None:
    async with create_session_factory(engine)() as session:
        return await session.get(NeedRow, need_id)


async def test_a_batch_applies_in_order_and_a_later_record_sees_an_earlier_one(service):
    ingest, engine = service
    crisis = b.raw(CRISES_IN, "org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])
    posted = b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)
    updated = b.raw(NEEDS_IN, "org.drx.need.updated", b.need("n-1", revision=2, urgency="critical"), ORG)
    bad = b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-2", crisis_id="none"), ORG)
    results = await ingest.handle_batch([crisis, posted, updated, bad, posted])
    assert [r.outcome for r in results] == ["accepted", "accepted", "accepted", "rejected", "duplicate"]
    row = await _need(engine, "n-1")
    assert row is not None
    assert (row.revision, row.state["urgency"]) == (2, "critical")


async def test_three_versions_of_one_need_in_a_batch_apply_together_without_falling_back(
    service, monkeypatch
):
    """Each record reads the row as the one before it left it, not as the session first saw it."""
    ingest, engine = service
    crisis = b.raw(CRISES_IN, "org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])
    versions = [
        b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG),
        b.raw(NEEDS_IN, "org.drx.need.updated", b.need("n-1", revision=2, urgency="high"), ORG),
        b.raw(NEEDS_IN, "org.drx.need.updated", b.need("n-1", revision=3, urgency="critical"), ORG),
    ]

    async def one_by_one(raw):
        raise AssertionError("the batch fell back to one record per transaction")

    monkeypatch.setattr(ingest, "handle", one_by_one)
    results = await ingest.handle_batch([crisis, *versions])
    assert [r.outcome for r in results] == ["accepted"] * 4
    row = await _need(engine, "n-1")
    assert row is not None
    assert (row.revision, row.state["urgency"]) == (3, "critical")


async def test_a_failing_record_makes_the_batch_go_one_by_one_keeping_those_before_it(service, monkeypatch):
    ingest, engine = service
    await ingest.handle_batch([b.raw(CRISES_IN, "org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])])
    batch = [b.raw(NEEDS_IN, "org.drx.need.posted", b.need(f"n-{i}"), ORG) for i in range(3)]
    save = IngestRepository.save

    async def failing_save(self, record, *, expect_new):
        if getattr(record, "need_id", None) == "n-1":
            raise ConnectionError("the database went away")
        return await save(self, record, expect_new=expect_new)

    monkeypatch.setattr(IngestRepository, "save", failing_save)
    with pytest.raises(ConnectionError):
        await ingest.handle_batch(batch)
    assert await _need(engine, "n-0") is not None  # applied alone, before the failing one
    assert await _need(engine, "n-1") is None
    assert await _need(engine, "n-2") is None

    monkeypatch.setattr(IngestRepository, "save", save)  # the database is back: the batch is read again
    results = await ingest.handle_batch(batch)
    assert [r.outcome for r in results] == ["duplicate", "accepted", "accepted"]


async def test_a_refused_record_read_again_is_refused_once_but_a_replay_is_judged_again(service):
    ingest, engine = service
    early = b.raw(NEEDS_IN, "org.drx.need.posted", b.need("n-early", crisis_id="c-later"), ORG)
    assert [r.outcome for r in await ingest.handle_batch([early])] == ["rejected"]
    assert [r.outcome for r in await ingest.handle_batch([early])] == ["duplicate"]  # redelivered
    await ingest.handle_batch(
        [b.raw(CRISES_IN, "org.drx.crisis.declared", b.crisis("c-later"), b.COORDINATOR[0])]
    )
    replay = dataclasses.replace(early, offset=next(_offsets))  # drx rejected replay: a new record
    assert [r.outcome for r in await ingest.handle_batch([replay])] == ["accepted"]
    assert await _need(engine, "n-early") is not None
