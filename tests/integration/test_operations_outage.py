"""While PostgreSQL is away a worker writes a handful of log lines, not a traceback per attempt,
and once it is back the worker applies what arrived meanwhile.

The PostgreSQL is the test's own (an embedded server in the test's directory), stopped and
started again on the same data and socket; the session's server is left alone, others use it.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator

import pytest
import structlog
from pydantic import SecretStr

from services.notify.app import NotifyWorker
from shared.config import DatabaseSettings, ScheduleSettings, Settings
from shared.db.models import SubscriptionRow
from shared.events.envelope import STRUCTURED_CONTENT_TYPE
from shared.infra.postgres import EmbeddedPostgres
from shared.kafka.admin import create_topics
from shared.kafka.topics import SUBSCRIPTIONS_IN, topic_name
from shared.logging import MAX_LINE_CHARS, configure_logging
from shared.retrying import WINDOW_S
from tests.support import builders as b
from tests.support.databases import Databases
from tests.support.kafka import Producer, eventually
from tests.support.provision import register_sources

OUTAGE_S = 20.0
LOOPS = ("delivery loop", "outbox relay", "message")  # Backoff: "message failed", "message handling …"


@pytest.fixture
def private_postgres(tmp_path) -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres(tmp_path / "pg")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    out = io.StringIO()
    configure_logging("INFO", "json", stream=out)
    yield out
    structlog.contextvars.clear_contextvars()
    configure_logging()


@pytest.fixture
async def notify(kafka, private_postgres, log_lines) -> AsyncIterator[NotifyWorker]:
    url = Databases(private_postgres.url, prefix="drx_outage").create()
    settings = Settings(
        kafka=kafka.settings,
        database=DatabaseSettings(url=SecretStr(url), pool_size=5),
        schedule=ScheduleSettings(enabled=False),
    )
    await create_topics(settings.kafka)
    await register_sources(settings)
    worker = NotifyWorker(settings)
    await worker.start()
    try:
        yield worker
    finally:
        await worker.stop()


def _subscription(subscription_id: str) -> bytes:
    return b.encode(
        b.envelope("org.drx.subscription.set", b.subscription(subscription_id), b.ORGANISATION[0])
    )


def _records(out: io.StringIO, start: int = 0) -> list[dict]:
    return [json.loads(line) for line in out.getvalue()[start:].splitlines() if line.strip()]


async def test_an_outage_writes_a_line_per_window_and_the_worker_recovers(
    notify, private_postgres, log_lines, kafka
):
    topic = topic_name(kafka.settings.topic_prefix, SUBSCRIPTIONS_IN)
    headers = {"content-type": STRUCTURED_CONTENT_TYPE.encode()}

    async def stored(subscription_id: str) -> bool:
        async with notify.sessions() as session:
            return await session.get(SubscriptionRow, subscription_id) is not None

    async with Producer(kafka.bootstrap_servers) as producer:
        await producer.send(topic, _subscription("s-before"), key="s-before", headers=headers)
        await eventually(lambda: stored("s-before"), 60, "the subscription sent before the outage")

        outage_starts = len(log_lines.getvalue())
        await asyncio.to_thread(private_postgres.stop)
        await producer.send(topic, _subscription("s-during"), key="s-during", headers=headers)

        async def every_loop_failed() -> bool:
            events = " ".join(record["event"] for record in _records(log_lines, outage_starts))
            return "delivery loop failed" in events and "message failed" in events

        await eventually(every_loop_failed, 30, "the loops' first failures")
        await asyncio.sleep(OUTAGE_S)  # the outage itself: what it writes is what is measured
        during = _records(log_lines, outage_starts)
        outage_ends = len(log_lines.getvalue())
        await asyncio.to_thread(private_postgres.start)

    await eventually(lambda: stored("s-during"), 90, "the subscription sent during the outage")

    async def recovered() -> bool:
        events = " ".join(record["event"] for record in _records(log_lines, outage_ends))
        return all(f"{loop} recovered after" in events for loop in ("delivery loop", "message handling"))

    await eventually(recovered, 60, "a recovery line from the delivery loop and the handler")

    # drx's loops: each its first failure with the traceback, then at most one line per window.
    # (FastStream adds its own lines per delivery of the failing record, paced by Backoff's
    # growing pauses: 0.4 s, 0.8 s, … so a handful in the outage; they count in the total only.)
    drx = [record for record in during if not record.get("logger", "").endswith("faststream")]
    windows = int(OUTAGE_S // WINDOW_S) + 2
    by_loop = Counter(next((loop for loop in LOOPS if loop in r["event"]), "other") for r in drx)
    assert all(by_loop[loop] <= windows for loop in LOOPS), by_loop
    tracebacks = [record["event"] for record in drx if "exception" in record]
    assert len(tracebacks) <= len(LOOPS), tracebacks
    assert len(drx) <= 15, Counter(record["event"][:60] for record in drx)
    assert len(during) <= 60, Counter(record["event"][:60] for record in during)
    assert all(len(line) <= MAX_LINE_CHARS for line in log_lines.getvalue().splitlines())
