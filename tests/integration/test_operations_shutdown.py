"""Workers as operators run them: SIGTERM mid-stream loses nothing, and counts show on /metrics.

The worker runs as ``drx run ingest`` in its own OS process against the suite's real Kafka and
PostgreSQL, is stopped with SIGTERM while events are still arriving, and is started again; every
event must then be applied exactly once, in the database and on the output topics.

The worker uses DRX_WORKER_SHUTDOWN_TIMEOUT_S: with a handler that cannot finish, SIGTERM still
ends the process within it. (``/readyz`` is in test_operations_health.py.)
"""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import func, select, text

from services.ingest.app import IngestWorker
from shared.config import KafkaSettings, Settings, WorkerSettings
from shared.db.models import CrisisRow, NeedRow
from shared.kafka.topics import CANONICAL, CRISES_IN, NEEDS_IN, REJECTED, topic_name
from shared.worker import IN_FLIGHT_SHARE
from tests.support import builders as b
from tests.support.cli import settings_env
from tests.support.kafka import Producer, TopicReader, eventually
from tests.support.provision import provision
from tests.support.workers import WorkerProcess, metric

ORG = b.ORGANISATION[0]
FIRST_HALF = 150
SECOND_HALF = 150
EXIT_SLACK_S = 10.0  # how much longer than its shutdown timeout terminate() waits, to report the time


def ingest_process(settings: Settings, log: Path, **env: str) -> WorkerProcess:
    """``drx run ingest`` on the test's topics and database, with its shutdown timeout, logging JSON."""
    timeout = str(settings.worker.shutdown_timeout_s)
    return WorkerProcess(
        "ingest",
        settings_env(settings, DRX_LOG_FORMAT="json", DRX_WORKER_SHUTDOWN_TIMEOUT_S=timeout, **env),
        log,
    )


async def terminate(worker: WorkerProcess, shutdown_timeout: float) -> tuple[int, float]:
    """SIGTERM; the exit code and how long it took (callers compare it with the shutdown timeout)."""
    limit = shutdown_timeout + EXIT_SLACK_S
    started = time.monotonic()
    try:
        code = await asyncio.to_thread(worker.terminate, limit)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"no exit within {limit}s of SIGTERM:\n{worker.tail()}") from None
    return code, time.monotonic() - started


async def end_offsets(kafka: KafkaSettings, *topics: str) -> int:
    """How many records the topics hold (no compaction, no transactions: offsets are contiguous)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(kafka.partitions)]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_sigterm_mid_stream_loses_nothing_and_applies_nothing_twice(settings, tmp_path):
    await provision(settings)
    prefix = settings.kafka.topic_prefix
    shutdown_timeout = settings.worker.shutdown_timeout_s
    needs_topic = topic_name(prefix, NEEDS_IN)
    out_topics = (topic_name(prefix, CANONICAL), topic_name(prefix, REJECTED))
    db = IngestWorker(settings)  # only for its database session factory
    first = ingest_process(settings, tmp_path / "first.log")
    second = ingest_process(settings, tmp_path / "second.log")
    needs = [b.need(f"n-{i:03d}") for i in range(FIRST_HALF + SECOND_HALF)]

    async def stored() -> int:
        async with db.sessions() as session:
            return await session.scalar(select(func.count()).select_from(NeedRow)) or 0

    async def send(producer: Producer, batch: list[dict]) -> None:
        for data in batch:
            document = b.envelope("org.drx.need.posted", data, ORG)
            await producer.send(needs_topic, b.encode(document), key=data["need_id"])

    first.start()
    try:
        async with (
            Producer(settings.kafka.bootstrap_servers) as producer,
            TopicReader(settings.kafka.bootstrap_servers, *out_topics) as out,
        ):
            await first.wait_ready(90)
            await producer.send(
                topic_name(prefix, CRISES_IN),
                b.encode(b.envelope("org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])),
                key="eq-tur-2026",
            )

            async def crisis_stored() -> bool:
                async with db.sessions() as session:
                    return await session.get(CrisisRow, "eq-tur-2026") is not None

            await eventually(crisis_stored, 60, "the crisis")
            await producer.send(needs_topic, b"not json at all", key="junk")  # one rejection, counted
            await send(producer, needs[:FIRST_HALF])
            await eventually(lambda: _at_least(stored, 20), 60, "the first needs to be stored")

            samples = await first.metrics()
            accepted = metric(
                samples, "drx_events_processed_total", type="org.drx.need.posted", outcome="accepted"
            )
            assert (accepted or 0) >= 20, accepted
            assert any(name == "drx_consumer_lag" for name, _ in samples), "no consumer lag series"
            assert metric(samples, "drx_outbox_backlog") is not None

            streaming = asyncio.create_task(send(producer, needs[FIRST_HALF:]))  # still sending at SIGTERM
            code, seconds = await terminate(first, shutdown_timeout)
            assert code == 0, first.tail()
            assert seconds < shutdown_timeout
            await streaming
            assert await stored() < len(needs), "SIGTERM came after everything was applied: no test"

            second.start()
            await second.wait_ready(90)
            await eventually(lambda: _at_least(stored, len(needs)), 120, f"all {len(needs)} needs stored")

            await assert_applied_exactly_once(db, out, needs, out_topics)

            samples = await second.metrics()
            assert metric(samples, "drx_events_failed_total", type="org.drx.need.posted") is None
            code, seconds = await terminate(second, shutdown_timeout)
            assert code == 0, second.tail()
            assert seconds < shutdown_timeout
    finally:
        first.kill()
        second.kill()
        await db.engine.dispose()


async def _at_least(count, expected: int) -> bool:
    return await count() >= expected


async def assert_applied_exactly_once(
    db: IngestWorker, out: TopicReader, needs: list[dict], out_topics: tuple[str, ...]
) -> None:
    """Once the outbox is empty and the reader has every output record: one of each, none missing."""

    async def outbox_drained() -> bool:
        async with db.sessions() as session:
            pending = await session.scalar(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            return pending == 0

    await eventually(outbox_drained, 60, "the outbox to drain")
    total = await end_offsets(db.settings.kafka, *out_topics)
    await out.wait_for(lambda records: len(records) >= total, 60, f"all {total} output records")

    recorded = Counter(r["data"]["need_id"] for r in out.of_type("org.drx.need.recorded"))
    assert set(recorded) == {n["need_id"] for n in needs}
    assert set(recorded.values()) == {1}, f"applied twice: {[k for k, v in recorded.items() if v > 1]}"
    assert len(out.of_type("org.drx.input.rejected")) == 1
    async with db.sessions() as session:
        revisions = set((await session.scalars(select(NeedRow.revision))).all())
    assert revisions == {1}


async def test_rejections_are_counted_by_reason_in_the_worker_process(settings, tmp_path):
    await provision(settings)
    worker = ingest_process(settings, tmp_path / "worker.log")
    worker.start()
    try:
        await worker.wait_ready(90)
        async with Producer(settings.kafka.bootstrap_servers) as producer:
            needs = topic_name(settings.kafka.topic_prefix, NEEDS_IN)
            await producer.send(needs, b"not json at all", key="junk")
            await producer.send(
                needs, b.encode(b.envelope("org.drx.need.posted", b.need(crisis_id="nowhere"), ORG)), key="n"
            )

        async def counted() -> bool:
            samples = await worker.metrics()
            return (
                metric(samples, "drx_inputs_rejected_total", reason="not_json") == 1
                and metric(samples, "drx_inputs_rejected_total", reason="unknown_reference") == 1
            )

        await eventually(counted, 60, "both rejections on /metrics")
        code, _ = await terminate(worker, settings.worker.shutdown_timeout_s)
        assert code == 0, worker.tail()
    finally:
        worker.kill()


async def test_a_stuck_handler_delays_the_exit_no_longer_than_the_shutdown_timeout(settings, tmp_path):
    """With DRX_WORKER_SHUTDOWN_TIMEOUT_S=8 and a handler that cannot finish (the table it reads
    is locked), SIGTERM waits the in-flight share of 8 s for it, then exits within 8 s. The
    message is not committed: the next worker applies it.

    Not shorter: the last fifth must also hold the Python interpreter's own exit, which takes
    over half a second on a loaded machine.
    """
    await provision(settings)
    timeout = 8.0
    quick = settings.model_copy(update={"worker": WorkerSettings(shutdown_timeout_s=timeout)})
    first = ingest_process(quick, tmp_path / "first.log", DRX_SCHEDULE_ENABLED="false")
    second = ingest_process(settings, tmp_path / "second.log", DRX_SCHEDULE_ENABLED="false")
    db = IngestWorker(settings)  # only for its database engine

    async def handler_waits_on_the_lock() -> bool:
        async with db.engine.connect() as conn:
            waiting = await conn.scalar(
                text(
                    "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'crises'::regclass"
                    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                )
            )
            return bool(waiting)

    async def crisis_stored() -> bool:
        async with db.sessions() as session:
            return await session.get(CrisisRow, "c-stuck") is not None

    first.start()
    try:
        await first.wait_ready(90)
        async with db.engine.connect() as lock:
            await lock.execute(text("LOCK TABLE crises IN ACCESS EXCLUSIVE MODE"))
            async with Producer(settings.kafka.bootstrap_servers) as producer:
                document = b.envelope("org.drx.crisis.declared", b.crisis("c-stuck"), b.COORDINATOR[0])
                crises = topic_name(settings.kafka.topic_prefix, CRISES_IN)
                await producer.send(crises, b.encode(document), key="c-stuck")
            await eventually(handler_waits_on_the_lock, 60, "the handler to wait on the locked table")
            code, seconds = await terminate(first, timeout)
            await lock.rollback()
        assert code == 0, first.tail()
        assert IN_FLIGHT_SHARE * timeout <= seconds < timeout, f"exit after {seconds:.2f}s\n{first.tail()}"
        assert not await crisis_stored()

        second.start()
        await eventually(crisis_stored, 90, "the uncommitted message, applied by the next worker")
        code, _ = await terminate(second, settings.worker.shutdown_timeout_s)
        assert code == 0, second.tail()
    finally:
        first.kill()
        second.kill()
        await db.engine.dispose()
