"""The ceiling for our pipeline's shape, measured on the same broker and database (benchmark b).

- Kafka: a raw aiokafka consume → produce → commit loop with no work inside, producer settings
  as the outbox relay's (idempotent, ``acks=all``, ``linger_ms=5``), records shaped like a posted
  need. Two ways: one record at a time (produce with no linger, wait for the ack, commit: the
  shape of our subscribers today, which commit each offset after their transaction) and in
  batches (``getmany``, produce all, wait for the acks, one commit per batch).
- PostgreSQL: rows shaped like outbox rows, inserted in transactions of 500 (one round trip per
  batch with psycopg's pipelined ``executemany``), and for comparison one transaction per row
  (what a worker that commits per message can at best do, with no reads and one row).

Each gives records or rows per second; our end-to-end rate is reported as a ratio of each.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy.engine import make_url

from benchmarks import _events as events

__all__ = ["SIZES", "kafka_ceiling", "markdown", "postgres_ceiling"]

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"records": 200, "rows": 1000},
    "small": {"records": 5000, "rows": 20000},
    "full": {"records": 20000, "rows": 100000},
}
BATCH = 500


async def _topics(bootstrap_servers: str, *names: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, num_partitions=6, replication_factor=1) for name in names])
    finally:
        await admin.close()


async def _relay(bootstrap_servers: str, source: str, target: str, records: int, *, batched: bool) -> float:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap_servers,
        group_id=f"ceiling-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    # The relay's settings; one record at a time has nothing to wait for, so no linger there.
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        enable_idempotence=True,
        acks="all",
        linger_ms=5 if batched else 0,
    )
    await consumer.start()
    await producer.start()
    try:
        done, started = 0, 0.0
        while done < records:
            batch = await consumer.getmany(timeout_ms=200, max_records=BATCH if batched else 1)
            if not started and batch:
                started = time.perf_counter()  # after the group join, which is not the loop's cost
            for part in batch.values():
                if batched:
                    sent = [await producer.send(target, r.value, key=r.key) for r in part]
                    await asyncio.gather(*sent)
                else:
                    for r in part:
                        await producer.send_and_wait(target, r.value, key=r.key)
                done += len(part)
            if batch:
                await consumer.commit()
        return done / (time.perf_counter() - started)
    finally:
        await producer.stop()
        await consumer.stop()


async def kafka_ceiling(bootstrap_servers: str, prefix: str, records: int) -> dict[str, float]:
    """Records per second through consume → produce → commit, one at a time and in batches."""
    source, one, many = f"{prefix}ceiling.in", f"{prefix}ceiling.out1", f"{prefix}ceiling.outn"
    await _topics(bootstrap_servers, source, one, many)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True, linger_ms=20)
    await producer.start()
    try:
        value = events.need("n-ceiling", "HSHEBLANWHT1")
        sent = [await producer.send(source, value, key=f"n{i}".encode()) for i in range(records)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    per_record = await _relay(bootstrap_servers, source, one, min(records, 2000), batched=False)
    batched = await _relay(bootstrap_servers, source, many, records, batched=True)
    return {"kafka_one_at_a_time_per_s": round(per_record, 1), "kafka_batched_per_s": round(batched, 1)}


def postgres_ceiling(database_url: str, rows: int) -> dict[str, float]:
    """Outbox-shaped rows per second: batches of 500 per transaction, and one per transaction."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    payload = events.need("n-ceiling", "HSHEBLANWHT1")
    insert = "INSERT INTO bench_ceiling (topic, key, payload) VALUES (%s, %s, %s)"
    with psycopg.connect(conninfo) as conn:
        conn.execute(
            "CREATE TABLE bench_ceiling (id bigserial PRIMARY KEY, topic text NOT NULL, key bytea, "
            "payload bytea NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        conn.commit()
        started = time.perf_counter()
        for chunk in range(0, rows, BATCH):
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(
                    insert,
                    [("t", f"k{i}".encode(), payload) for i in range(chunk, min(chunk + BATCH, rows))],
                )
        batched = rows / (time.perf_counter() - started)
        singles = max(rows // 20, 100)
        conn.autocommit = True
        started = time.perf_counter()
        for i in range(singles):
            conn.execute(insert, ("t", f"s{i}".encode(), payload))
        single = singles / (time.perf_counter() - started)
        conn.execute("DROP TABLE bench_ceiling")
    return {"postgres_batched_rows_per_s": round(batched, 1), "postgres_row_per_tx_per_s": round(single, 1)}


def markdown(ceiling: dict[str, float], ours: dict[int, float]) -> str:
    """Our best end-to-end rate per matching-worker count as a ratio of each ceiling."""
    names = {
        "kafka_one_at_a_time_per_s": "Kafka consume → produce → commit, one record at a time",
        "kafka_batched_per_s": f"Kafka consume → produce → commit, batches of up to {BATCH}",
        "postgres_batched_rows_per_s": f"PostgreSQL insert, {BATCH} rows per transaction",
        "postgres_row_per_tx_per_s": "PostgreSQL insert, one row per transaction",
    }
    counts = sorted(ours)
    header = " | ".join(f"ours ({n} matching) / ceiling" for n in counts)
    lines = [
        f"| ceiling | per s | {header} |",
        "| --- | ---: |" + " ---: |" * len(counts),
    ]
    for key, label in names.items():
        ratios = " | ".join(f"{ours[n] / ceiling[key]:.2g}" if ceiling[key] else "n/a" for n in counts)
        lines.append(f"| {label} | {ceiling[key]:,.0f} | {ratios} |")
    return "\n".join(lines)


def summary(ceiling: dict[str, float], ours: dict[int, float]) -> dict[str, Any]:
    return {
        "ceiling": ceiling,
        "ours_alerted_per_s": ours,
        "ratios": {
            f"{n}_matching": {key: round(ours[n] / value, 4) for key, value in ceiling.items() if value}
            for n in sorted(ours)
        },
    }
