"""End-to-end throughput, latency and memory: ``python -m benchmarks`` runs this as benchmarks a and e.

Ingest, matching (1, 2 or 3 processes) and notify run as ``drx run`` processes on a real broker
and database. A load generator posts needs and pledges that meet in pairs (same catalogue item,
same quantity, spread over many items so matching workers rarely share a lock) at a fixed offered
rate, and a reader follows the canonical, matches and notifications topics. One coordinator has a
kafka-channel subscription, so every proposal becomes one alert on the notifications topic.

For each match the clock starts when the later of its need and pledge was published (the match
could not exist before) and stops at the Kafka timestamp of ``org.drx.match.proposed`` (to match)
and of the ``org.drx.notification.sent`` for it (to alert). The time is split by stage: intake to
canonical (ingest), canonical to proposal (matching), proposal to alert (notify), each including
its outbox relay. Every worker logs how long each message took; the sum over a rate's window
divided by the window is that worker's busy fraction, which says who saturates first.

Peak memory per worker (benchmark e) is each process's VmHWM from /proc at the end of the run.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from benchmarks import _events as events
from benchmarks._latency import Reader, busy, summary
from benchmarks._stack import memory_mib, settings_for
from services.notify.subscriptions import set_subscription
from shared.config import Settings
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import STRUCTURED_CONTENT_TYPE
from shared.events.inbound import SubscriptionSet
from shared.kafka.topics import CRISES_IN, NEEDS_IN, PLEDGES_IN, topic_name
from tests.support import builders as b
from tests.support.cli import settings_env
from tests.support.provision import provision
from tests.support.workers import WorkerProcess

__all__ = ["SIZES", "markdown", "memory_markdown", "run_pipeline", "saturation"]

SIZES: dict[str, dict[str, Any]] = {
    # offered events per second, each held for ``seconds`` (then drained)
    "tiny": {"matchers": (1,), "rates": (20,), "seconds": 0.5},
    "small": {"matchers": (1, 2, 3), "rates": (10, 25, 50, 100), "seconds": 8},
    "full": {"matchers": (1, 2, 3), "rates": (5, 10, 20, 40, 80), "seconds": 15},
}


async def _offer(
    producer: AIOKafkaProducer, settings: Settings, pairs: list[tuple[str, str, str]], rate: float
) -> dict[str, float]:
    """Post need, pledge, need, pledge… at ``rate`` events per second; return when each was sent."""
    prefix = settings.kafka.topic_prefix
    posts = []
    for need_id, pledge_id, item in pairs:
        posts.append((topic_name(prefix, NEEDS_IN), need_id, events.need(need_id, item)))
        posts.append((topic_name(prefix, PLEDGES_IN), pledge_id, events.pledge(pledge_id, item)))
    published: dict[str, float] = {}
    pending = []
    headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]
    start = time.monotonic()
    for index, (topic, key, value) in enumerate(posts):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        published[key] = time.time()
        pending.append(await producer.send(topic, value, key=key.encode(), headers=headers))
    await asyncio.gather(*pending)
    return published


async def _prepare(settings: Settings) -> None:
    await provision(settings)
    engine = create_engine(settings.database)
    try:
        subscription = SubscriptionSet(
            subscription_id="bench-coordinator",
            recipient_id=b.COORDINATOR[2],
            recipient_kind="coordinator",
            channel="kafka",
        )
        async with create_session_factory(engine).begin() as session:
            await set_subscription(session, settings.kafka.topic_prefix, subscription, actor="benchmark")
    finally:
        await engine.dispose()


async def run_pipeline(
    bootstrap_servers: str,
    topic_prefix: str,
    database_url: str,
    *,
    matchers: int,
    rates: tuple[float, ...],
    seconds: float,
    drain_timeout: float = 180,
) -> dict[str, Any]:
    """One worker count: start the processes, warm up, then each offered rate in turn."""
    settings = settings_for(bootstrap_servers, topic_prefix, database_url)
    await _prepare(settings)
    logs_dir = Path(tempfile.mkdtemp(prefix="drx-bench-logs-"))
    env = settings_env(settings, DRX_LOG_FORMAT="json", DRX_LOG_LEVEL="INFO", DRX_SCHEDULE_ENABLED="false")
    names = ["ingest", *(f"matching-{i + 1}" for i in range(matchers)), "notify"]
    workers = [WorkerProcess(name.split("-")[0], env, logs_dir / f"{name}.log") for name in names]
    items = events.distinct_items()
    reader = Reader(settings)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True, linger_ms=2)
    runs = []
    try:
        for worker in workers:
            worker.start()
        await asyncio.gather(*(worker.wait_ready() for worker in workers))
        await producer.start()
        await reader.start()
        headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]
        await producer.send_and_wait(
            topic_name(topic_prefix, CRISES_IN), events.crisis(), key=events.CRISIS.encode(), headers=headers
        )
        async with asyncio.timeout(60):
            while events.CRISIS not in await _crises(settings):  # noqa: ASYNC110 - polling the database
                await asyncio.sleep(0.1)
        idle = {name: memory_mib(w.pid).get("VmRSS", 0.0) for name, w in zip(names, workers, strict=True)}
        serial = 0
        # Warm-up: a few pairs through every worker, until all are alerted.
        for rate in (None, *rates):
            count = 6 if rate is None else max(round(rate * seconds / 2), 2)
            pairs = []
            for _ in range(count):
                serial += 1
                pairs.append((f"bn-{serial}", f"bp-{serial}", items[serial % len(items)]))
            published = await _offer(producer, settings, pairs, rate or 10.0)
            complete = await reader.wait_alerts({n for n, _, _ in pairs}, drain_timeout)
            if rate is None:
                if not complete:
                    msg = "warm-up pairs were never alerted; see the worker logs in " + str(logs_dir)
                    raise RuntimeError(msg)
                continue
            found = summary(rate, pairs, published, reader.seen, complete)
            start, end = found.pop("window")
            logs = {name: w.log for name, w in zip(names, workers, strict=True)}
            found["workers"] = busy(logs, start, end)
            runs.append(found)
        memory = {
            name: {"idle_rss_mib": idle[name], "peak_rss_mib": memory_mib(w.pid).get("VmHWM", 0.0)}
            for name, w in zip(names, workers, strict=True)
        }
    finally:
        await reader.stop()
        await producer.stop()
        for worker in workers:
            worker.stop()
    return {"matchers": matchers, "runs": runs, "memory": memory, "logs": str(logs_dir)}


async def _crises(settings: Settings) -> set[str]:
    from sqlalchemy import select  # noqa: PLC0415

    from shared.db.models import CrisisRow  # noqa: PLC0415

    engine = create_engine(settings.database)
    try:
        async with create_session_factory(engine)() as session:
            return set(await session.scalars(select(CrisisRow.crisis_id)))
    finally:
        await engine.dispose()


def saturation(result: dict[str, Any]) -> float:
    """The best end-to-end (alerted) rate any offered rate reached with this worker count."""
    return max((run["alerted_per_s"] for run in result["runs"]), default=0.0)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        (
            "| matching workers | offered ev/s | alerted ev/s | to match p50 / p95 / p99 ms | "
            "to alert p50 / p95 / p99 ms | stage p50 ms: ingest, matching, notify | "
            "busy: ingest, matching, notify |"
        ),
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in results:
        for run in result["runs"]:
            m, a, s, w = run["to_match"], run["to_alert"], run["stage_p50_ms"], run["workers"]
            matching_busy = "/".join(f"{v['busy']:.2f}" for k, v in w.items() if k.startswith("matching"))
            lines.append(
                f"| {result['matchers']} | {run['offered_per_s']:g} | {run['alerted_per_s']}"
                f"{'' if run['complete'] else ' (incomplete)'} | "
                f"{m['p50_ms']:g} / {m['p95_ms']:g} / {m['p99_ms']:g} | {a['p50_ms']:g} / {a['p95_ms']:g} / "
                f"{a['p99_ms']:g} | {s['ingest']:g}, {s['matching']:g}, {s['notify']:g} | "
                f"{w['ingest']['busy']:.2f}, {matching_busy}, {w['notify']['busy']:.2f} |"
            )
    return "\n".join(lines)


def memory_markdown(results: list[dict[str, Any]]) -> str:
    lines = [
        "| matching workers | worker | RSS when idle MiB | peak RSS MiB |",
        "| ---: | --- | ---: | ---: |",
    ]
    for result in results:
        for name, memory in result["memory"].items():
            lines.append(
                f"| {result['matchers']} | {name} | {memory['idle_rss_mib']:g} | {memory['peak_rss_mib']:g} |"
            )
    return "\n".join(lines)
