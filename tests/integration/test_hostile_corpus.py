"""Nothing a producer sends can stall drx: the hostile corpus on real Kafka and PostgreSQL (issue 14).

Ingest, matching and notify run as operators run them (``drx run``, each its own OS process). The
corpus (``tests/support/hostile.py``: 200 records of each class, spread over ingest's four intake
topics and notify's subscriptions topic) goes in with valid events between, and the test waits
until everything settles, then checks what issue 14 promises:

- every hostile record is on the rejected topic with a reason (found by its position, or by its
  marker when ingest passed it on and matching refused it); one valid but for its timestamps
  may be applied instead;
- every valid event is applied: ingest's row, and matching's copy of needs and pledges;
- every consumer group's committed offset reaches the end of each partition it reads;
- no worker process died, and each answers ``/livez`` and ``/readyz``;
- no outbox row is larger than the producer may send or parked, and no audit row over 70 KiB.

The counts per class are printed (``pytest -s``) and are part of the failure message. To look at
some classes alone, set ``DRX_TEST_HOSTILE_CLASSES`` to words of their names: ``nesting,header``.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import os
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import text

from shared.config import Settings
from shared.db.session import create_engine
from shared.kafka.topics import (
    CANONICAL,
    CRISES_IN,
    DECISIONS_IN,
    MATCHES,
    NEEDS_IN,
    PLEDGES_IN,
    REJECTED,
    SUBSCRIPTIONS_IN,
    TopicSpec,
    topic_name,
)
from shared.outbox import MAX_ROW_BYTES
from tests.support import builders as b
from tests.support.cli import settings_env
from tests.support.hostile import CLASSES, HostileRecord, corpus
from tests.support.kafka import TopicReader, eventually
from tests.support.provision import provision
from tests.support.raw_records import has_raw_names, send_raw
from tests.support.workers import WorkerProcess

VALID_EVERY = 10  # one valid event after every ten hostile records
SETTLE_TIMEOUT_S = 150.0
AUDIT_ROW_LIMIT = 70 * 1024  # bytes of one audit row as text; drx caps what it writes well below
INPUTS: dict[str, tuple[TopicSpec, ...]] = {  # the topics each consumer group reads
    "ingest": (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN),
    "matching": (CANONICAL,),
    "notify": (MATCHES, CANONICAL, SUBSCRIPTIONS_IN),
}
MARKER = re.compile(rb"hx\d{7}x")
ENTITY_TABLES = {  # where an applied event of each intake topic leaves its row: table, key column
    CRISES_IN: ("crises", "crisis_id"),
    NEEDS_IN: ("needs", "need_id"),
    PLEDGES_IN: ("pledges", "pledge_id"),
    SUBSCRIPTIONS_IN: ("subscriptions", "subscription_id"),
}


@dataclass
class Fed:
    """What went in: each hostile record at its position, what Kafka refused, the valid events."""

    positions: dict[tuple[str, int, int], HostileRecord] = field(default_factory=dict)
    refused_by_kafka: collections.Counter[str] = field(default_factory=collections.Counter)
    valid: list[tuple[str, str]] = field(default_factory=list)  # (table, id)
    valid_positions: set[tuple[str, int, int]] = field(default_factory=set)


@dataclass
class State:
    """One look at the stack, and what is still wrong with it."""

    outcome: dict[str, collections.Counter[str]]  # class -> rejected / applied / missing
    missing: list[str]
    unapplied: list[str]
    lag: dict[str, int]
    heads: list[tuple[str, str, int, int]]  # (group, topic, partition, committed offset) of a stuck partition
    unpublished: int
    problems: list[str]

    @property
    def settled(self) -> bool:
        return not (self.missing or self.unapplied or any(self.lag.values()) or self.unpublished)


async def test_no_hostile_record_stalls_a_worker_or_is_lost(settings: Settings, tmp_path: Path) -> None:
    await provision(settings)
    prefix = settings.kafka.topic_prefix
    env = settings_env(settings, DRX_LOG_FORMAT="json", DRX_SCHEDULE_ENABLED="false")
    workers = [WorkerProcess(name, env, tmp_path / f"{name}.log") for name in INPUTS]
    engine = create_engine(settings.database)
    for worker in workers:
        worker.start()
    try:
        await asyncio.gather(*(worker.wait_ready() for worker in workers))
        records = corpus(classes=_chosen())
        async with (
            TopicReader(settings.kafka.bootstrap_servers, topic_name(prefix, REJECTED)) as rejected,
            _producer(settings) as producer,
        ):
            crisis = b.envelope("org.drx.crisis.declared", b.crisis(), b.COORDINATOR[0])
            await _send(producer, prefix, CRISES_IN, crisis)
            await eventually(
                lambda: _exists(engine, "crises", "eq-tur-2026"), 60, "the crisis the needs are for"
            )
            fed = await _feed(producer, prefix, records)

            async def look() -> State:
                return await _look(settings, engine, fed, rejected.records, workers)

            state = await _settle(look, SETTLE_TIMEOUT_S)
        report = _report(records, fed, state, workers)
        print(report)  # noqa: T201 - the counts per class are the test's report (pytest -s)
        assert not state.problems, report
    finally:
        for worker in workers:
            await asyncio.to_thread(worker.stop)
            worker.log.unlink(missing_ok=True)  # a stalled worker can write gigabytes (issue 14, item 4)
        await engine.dispose()


async def _exists(engine: Any, table: str, key: str) -> bool:
    column = dict(ENTITY_TABLES.values())[table]
    async with engine.connect() as connection:
        statement = text(f"SELECT 1 FROM {table} WHERE {column} = :key")
        return await connection.scalar(statement, {"key": key}) is not None


def _chosen() -> tuple[str, ...] | None:
    words = [
        w.strip().lower() for w in os.environ.get("DRX_TEST_HOSTILE_CLASSES", "").split(",") if w.strip()
    ]
    return tuple(k for k in CLASSES if any(w in k.lower() for w in words)) if words else None


@asynccontextmanager
async def _producer(settings: Settings) -> AsyncIterator[AIOKafkaProducer]:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers, acks="all", linger_ms=20)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def _send(producer: AIOKafkaProducer, prefix: str, topic: TopicSpec, document: dict[str, Any]) -> Any:
    """Send like a real producer, keyed by the entity's id; the future of its acknowledgement."""
    key = document["data"].get(ENTITY_TABLES[topic][1], "")
    headers = [(k, v.encode()) for k, v in b.HEADERS.items()]
    return await producer.send(
        topic_name(prefix, topic), b.encode(document), key=key.encode(), headers=headers
    )


def _subscription(entity: str) -> dict[str, Any]:
    """A coordinator's subscription, filtered to a country no need is in: it adds no deliveries.

    Syria: in the test coordinator's scope (builders.SCOPES), and every valid need is in Türkiye.
    """
    kinds = {"recipient_id": "iom-desk-leyla", "recipient_kind": "coordinator", "channel": "kafka"}
    return {"subscription_id": entity, **kinds, "country": "SYR"}


VALID: tuple[tuple[TopicSpec, str, Callable[[str], dict[str, Any]], str], ...] = (
    (CRISES_IN, "org.drx.crisis.declared", b.crisis, b.COORDINATOR[0]),
    (NEEDS_IN, "org.drx.need.posted", b.need, b.ORGANISATION[0]),
    (PLEDGES_IN, "org.drx.pledge.posted", b.pledge, b.DONOR[0]),
    (SUBSCRIPTIONS_IN, "org.drx.subscription.set", _subscription, b.COORDINATOR[0]),
)


def _valid_event(n: int) -> tuple[TopicSpec, dict[str, Any], tuple[str, str]]:
    """The ``n``-th valid event: a crisis, a need, a pledge or a subscription, from a registered source."""
    entity = f"ok-{n:05d}"
    topic, event_type, data, source = VALID[n % len(VALID)]
    return topic, b.envelope(event_type, data(entity), source), (ENTITY_TABLES[topic][0], entity)


async def _feed(producer: AIOKafkaProducer, prefix: str, records: list[HostileRecord]) -> Fed:
    """Produce the corpus with valid events between, in batches; note where each hostile record landed.

    A record with its own Kafka timestamp goes alone, so a broker that refuses the timestamp refuses
    only that record, not the batch it would share.
    """
    fed = Fed()
    pending: list[tuple[HostileRecord | None, Awaitable[Any]]] = []

    async def settle_pending() -> None:
        results = await asyncio.gather(*(future for _, future in pending), return_exceptions=True)
        for (record, _), result in zip(pending, results, strict=True):
            if record is None:
                assert not isinstance(result, BaseException), f"a valid event was refused: {result!r}"
                fed.valid_positions.add((result.topic, result.partition, result.offset))
            elif isinstance(result, BaseException):
                fed.refused_by_kafka[record.kind] += 1
            else:
                fed.positions[(result.topic, result.partition, result.offset)] = record
        pending.clear()

    for index, record in enumerate(records, 1):
        if record.timestamp_ms is not None:
            await settle_pending()
        name = topic_name(prefix, record.topic)
        if has_raw_names(record.headers):  # a hand-built batch, to one partition the marker picks
            partitions = sorted(await producer.partitions_for(name))
            partition = partitions[zlib.crc32(record.marker.encode()) % len(partitions)]
            future = await send_raw(
                producer, name, record.value, record.headers, partition=partition, key=record.marker.encode()
            )
        else:
            future = await producer.send(
                name,
                record.value,
                key=record.marker.encode(),
                headers=list(record.headers),
                timestamp_ms=record.timestamp_ms,
            )
        pending.append((record, future))
        if record.timestamp_ms is not None or len(pending) >= 200:
            await settle_pending()
        if index % VALID_EVERY == 0:
            topic, document, row = _valid_event(index // VALID_EVERY)
            pending.append((None, await _send(producer, prefix, topic, document)))
            fed.valid.append(row)
    await settle_pending()
    return fed


async def _settle(look: Callable[[], Awaitable[State]], timeout: float) -> State:
    """Look until the stack has settled or ``timeout`` has passed; the last look either way."""
    state = await look()
    try:
        async with asyncio.timeout(timeout):
            while not state.settled:
                await asyncio.sleep(1)
                state = await look()
    except TimeoutError:
        state.problems.insert(0, f"not settled after {timeout:.0f}s")
    return state


async def _look(
    settings: Settings, engine: Any, fed: Fed, rejected: list[dict[str, Any]], workers: list[WorkerProcess]
) -> State:
    prefix = settings.kafka.topic_prefix
    by_position: dict[tuple[str, int, int], dict[str, Any]] = {}
    by_marker: dict[bytes, dict[str, Any]] = {}
    for event in list(rejected):
        data = event["data"]
        by_position[(data["source_topic"], data["source_partition"], data["source_offset"])] = data
        for marker in MARKER.findall(_original(data)):
            by_marker.setdefault(marker, data)
    async with engine.connect() as connection:
        applied = {
            table: set((await connection.execute(text(f"SELECT {key} FROM {table}"))).scalars())
            for table, key in (*ENTITY_TABLES.values(), ("m_needs", "need_id"), ("m_pledges", "pledge_id"))
        }
        outbox = (
            await connection.execute(
                text(
                    "SELECT coalesce(max(octet_length(payload)), 0),"
                    " count(*) FILTER (WHERE parked_at IS NOT NULL),"
                    " count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL) FROM outbox"
                )
            )
        ).one()
        audit = await connection.scalar(
            text("SELECT coalesce(max(octet_length(a::text)), 0) FROM audit_log a")
        )

    outcome: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    missing, problems = [], []
    for position, record in fed.positions.items():
        found = by_position.get(position) or by_marker.get(record.marker.encode())
        table = ENTITY_TABLES.get(record.topic)
        if found is not None:
            outcome[record.kind]["rejected"] += 1
            if not str(found.get("reason") or "").strip():
                problems.append(f"{record.kind}: {position} rejected without a reason")
        elif not record.must_reject and table and record.marker in applied[table[0]]:
            outcome[record.kind]["applied"] += 1
        else:
            outcome[record.kind]["missing"] += 1
            missing.append(f"{record.kind} {'/'.join(map(str, position))} ({record.marker})")
    unapplied = [f"{table} {key}" for table, key in fed.valid if key not in applied[table]]
    unapplied += [
        f"m_{table} {key}"
        for table, key in fed.valid
        if table in ("needs", "pledges") and key not in applied[f"m_{table}"]
    ]
    lag, heads = await _lag(settings, prefix)
    problems += [f"{len(missing)} hostile records not on the rejected topic, e.g. {missing[:5]}"] * bool(
        missing
    )
    problems += [f"{len(unapplied)} valid events not applied, e.g. {unapplied[:5]}"] * bool(unapplied)
    problems += [f"consumer group drx-{g} is {n} records behind" for g, n in lag.items() if n]
    # The first record not committed; a batch consumer (ingest) may be held by another in its batch.
    problems += [f"drx-{g} has not committed {t}/{p}/{o}: {_what(fed, (t, p, o))}" for g, t, p, o in heads]
    largest, parked, unpublished = outbox
    if largest >= MAX_ROW_BYTES:
        problems.append(f"an outbox row holds {largest} bytes; the limit is {MAX_ROW_BYTES}")
    if parked:
        problems.append(f"{parked} outbox rows parked")
    if unpublished:
        problems.append(f"{unpublished} outbox rows unpublished")
    if audit >= AUDIT_ROW_LIMIT:
        problems.append(f"an audit row is {audit} bytes; the test's bound is {AUDIT_ROW_LIMIT}")
    problems += [p for worker in workers if (p := await _health(worker))]
    return State(dict(outcome), missing, unapplied, lag, heads, unpublished, problems)


def _what(fed: Fed, position: tuple[str, int, int]) -> str:
    """What record is at ``position``: a hostile one (its class and marker), a valid event, or another."""
    if (record := fed.positions.get(position)) is not None:
        return f"{record.kind} ({record.marker}, {len(record.value)} bytes)"
    return "a valid event" if position in fed.valid_positions else "a record drx wrote"


def _original(data: dict[str, Any]) -> bytes:
    return base64.b64decode(data.get("original_base64") or "")


async def _lag(settings: Settings, prefix: str) -> tuple[dict[str, int], list[tuple[str, str, int, int]]]:
    """Records each consumer group has not committed yet, and where each partition behind stands."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka.bootstrap_servers)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers)
    await admin.start()
    await consumer.start()
    try:
        lag, heads = {}, []
        for service, topics in INPUTS.items():
            committed = await admin.list_consumer_group_offsets(f"{prefix}drx-{service}")
            partitions = [
                TopicPartition(topic_name(prefix, t), p)
                for t in topics
                for p in range(settings.kafka.partitions)
            ]
            ends = await consumer.end_offsets(partitions)
            done = {tp: max(committed[tp].offset if tp in committed else 0, 0) for tp in ends}
            lag[service] = sum(end - done[tp] for tp, end in ends.items())
            heads += [
                (service, tp.topic, tp.partition, done[tp]) for tp, end in ends.items() if end > done[tp]
            ]
        return lag, heads
    finally:
        await consumer.stop()
        await admin.close()


async def _health(worker: WorkerProcess) -> str | None:
    """Why this worker is not alive and ready, or None."""
    if worker.exited:
        return f"drx run {worker.service} exited:\n{worker.tail()}"
    try:
        live, ready = await worker.get("/livez"), await worker.get("/readyz")
    except httpx.TransportError as error:
        return f"{worker.service} does not answer on its health port: {error!r}"
    if live.status_code != 200:
        return f"{worker.service} /livez answered {live.status_code}"
    if ready.status_code != 200:
        return f"{worker.service} /readyz answered {ready.status_code}: {ready.text}"
    return None


def _report(records: list[HostileRecord], fed: Fed, state: State, workers: list[WorkerProcess]) -> str:
    sent = collections.Counter(r.kind for r in records)
    lines = [f"{'class':<36} {'sent':>5} {'kafka refused':>13} {'rejected':>8} {'applied':>7} {'missing':>7}"]
    for kind, count in sent.items():
        got = state.outcome.get(kind, collections.Counter())
        counts = (count, fed.refused_by_kafka[kind], got["rejected"], got["applied"], got["missing"])
        lines.append(
            f"{kind:<36} " + " ".join(f"{n:>{w}}" for n, w in zip(counts, (5, 13, 8, 7, 7), strict=True))
        )
    lines.append(f"valid events: {len(fed.valid)}, not applied: {len(state.unapplied)}; lag: {state.lag}")
    lines += [_log_summary(worker.service, worker.log) for worker in workers]
    return "\n".join(["hostile corpus:", *lines, *state.problems])


def _log_summary(service: str, log: Path, tail_bytes: int = 1 << 20) -> str:
    """Its log's size, its longest line, and its last lines, each cut short, read without loading it all."""
    if not log.exists():
        return f"{service} log: none"
    size, longest, current = log.stat().st_size, 0, 0
    with log.open("rb") as file:
        while chunk := file.read(1 << 22):
            parts = chunk.split(b"\n")
            current += len(parts[0])
            for part in parts[1:]:
                longest, current = max(longest, current), len(part)
        longest = max(longest, current)
        file.seek(max(0, size - tail_bytes))
        last = [line[:300].decode(errors="replace") for line in file.read().splitlines()[-3:]]
    shown = "".join(f"\n    {line}" for line in last)
    return f"{service} log: {size} bytes, longest line {longest} bytes; last lines:{shown}"
