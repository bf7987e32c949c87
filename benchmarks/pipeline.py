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
import datetime as dt
import json
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from benchmarks._stack import WorkerProcess, memory_mib, settings_for, wait_ready
from services.notify.subscriptions import set_subscription
from shared.config import Settings
from shared.db.session import create_engine, create_session_factory
from shared.events.envelope import STRUCTURED_CONTENT_TYPE
from shared.events.inbound import SubscriptionSet
from shared.kafka.admin import create_topics
from shared.kafka.topics import CANONICAL, CRISES_IN, MATCHES, NEEDS_IN, NOTIFICATIONS, PLEDGES_IN, topic_name
from shared.reference import load_catalogue
from shared.sources import add_source

__all__ = ["SIZES", "markdown", "memory_markdown", "run_pipeline"]

COORDINATOR = ("urn:drx:coord:bench", "coordinator", "bench-desk", "Benchmark desk")
ORGANISATION = ("urn:drx:org:bench", "organisation", "bench-org", "Benchmark relief organisation")
DONOR = ("urn:drx:donor:bench", "donor", "bench-donors", "Benchmark diaspora group")
CRISIS = "bench-crisis"
ITEMS = 200  # distinct catalogue items the pairs cycle through (distinct match keys)

SIZES: dict[str, dict[str, Any]] = {
    # offered events per second, each held for ``seconds`` (then drained)
    "tiny": {"matchers": (1,), "rates": (20,), "seconds": 0.5},
    "small": {"matchers": (1, 2, 3), "rates": (10, 25, 50, 100), "seconds": 8},
    "full": {"matchers": (1, 2, 3), "rates": (5, 10, 20, 40, 80), "seconds": 15},
}


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _items() -> list[str]:
    codes = [i.code for i in load_catalogue() if i.substitution_group is None and i.base_unit == "piece"]
    return codes[:ITEMS]


PLACE = {"country": "TUR", "admin_area": "TR-27", "name": "Gaziantep", "lat": 37.066, "lon": 37.383}


def _envelope(event_type: str, data: dict[str, Any], source: str) -> bytes:
    document = {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": source,
        "type": event_type,
        "time": dt.datetime.now(dt.UTC).isoformat(),
        "data": data,
    }
    return json.dumps(document).encode()


def _need(need_id: str, item: str) -> bytes:
    today = _today()
    data = {
        "need_id": need_id,
        "crisis_id": CRISIS,
        "organisation": {"id": ORGANISATION[2], "name": ORGANISATION[3]},
        "title": "Supplies for the tent camp",
        "sector": "shelter",
        "urgency": "high",
        "needed_by": str(today + dt.timedelta(days=10)),
        "place": PLACE,
        "spec": {"category": "supplies", "item_code": item, "quantity": "40", "unit": "piece"},
    }
    return _envelope("org.drx.need.posted", data, ORGANISATION[0])


def _pledge(pledge_id: str, item: str) -> bytes:
    today = _today()
    data = {
        "pledge_id": pledge_id,
        "donor": {"id": DONOR[2], "name": DONOR[3], "kind": "group"},
        "crisis_id": CRISIS,
        "title": "Supplies from our warehouse",
        "earmarks": {"countries": ["TUR"]},
        "available_from": str(today),
        "expires_on": str(today + dt.timedelta(days=60)),
        "place": {"country": "DEU", "name": "Berlin"},
        "spec": {"category": "supplies", "item_code": item, "quantity": "40", "unit": "piece"},
    }
    return _envelope("org.drx.pledge.posted", data, DONOR[0])


def _crisis() -> bytes:
    data = {
        "crisis_id": CRISIS,
        "name": "Benchmark earthquake",
        "kind": "earthquake",
        "countries": ["TUR"],
        "areas": ["TR-27"],
        "severity": 4,
        "start_date": str(_today() - dt.timedelta(days=2)),
        "revision": 1,
    }
    return _envelope("org.drx.crisis.declared", data, COORDINATOR[0])


@dataclass
class Observed:
    """What the reader saw: when each entity reached canonical, each match and each alert."""

    canonical: dict[str, float] = field(default_factory=dict)
    matches: dict[str, tuple[str, str, float]] = field(default_factory=dict)  # match -> need, pledge, at
    alerts: dict[str, float] = field(default_factory=dict)  # match -> at

    def take(self, topic_kind: str, value: bytes, timestamp_ms: int) -> None:
        at = timestamp_ms / 1000
        record = json.loads(value)
        data, event_type = record.get("data") or {}, record.get("type")
        if topic_kind == "canonical" and event_type in ("org.drx.need.recorded", "org.drx.pledge.recorded"):
            entity = str(data.get("need_id") or data.get("pledge_id"))
            self.canonical.setdefault(entity, at)
        elif topic_kind == "matches" and event_type == "org.drx.match.proposed":
            self.matches.setdefault(data["match_id"], (data["need_id"], data["pledge_id"], at))
        elif topic_kind == "notifications" and data.get("kind") == "match.proposed":
            self.alerts.setdefault(data["match_id"], at)


class Reader:
    def __init__(self, settings: Settings) -> None:
        prefix = settings.kafka.topic_prefix
        self._kinds = {
            topic_name(prefix, CANONICAL): "canonical",
            topic_name(prefix, MATCHES): "matches",
            topic_name(prefix, NOTIFICATIONS): "notifications",
        }
        self._consumer = AIOKafkaConsumer(
            *self._kinds,
            bootstrap_servers=settings.kafka.bootstrap_servers,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.seen = Observed()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=100)
            for partition, records in batch.items():
                kind = self._kinds[partition.topic]
                for record in records:
                    self.seen.take(kind, record.value, record.timestamp)

    async def wait_alerts(self, needs: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            done = {need for need, _, _ in self.seen.matches.values() if need in needs}
            alerted = sum(
                1 for m, (need, _, _) in self.seen.matches.items() if need in needs and m in self.seen.alerts
            )
            if len(done) == len(needs) and alerted >= len(needs):
                return True
            await asyncio.sleep(0.1)
        return False


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _ms(values: list[float]) -> dict[str, float]:
    return {f"p{q}_ms": round(_percentile(values, q) * 1000, 1) for q in (50, 95, 99)}


async def _offer(
    producer: AIOKafkaProducer, settings: Settings, pairs: list[tuple[str, str, str]], rate: float
) -> dict[str, float]:
    """Post need, pledge, need, pledge… at ``rate`` events per second; return when each was sent."""
    prefix = settings.kafka.topic_prefix
    events = []
    for need_id, pledge_id, item in pairs:
        events.append((topic_name(prefix, NEEDS_IN), need_id, _need(need_id, item)))
        events.append((topic_name(prefix, PLEDGES_IN), pledge_id, _pledge(pledge_id, item)))
    published: dict[str, float] = {}
    pending = []
    headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]
    start = time.monotonic()
    for index, (topic, key, value) in enumerate(events):
        delay = start + index / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        published[key] = time.time()
        pending.append(await producer.send(topic, value, key=key.encode(), headers=headers))
    await asyncio.gather(*pending)
    return published


def _busy(logs: dict[str, Path], start: float, end: float) -> dict[str, dict[str, float]]:
    """Per worker: messages handled in [start, end], median ms each, and the busy fraction."""
    # Ingest and matching log one line per batch (with ms and the number of records) and one
    # per record without ms; notify logs one line per message with its ms. Lines of commits
    # before batching (one per message, with ms) count too, for before/after comparisons.
    handled = {
        "intake batch handled",
        "intake message handled",
        "canonical batch handled",
        "canonical event handled",
        "match event handled",
    }
    found = {}
    for name, path in logs.items():
        times = []
        for line in path.read_text(errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            entry = json.loads(line)
            if entry.get("event") not in handled or "ms" not in entry:
                continue
            if entry.get("outcome") == "ignored":
                continue  # notify reads the canonical topic too, and drops most of it before any I/O
            at = dt.datetime.fromisoformat(entry["timestamp"]).timestamp()
            if start <= at <= end:
                records = int(entry.get("records", 1))
                times += [float(entry["ms"]) / records] * records  # a batch's time, spread over its records
        found[name] = {
            "messages": len(times),
            "median_ms": round(statistics.median(times), 1) if times else 0.0,
            "busy": round(sum(times) / 1000 / (end - start), 2) if end > start else 0.0,
        }
    return found


def _summary(
    rate: float,
    pairs: list[tuple[str, str, str]],
    published: dict[str, float],
    seen: Observed,
    complete: bool,
) -> dict[str, Any]:
    needs = {need for need, _, _ in pairs}
    to_match, to_alert, ingest, matching, notify = [], [], [], [], []
    last_match = last_alert = 0.0
    for match_id, (need, pledge, at) in seen.matches.items():
        if need not in needs:
            continue
        ready = max(published[need], published[pledge])
        to_match.append(at - ready)
        last_match = max(last_match, at)
        canonical = max(seen.canonical.get(need, at), seen.canonical.get(pledge, at))
        matching.append(at - canonical)
        if match_id in seen.alerts:
            to_alert.append(seen.alerts[match_id] - ready)
            notify.append(seen.alerts[match_id] - at)
            last_alert = max(last_alert, seen.alerts[match_id])
    for entity, at in published.items():
        if entity in seen.canonical:
            ingest.append(seen.canonical[entity] - at)
    first = min(published.values())
    events = 2 * len(pairs)
    return {
        "offered_per_s": rate,
        "events": events,
        "complete": complete,
        "matched_per_s": round(2 * len(to_match) / (last_match - first), 1) if last_match else 0.0,
        "alerted_per_s": round(2 * len(to_alert) / (last_alert - first), 1) if last_alert else 0.0,
        "to_match": _ms(to_match),
        "to_alert": _ms(to_alert),
        "stage_p50_ms": {
            "ingest": round(_percentile(ingest, 50) * 1000, 1),
            "matching": round(_percentile(matching, 50) * 1000, 1),
            "notify": round(_percentile(notify, 50) * 1000, 1),
        },
        "window": (first, max(last_alert, last_match, first + 0.001)),
    }


async def _prepare(settings: Settings) -> None:
    await create_topics(settings.kafka)
    for source, role, party, name in (COORDINATOR, ORGANISATION, DONOR):
        await add_source(settings, source, role, party, name)
    engine = create_engine(settings.database)
    try:
        subscription = SubscriptionSet(
            subscription_id="bench-coordinator",
            recipient_id=COORDINATOR[2],
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
    workers = [
        WorkerProcess("ingest", settings, logs_dir / "ingest.log"),
        *(WorkerProcess("matching", settings, logs_dir / f"matching-{i + 1}.log") for i in range(matchers)),
        WorkerProcess("notify", settings, logs_dir / "notify.log"),
    ]
    names = ["ingest", *(f"matching-{i + 1}" for i in range(matchers)), "notify"]
    items = _items()
    reader = Reader(settings)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True, linger_ms=2)
    runs = []
    try:
        for worker in workers:
            worker.start()
        await asyncio.to_thread(wait_ready, workers)
        await producer.start()
        await reader.start()
        headers = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]
        await producer.send_and_wait(
            topic_name(topic_prefix, CRISES_IN), _crisis(), key=CRISIS.encode(), headers=headers
        )
        async with asyncio.timeout(60):
            while CRISIS not in await _crises(settings):  # noqa: ASYNC110 - polling the database
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
            summary = _summary(rate, pairs, published, reader.seen, complete)
            start, end = summary.pop("window")
            logs = {name: w.log_path for name, w in zip(names, workers, strict=True)}
            summary["workers"] = _busy(logs, start, end)
            runs.append(summary)
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
