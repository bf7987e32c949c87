"""Workers as operators run them: health and metrics over HTTP, and SIGTERM mid-stream loses nothing.

The worker runs as ``drx run ingest`` in its own OS process against the suite's real Kafka and
PostgreSQL, is stopped with SIGTERM while events are still arriving, and is started again; every
event must then be applied exactly once, in the database and on the output topics.

The worker uses DRX_WORKER_SHUTDOWN_TIMEOUT_S: with a handler that cannot finish, SIGTERM still
ends the process within it. ``/readyz`` follows PostgreSQL and Kafka going away and coming back.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from sqlalchemy import func, select, text

from services.ingest.app import IngestWorker
from shared.config import (
    DatabaseSettings,
    HealthSettings,
    KafkaSettings,
    ScheduleSettings,
    Settings,
    WorkerSettings,
)
from shared.db.models import CrisisRow, NeedRow
from shared.infra.kafka import ApacheKafkaServer
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, CRISES_IN, NEEDS_IN, REJECTED, topic_name
from shared.sources import add_source
from shared.worker import IN_FLIGHT_SHARE
from tests.support import builders as b
from tests.support.cli import DRX
from tests.support.kafka import Producer, TopicReader, eventually

ORG = b.ORGANISATION[0]
FIRST_HALF = 150
SECOND_HALF = 150
EXIT_SLACK_S = 10.0  # how much longer than its shutdown timeout terminate() waits, to report the time


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WorkerProcess:
    """One ``drx run <service>`` process with its own health port and log file."""

    def __init__(self, settings: Settings, service: str, log: Path, **env: str) -> None:
        self.port = free_port()
        self.log = log
        self.shutdown_timeout = settings.worker.shutdown_timeout_s
        self._service = service
        self._env = {
            **os.environ,
            "DRX_KAFKA_BOOTSTRAP_SERVERS": settings.kafka.bootstrap_servers,
            "DRX_KAFKA_TOPIC_PREFIX": settings.kafka.topic_prefix,
            "DRX_DATABASE_URL": settings.database.sqlalchemy_url,
            "DRX_LOG_FORMAT": "json",
            "DRX_HEALTH_HOST": "127.0.0.1",
            "DRX_HEALTH_PORT": str(self.port),
            "DRX_WORKER_SHUTDOWN_TIMEOUT_S": str(self.shutdown_timeout),
            **env,
        }
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self._process = subprocess.Popen(
                [*DRX, "run", self._service],
                env=self._env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    async def get(self, path: str) -> httpx.Response:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", timeout=5) as client:
            return await client.get(path)

    async def wait_ready(self, timeout: float = 90) -> None:
        async def ready() -> bool:
            assert self._process is not None
            assert self._process.poll() is None, f"the worker exited early:\n{self.tail()}"
            try:
                return (await self.get("/readyz")).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(ready, timeout, f"/readyz of {self._service} to answer 200")

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = await self.get("/metrics")
        assert response.status_code == 200
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples
        }

    async def terminate(self) -> tuple[int, float]:
        """SIGTERM; the exit code and how long it took (callers compare it with the shutdown timeout)."""
        assert self._process is not None
        started = time.monotonic()
        self._process.send_signal(signal.SIGTERM)
        limit = self.shutdown_timeout + EXIT_SLACK_S
        try:
            code = await asyncio.to_thread(self._process.wait, limit)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"no exit within {limit}s of SIGTERM:\n{self.tail()}") from None
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def metric(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def prepare(settings: Settings) -> None:
    await create_topics(settings.kafka)
    for source in b.SOURCES:
        await add_source(settings, *source)


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
    await prepare(settings)
    prefix = settings.kafka.topic_prefix
    needs_topic = topic_name(prefix, NEEDS_IN)
    out_topics = (topic_name(prefix, CANONICAL), topic_name(prefix, REJECTED))
    db = IngestWorker(settings)  # only for its database session factory
    first = WorkerProcess(settings, "ingest", tmp_path / "first.log")
    second = WorkerProcess(settings, "ingest", tmp_path / "second.log")
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
            await first.wait_ready()
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
            assert (
                metric(samples, "drx_events_processed_total", type="org.drx.need.posted", outcome="accepted")
            ) >= 20
            assert any(name == "drx_consumer_lag" for name, _ in samples), "no consumer lag series"
            assert metric(samples, "drx_outbox_backlog") is not None

            streaming = asyncio.create_task(send(producer, needs[FIRST_HALF:]))  # still sending at SIGTERM
            code, seconds = await first.terminate()
            assert code == 0, first.tail()
            assert seconds < first.shutdown_timeout
            await streaming
            assert await stored() < len(needs), "SIGTERM came after everything was applied: no test"

            second.start()
            await second.wait_ready()
            await eventually(lambda: _at_least(stored, len(needs)), 120, f"all {len(needs)} needs stored")

            await assert_applied_exactly_once(db, out, needs, out_topics)

            samples = await second.metrics()
            assert metric(samples, "drx_events_failed_total", type="org.drx.need.posted") is None
            code, seconds = await second.terminate()
            assert code == 0, second.tail()
            assert seconds < second.shutdown_timeout
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
    await prepare(settings)
    worker = WorkerProcess(settings, "ingest", tmp_path / "worker.log")
    worker.start()
    try:
        await worker.wait_ready()
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
        code, _ = await worker.terminate()
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
    await prepare(settings)
    timeout = 8.0
    quick = settings.model_copy(update={"worker": WorkerSettings(shutdown_timeout_s=timeout)})
    first = WorkerProcess(quick, "ingest", tmp_path / "first.log", DRX_SCHEDULE_ENABLED="false")
    second = WorkerProcess(settings, "ingest", tmp_path / "second.log", DRX_SCHEDULE_ENABLED="false")
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
        await first.wait_ready()
        async with db.engine.connect() as lock:
            await lock.execute(text("LOCK TABLE crises IN ACCESS EXCLUSIVE MODE"))
            async with Producer(settings.kafka.bootstrap_servers) as producer:
                document = b.envelope("org.drx.crisis.declared", b.crisis("c-stuck"), b.COORDINATOR[0])
                crises = topic_name(settings.kafka.topic_prefix, CRISES_IN)
                await producer.send(crises, b.encode(document), key="c-stuck")
            await eventually(handler_waits_on_the_lock, 60, "the handler to wait on the locked table")
            code, seconds = await first.terminate()
            await lock.rollback()
        assert code == 0, first.tail()
        assert IN_FLIGHT_SHARE * timeout <= seconds < timeout, f"exit after {seconds:.2f}s\n{first.tail()}"
        assert not await crisis_stored()

        second.start()
        await eventually(crisis_stored, 90, "the uncommitted message, applied by the next worker")
        code, _ = await second.terminate()
        assert code == 0, second.tail()
    finally:
        first.kill()
        second.kill()
        await db.engine.dispose()


async def test_readyz_is_503_while_postgresql_is_unreachable(kafka):
    await create_topics(kafka.settings)
    port = free_port()
    settings = Settings(
        kafka=kafka.settings,
        database=DatabaseSettings(
            url=SecretStr(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/drx")
        ),
        health=HealthSettings(host="127.0.0.1", port=port, check_timeout_s=1.0),
        schedule=ScheduleSettings(enabled=False),
    )
    app = IngestWorker(settings).app()
    await app.start()
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            assert (await client.get("/livez")).status_code == 200
            response = await client.get("/readyz")
            assert response.status_code == 503
            answer = response.json()
            assert answer["ready"] is False
            assert answer["checks"]["kafka"] == "ok"
            assert answer["checks"]["postgres"].startswith("unreachable")
            assert "postgres" in answer["reason"]
    finally:
        await app.stop()


async def test_static_membership_is_accepted_by_kafka(settings):
    """A worker with DRX_KAFKA_GROUP_INSTANCE_ID joins its group and consumes."""
    await prepare(settings)
    static = settings.model_copy(
        update={"kafka": settings.kafka.model_copy(update={"group_instance_id": "drx-ingest-0"})}
    )
    worker = IngestWorker(static)
    await worker.start()
    try:
        async with Producer(settings.kafka.bootstrap_servers) as producer:
            document = b.envelope("org.drx.crisis.declared", b.crisis("c-static"), b.COORDINATOR[0])
            crises = topic_name(settings.kafka.topic_prefix, CRISES_IN)
            await producer.send(crises, b.encode(document), key="c-static")

        async def stored() -> bool:
            async with worker.sessions() as session:
                return await session.get(CrisisRow, "c-static") is not None

        await eventually(stored, 60, "the crisis, consumed by a static member")
        (subscriber,) = worker.broker.subscribers
        assert subscriber.consumer._coordinator._group_instance_id == "drx-ingest-0-intake"
    finally:
        await worker.stop()


async def test_readyz_is_503_while_kafka_is_down_and_200_once_it_is_back(database, kafka_broker, tmp_path):
    """A broker of the test's own, stopped and started again on the same port and data.

    The session's broker is left alone: other tests use it, and its restart helper stops and
    starts it in one call, with no moment to look at /readyz in between.
    """
    if kafka_broker.restart is None:
        pytest.skip(
            f"launching a broker of its own needs the Kafka jars; the session uses {kafka_broker.provider}"
        )
    workdir = tmp_path / "kafka"
    workdir.mkdir()
    broker = ApacheKafkaServer(workdir, heap_mb=256)
    broker.start()
    try:
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers, partitions=1)
        await create_topics(kafka)
        port = free_port()
        settings = Settings(
            kafka=kafka,
            database=database.settings,
            health=HealthSettings(host="127.0.0.1", port=port, check_timeout_s=1.0),
            schedule=ScheduleSettings(enabled=False),
            worker=WorkerSettings(shutdown_timeout_s=5.0),
        )
        app = IngestWorker(settings).app()
        await app.start()
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
                answers: list[dict] = []

                async def ready_is(status: int) -> bool:
                    response = await client.get("/readyz")
                    answers.append(response.json())
                    return response.status_code == status

                await eventually(lambda: ready_is(200), 60, "/readyz 200 with Kafka up")
                await asyncio.to_thread(broker.stop)
                await eventually(lambda: ready_is(503), 30, "/readyz 503 with Kafka stopped")
                answer = answers[-1]
                assert answer["ready"] is False
                assert answer["checks"]["kafka"].startswith("no answer from Kafka"), answer
                assert answer["checks"]["postgres"] == "ok", answer
                assert answer["reason"].startswith("kafka"), answer
                assert (await client.get("/livez")).status_code == 200

                broker.start()  # on this thread: the broker dies with the thread that started it
                await eventually(lambda: ready_is(200), 60, "/readyz 200 once Kafka is back")
                assert answers[-1]["checks"] == {"kafka": "ok", "postgres": "ok"}
        finally:
            await app.stop()
    finally:
        broker.stop()
