"""How far every drx consumer group is behind on the topics it reads, from outside the workers.

``shared/progress.py`` reads lag from inside a worker (its own consumers' assignments); a
tool that watches the whole pipeline (``drx demo`` deciding that every phase's effects are
applied) has no such consumers, so it asks Kafka: the group's committed offsets (admin API)
against every partition's end offset. Lag is counted the same way as there: the end minus
what the group committed, so a record fetched but not yet handled still counts.

A partition the group never committed on is behind by everything on it (end minus beginning):
the group has not yet read it, or has not joined at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

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

    A topic that does not exist yet has nothing waiting on it, so it adds no rows.
    """
    counts = await list_topics(settings)
    wanted = sorted({t for names in groups.values() for t in names if t in counts})
    partitions = [TopicPartition(topic, p) for topic in wanted for p in range(counts[topic])]
    consumer = AIOKafkaConsumer(**settings.client_options(), group_id=None, enable_auto_commit=False)
    admin = AIOKafkaAdminClient(**settings.client_options(), request_timeout_ms=30_000)
    await consumer.start()
    try:
        await admin.start()
        try:
            ends = await consumer.end_offsets(partitions)
            beginnings = await consumer.beginning_offsets(partitions)
            lags = []
            for group, names in sorted(groups.items()):
                committed = await admin.list_consumer_group_offsets(group)
                for tp in partitions:
                    if tp.topic in names:
                        offset = committed.get(tp)
                        lag = partition_lag(offset.offset if offset else None, beginnings[tp], ends[tp])
                        lags.append(Lag(group, tp.topic, tp.partition, lag))
            return lags
        finally:
            await admin.close()
    finally:
        await consumer.stop()
