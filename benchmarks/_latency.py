"""What the pipeline benchmark sees, and how it sums it up.

A reader follows the canonical, matches and notifications topics and notes the Kafka timestamp
at which each entity was recorded, each match proposed and each alert sent. For each match the
clock starts when the later of its need and pledge was published and stops at its proposal (to
match) and at its alert (to alert); the time is also split by stage. Each worker's log says how
long each message took: their sum over a window, divided by the window, is its busy fraction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from shared.config import Settings
from shared.kafka.topics import CANONICAL, MATCHES, NOTIFICATIONS, topic_name

__all__ = ["Observed", "Reader", "busy", "summary"]


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


def busy(logs: dict[str, Path], start: float, end: float) -> dict[str, dict[str, float]]:
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


def summary(
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
