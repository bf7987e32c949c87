"""Lag from outside the workers: what a group has not committed, on the topics it reads."""

from __future__ import annotations

from shared.kafka.lag import Lag, behind, partition_lag, service_reads


def test_lag_is_the_end_minus_what_the_group_committed():
    assert partition_lag(committed=7, beginning=0, end=10) == 3
    assert partition_lag(committed=10, beginning=0, end=10) == 0


def test_a_partition_never_committed_on_is_behind_by_everything_still_on_it():
    assert partition_lag(committed=None, beginning=4, end=10) == 6
    assert partition_lag(committed=-1, beginning=0, end=0) == 0


def test_a_commit_below_what_retention_kept_counts_from_the_first_record_kept():
    assert partition_lag(committed=2, beginning=5, end=9) == 4


def test_only_partitions_with_something_waiting_are_behind():
    lags = [Lag("g", "t", 0, 0), Lag("g", "t", 1, 3)]
    assert behind(lags) == [Lag("g", "t", 1, 3)]
    assert str(lags[1]) == "g is 3 behind on t/1"


def test_every_worker_group_reads_its_handlers_topics_under_the_prefix():
    reads = service_reads("x.")
    assert reads["x.drx-matching"] == ["x.canonical"]
    assert set(reads) == {"x.drx-ingest", "x.drx-matching", "x.drx-notify"}
    assert "x.intake.subscriptions" in reads["x.drx-notify"]
