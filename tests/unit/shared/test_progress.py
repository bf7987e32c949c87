"""When a partition counts as stalled (shared/progress.py), without Kafka."""

from dataclasses import dataclass, field

from aiokafka import TopicPartition
from prometheus_client import REGISTRY

from shared.progress import ProgressTracker, Stall, refresh_progress


def test_moving_partition_is_never_stalled():
    tracker = ProgressTracker(stall_after_s=60)
    for second, committed in enumerate(range(0, 1000, 10)):
        assert tracker.observe("t", 0, committed, committed + 50, now=float(second * 30)) == 0
    assert tracker.stalls(now=3000.0) == []


def test_standing_with_lag_becomes_a_stall_after_the_limit():
    tracker = ProgressTracker(stall_after_s=60)
    tracker.observe("t.canonical", 2, committed=7, highwater=9, now=100.0)
    assert tracker.observe("t.canonical", 2, committed=7, highwater=12, now=130.0) == 30
    assert tracker.stalls(now=130.0) == []
    tracker.observe("t.canonical", 2, committed=7, highwater=12, now=161.0)
    (stall,) = tracker.stalls(now=161.0)
    assert stall == Stall("t.canonical", 2, lag=5, seconds=61.0)
    assert str(stall) == "t.canonical/2 has not advanced for 61s with 5 waiting"


def test_standing_with_nothing_to_read_is_idle_not_stalled():
    tracker = ProgressTracker(stall_after_s=60)
    tracker.observe("t", 0, committed=5, highwater=5, now=0.0)
    assert tracker.observe("t", 0, committed=5, highwater=5, now=600.0) == 0
    assert tracker.stalls(now=600.0) == []
    # Input arrives: the clock starts then, not at the last commit long ago.
    tracker.observe("t", 0, committed=5, highwater=6, now=601.0)
    assert tracker.stalls(now=650.0) == []


def test_advancing_again_clears_the_stall():
    tracker = ProgressTracker(stall_after_s=10)
    tracker.observe("t", 0, committed=1, highwater=5, now=0.0)
    tracker.observe("t", 0, committed=1, highwater=5, now=20.0)
    assert tracker.stalls(now=20.0)
    tracker.observe("t", 0, committed=2, highwater=5, now=21.0)
    assert tracker.stalls(now=21.0) == []


def test_partitions_moved_away_are_forgotten():
    tracker = ProgressTracker(stall_after_s=10)
    tracker.observe("t", 0, committed=1, highwater=5, now=0.0)
    tracker.observe("t", 0, committed=1, highwater=5, now=20.0)
    tracker.forget_all_but([("t", 1)])
    assert tracker.stalls(now=20.0) == []


@dataclass
class FakeConsumer:
    """What refresh_progress reads of an aiokafka consumer: assignment, highwater, committed offsets."""

    highwaters: dict[TopicPartition, int | None]
    commits: dict[TopicPartition, int | None]
    beginnings: dict[TopicPartition, int] = field(default_factory=dict)

    def assignment(self) -> set[TopicPartition]:
        return set(self.highwaters)

    def highwater(self, tp: TopicPartition) -> int | None:
        return self.highwaters[tp]

    async def committed(self, tp: TopicPartition) -> int | None:
        if tp not in self.commits:
            raise AssertionError("Partition is not assigned")
        return self.commits[tp]

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return {tp: self.beginnings[tp] for tp in tps}


@dataclass
class FakeSubscriber:
    consumer: FakeConsumer | None
    consumer_subgroup: list[FakeConsumer] = field(default_factory=list)


def lag(topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value("drx_consumer_lag", {"topic": topic, "partition": str(partition)})


class TestRefresh:
    async def test_lag_is_counted_from_the_committed_offset(self):
        a, b, c, d = (TopicPartition("t.canonical", p) for p in range(4))
        consumer = FakeConsumer({a: 10, b: None, c: 7, d: 9}, {a: 4, b: 0, d: None}, {d: 2})
        tracker = ProgressTracker(stall_after_s=60)
        await refresh_progress([FakeSubscriber(consumer), FakeSubscriber(None)], tracker, now=0.0)
        assert lag("t.canonical", 0) == 6
        assert lag("t.canonical", 1) is None  # not fetched yet
        assert lag("t.canonical", 2) is None  # revoked mid-reading
        assert lag("t.canonical", 3) == 7  # nothing committed yet: from the beginning

    async def test_a_partition_behind_a_failing_record_is_reported(self):
        a = TopicPartition("t.intake.needs", 1)
        consumer = FakeConsumer({a: 12}, {a: 3})
        tracker = ProgressTracker(stall_after_s=60)
        assert await refresh_progress([FakeSubscriber(consumer)], tracker, now=0.0) == []
        (stall,) = await refresh_progress([FakeSubscriber(consumer)], tracker, now=90.0)
        assert (stall.topic, stall.partition, stall.lag) == ("t.intake.needs", 1, 9)
        assert (
            REGISTRY.get_sample_value(
                "drx_consumer_stalled_seconds", {"topic": "t.intake.needs", "partition": "1"}
            )
            == 90
        )

    async def test_revoked_partitions_disappear(self):
        a = TopicPartition("t.matches", 0)
        tracker = ProgressTracker(stall_after_s=60)
        await refresh_progress([FakeSubscriber(FakeConsumer({a: 5}, {a: 5}))], tracker, now=0.0)
        assert lag("t.matches", 0) == 0
        await refresh_progress([FakeSubscriber(None)], tracker, now=1.0)
        assert lag("t.matches", 0) is None
