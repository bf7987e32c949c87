"""Is every consumer getting through its input? Lag from committed offsets, and stalls.

A partition stuck behind a record that fails keeps its *position* (what the consumer fetched)
moving while nothing is committed, so lag counted from the position read 0 while input waited.
Here lag is the highwater mark minus the group's committed offset, and a partition whose
committed offset has not moved for ``DRX_HEALTH_STALL_AFTER_S`` while its lag is above zero is
*stalled*: ``/readyz`` answers 503 naming it, and ``drx_consumer_stalled_seconds`` shows it.

:class:`ProgressTracker` is the pure part (what counts as a stall); :func:`refresh_progress`
reads the offsets from the aiokafka consumers of FastStream's subscribers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from prometheus_client import Gauge

from shared.observability import CONSUMER_LAG

__all__ = ["CONSUMER_STALLED", "ProgressTracker", "Stall", "refresh_progress"]

CONSUMER_STALLED = Gauge(
    "drx_consumer_stalled_seconds",
    "Per assigned partition: how long its committed offset has not moved while records wait; 0 when moving.",
    ["topic", "partition"],
)


@dataclass(frozen=True, slots=True)
class Stall:
    """A partition that has not advanced: where, how far behind, for how long."""

    topic: str
    partition: int
    lag: int
    seconds: float

    def __str__(self) -> str:
        return (
            f"{self.topic}/{self.partition} has not advanced for {self.seconds:.0f}s with {self.lag} waiting"
        )


@dataclass(slots=True)
class _Seen:
    committed: int
    since: float  # when ``committed`` was first seen (or the lag was last zero)


class ProgressTracker:
    """Remembers, per partition, since when its committed offset stands while there is lag."""

    def __init__(self, stall_after_s: float) -> None:
        self.stall_after_s = stall_after_s
        self._seen: dict[tuple[str, int], _Seen] = {}
        self._lags: dict[tuple[str, int], int] = {}

    def observe(self, topic: str, partition: int, committed: int, highwater: int, now: float) -> float:
        """Record one reading; return for how long the partition has stood still with lag (0 if not)."""
        key = (topic, partition)
        lag = max(highwater - committed, 0)
        self._lags[key] = lag
        seen = self._seen.get(key)
        if seen is None or seen.committed != committed or lag == 0:
            self._seen[key] = _Seen(committed, now)
            return 0.0
        return now - seen.since

    def forget_all_but(self, keys: Iterable[tuple[str, int]]) -> None:
        """Drop partitions no longer assigned (a rebalance moved them to another worker)."""
        keep = set(keys)
        for key in list(self._seen):
            if key not in keep:
                del self._seen[key]
                self._lags.pop(key, None)

    def stalls(self, now: float) -> list[Stall]:
        """Every partition standing still with lag for at least ``stall_after_s``."""
        found = []
        for (topic, partition), seen in sorted(self._seen.items()):
            lag = self._lags.get((topic, partition), 0)
            if lag > 0 and now - seen.since >= self.stall_after_s:
                found.append(Stall(topic, partition, lag, now - seen.since))
        return found


def _consumers(subscriber: object) -> list[Any]:
    group = getattr(subscriber, "consumer_subgroup", None)
    if group:
        return list(group)
    consumer = getattr(subscriber, "consumer", None)
    return [consumer] if consumer is not None else []


async def _committed(consumer: Any, tp: TopicPartition, timeout: float) -> int | None:
    committed = await asyncio.wait_for(consumer.committed(tp), timeout)
    if committed is None:  # the group never committed here: it starts from the beginning
        committed = (await asyncio.wait_for(consumer.beginning_offsets([tp]), timeout))[tp]
    return int(committed) if committed is not None else None


async def refresh_progress(
    subscribers: Iterable[object], tracker: ProgressTracker, now: float, timeout: float = 1.0
) -> list[Stall]:
    """Read committed offsets and highwater marks, update the gauges, and return the stalls.

    A partition not fetched yet (no highwater), being revoked, or whose committed offset cannot
    be read in ``timeout`` is left out of this reading and keeps its earlier one.
    """
    assigned: set[tuple[str, int]] = set()
    CONSUMER_LAG.clear()
    CONSUMER_STALLED.clear()
    for subscriber in subscribers:
        for consumer in _consumers(subscriber):
            for tp in list(consumer.assignment()):
                assigned.add((tp.topic, tp.partition))
                try:
                    highwater = consumer.highwater(tp)
                    committed = await _committed(consumer, tp, timeout) if highwater is not None else None
                except Exception:  # noqa: BLE001, S112 - revoked mid-reading (aiokafka asserts), or slow
                    continue
                if highwater is None or committed is None:
                    continue
                stalled = tracker.observe(tp.topic, tp.partition, committed, highwater, now)
                CONSUMER_LAG.labels(tp.topic, str(tp.partition)).set(max(highwater - committed, 0))
                CONSUMER_STALLED.labels(tp.topic, str(tp.partition)).set(stalled)
    tracker.forget_all_but(assigned)
    return tracker.stalls(now)
