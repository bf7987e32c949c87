"""How far every drx consumer group is behind on the topics it reads, from outside the workers.

``shared/progress.py`` reads lag from inside a worker (its own consumers' assignments); a
tool that watches the whole pipeline (``drx demo`` deciding that every phase's effects are
applied) has no such consumers, so it asks Kafka: the group's committed offsets against every
partition's end offset. Lag is counted the same way as there: the end minus
what the group committed, so a record fetched but not yet handled still counts.

A partition the group never committed on is behind by everything on it (end minus beginning):
the group has not yet read it, or has not joined at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.config import KafkaSettings
from shared.kafka.acls import SERVICES, service_group
from shared.kafka.admin import list_topics
from shared.kafka.topics import topic_name

__all__ = ["Lag", "behind", "group_lags", "partition_lag", "service_reads"]


@dataclass(frozen=True, slots=True, order=True)
class Lag:
    """One group's lag on one partition."""

    group: str
    topic: str
    partition: int
    lag: int

    def __str__(self) -> str:
        return f"{self.group} is {self.lag} behind on {self.topic}/{self.partition}"


def partition_lag(committed: int | None, beginning: int, end: int) -> int:
    """Records waiting for the group: end minus committed, or minus beginning if it never committed."""
    start = beginning if committed is None or committed < 0 else max(committed, beginning)
    return max(end - start, 0)


def behind(lags: list[Lag]) -> list[Lag]:
    """Only the partitions with something waiting."""
    return [lag for lag in lags if lag.lag > 0]


def service_reads(prefix: str) -> dict[str, list[str]]:
    """Every worker's consumer group and the topics its handlers read (``shared/kafka/acls.py``)."""
    return {
        service_group(prefix, service): [topic_name(prefix, spec) for spec in reads]
        for service, (reads, _writes) in SERVICES.items()
    }


async def group_lags(settings: KafkaSettings, groups: dict[str, list[str]]) -> list[Lag]:
    """Each group's lag on every partition of each topic it reads (``groups``: group -> topics).

    A topic that does not exist yet has nothing waiting on it, so it adds no rows. The committed
    offsets are read the way the workers' own consumers read them (``shared/progress.py``): a
    consumer in the group that never subscribes, so it never joins and never commits; the admin
    client's OffsetFetch is not answered in a form aiokafka reads by every broker drx runs on.
    """
    counts = await list_topics(settings)
    lags = []
    for group, names in sorted(groups.items()):
        partitions = [TopicPartition(t, p) for t in sorted(names) if t in counts for p in range(counts[t])]
        if not partitions:
            continue
        consumer = AIOKafkaConsumer(**settings.client_options(), group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            ends = await consumer.end_offsets(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
            for tp in partitions:
                committed = await consumer.committed(tp)
                lags.append(
                    Lag(group, tp.topic, tp.partition, partition_lag(committed, beginnings[tp], ends[tp]))
                )
        finally:
            await consumer.stop()
    return lags
