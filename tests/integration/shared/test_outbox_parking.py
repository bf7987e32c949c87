"""A row the broker refuses is parked with its error; the rows after it are published (issue 14)."""

import asyncio
import datetime as dt

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from shared.db.models import OutboxMessage
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import new_event
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, topic_name
from shared.observability import refresh_outbox
from shared.outbox import OutboxRelay, OutboxRowTooLargeError, enqueue, parked_rows, retry_parked
from tests.integration.shared.test_outbox import _read
from tests.support.cli import run_drx, settings_env


class Note(BaseModel):
    n: int


class Blob(BaseModel):
    text: str


@pytest.fixture
async def engine(database):
    engine = create_engine(database.settings)
    yield engine
    await engine.dispose()


def _event(n: int):
    return new_event("org.drx.test", "urn:test", Note(n=n), time=dt.datetime.now(dt.UTC), event_id=f"e{n}")


async def _until(condition, timeout=30):
    async with asyncio.timeout(timeout):
        while not await condition():
            await asyncio.sleep(0.05)


async def test_a_row_the_broker_refuses_is_parked_and_the_others_flow(kafka, engine, settings):
    sessions = create_session_factory(engine)
    await create_topics(kafka.settings, (CANONICAL,))
    topic = topic_name(kafka.settings.topic_prefix, CANONICAL)
    async with sessions.begin() as session:
        enqueue(session, topic, _event(1), key="k")
        # Written past enqueue's guard, as by an older drx: 2 MB, more than the producer may send.
        session.add(OutboxMessage(topic=topic, key=b"k", headers={}, payload=b"x" * 2_000_000))
        enqueue(session, topic, _event(2), key="k")
    relay = OutboxRelay(sessions, kafka.settings)
    await relay.start()
    try:

        async def settled():
            state = await refresh_outbox(engine)
            return state.backlog == 0 and state.parked == 1

        await _until(settled)
        async with sessions.begin() as session:
            enqueue(session, topic, _event(3), key="k")  # written after the parking: flows too
        relay.wake()
        await _until(lambda: _published_count(sessions, 3))
    finally:
        await relay.stop()
    assert await _read(kafka, topic, 3) == ["e1", "e2", "e3"]

    async with sessions() as session:
        (parked,) = await parked_rows(session)
    assert parked.topic == topic
    assert parked.size == 2_000_000
    assert parked.error.startswith("MessageSizeTooLargeError")
    state = await refresh_outbox(engine)
    assert state.problem(max_age_s=300) == "1 outbox rows parked (see drx outbox list)"

    listed = run_drx("outbox", "list", env=settings_env(settings))
    assert listed.returncode == 0, listed.stderr
    assert str(parked.id) in listed.stdout
    assert "MessageSizeTooLargeError" in listed.stdout
    assert run_drx("outbox", "retry", env=settings_env(settings)).returncode == 2  # ids or --all
    released = run_drx("outbox", "retry", str(parked.id), env=settings_env(settings))
    assert released.returncode == 0, released.stderr
    assert "1 row released to the relay" in released.stdout
    state = await refresh_outbox(engine)
    assert (state.parked, state.backlog) == (0, 1)  # back in line for the relay


async def _published_count(sessions, count):
    async with sessions() as session:
        rows = await session.scalars(select(OutboxMessage.id).where(OutboxMessage.published_at.is_not(None)))
        return len(rows.all()) >= count


async def test_enqueue_refuses_an_event_kafka_would_refuse(database):
    engine = create_engine(database.settings)
    try:
        async with create_session_factory(engine)() as session:
            huge = new_event(
                "org.drx.test", "urn:test", Blob(text="x" * 1_000_000), time=dt.datetime.now(dt.UTC)
            )
            with pytest.raises(OutboxRowTooLargeError, match="an outbox row may hold 921600"):
                enqueue(session, "t", huge, key=None)
    finally:
        await engine.dispose()


async def test_an_old_pending_row_makes_the_outbox_not_ready(database, engine):
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        session.add(
            OutboxMessage(
                topic="t",
                key=None,
                headers={},
                payload=b"{}",
                created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10),
            )
        )
    state = await refresh_outbox(engine)
    assert state.backlog == 1
    problem = state.problem(max_age_s=300)
    assert problem is not None
    assert problem.startswith("the oldest unpublished outbox row is 6")
    assert state.problem(max_age_s=3600) is None


async def test_retry_releases_only_parked_rows(engine):
    sessions = create_session_factory(engine)
    async with sessions.begin() as session:
        session.add(OutboxMessage(topic="t", key=None, headers={}, payload=b"{}"))
        session.add(
            OutboxMessage(
                topic="t",
                key=None,
                headers={},
                payload=b"{}",
                parked_at=dt.datetime.now(dt.UTC),
                error="E: x",
            )
        )
    async with sessions.begin() as session:
        assert await retry_parked(session) == 1
        assert await parked_rows(session) == []
