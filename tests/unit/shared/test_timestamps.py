"""Record timestamps bounded by the worker's clock: whatever a producer wrote, drx gets a sane "now"."""

import datetime as dt

import pytest
import structlog

from shared.kafka.timestamps import EARLIEST, MAX_AHEAD, arrival, bound_timestamp
from shared.logging import get_logger

NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=dt.UTC)
NOW_MS = int(NOW.timestamp() * 1000)
YEAR_33658_MS = 1_000_000_000_000_000  # what stalled ingest (issue 14)


def ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


class TestKept:
    def test_a_normal_timestamp_is_the_time(self):
        sent = NOW - dt.timedelta(seconds=3, milliseconds=250)
        assert bound_timestamp(ms(sent), NOW).at == sent
        assert bound_timestamp(ms(sent), NOW).replaced is None

    def test_the_past_is_kept_so_a_redelivery_is_judged_by_its_first_arrival(self):
        last_year = NOW - dt.timedelta(days=365)
        assert bound_timestamp(ms(last_year), NOW).at == last_year

    def test_a_little_ahead_is_clock_drift_and_kept(self):
        ahead = NOW + MAX_AHEAD
        assert bound_timestamp(ms(ahead), NOW).at == ahead
        assert bound_timestamp(ms(EARLIEST), NOW).at == EARLIEST

    def test_the_skew_is_a_parameter(self):
        ahead = NOW + dt.timedelta(minutes=2)
        assert bound_timestamp(ms(ahead), NOW, max_ahead=dt.timedelta(minutes=1)).at == NOW


class TestReplaced:
    @pytest.mark.parametrize(
        ("timestamp", "reason"),
        [
            (YEAR_33658_MS, f"timestamp {YEAR_33658_MS} ms is more than 300 s ahead of the clock"),
            (NOW_MS + 301_000, f"timestamp {NOW_MS + 301_000} ms is more than 300 s ahead of the clock"),
            (-1, "timestamp -1 ms is before 2000-01-01"),  # aiokafka's "no timestamp"
            (-(10**30), f"timestamp {-(10**30)} ms is before 2000-01-01"),
            (0, "timestamp 0 ms is before 2000-01-01"),
            (ms(EARLIEST) - 1, f"timestamp {ms(EARLIEST) - 1} ms is before 2000-01-01"),
            (None, "the record has no timestamp"),
            ("1764763200000", "timestamp '1764763200000' is not milliseconds since 1970"),
            (True, "timestamp True is not milliseconds since 1970"),
            (float("nan"), "timestamp nan is not milliseconds since 1970"),
            (float("inf"), "timestamp inf is not milliseconds since 1970"),
        ],
    )
    def test_by_the_workers_clock_with_the_reason(self, timestamp, reason):
        bounded = bound_timestamp(timestamp, NOW)
        assert bounded.at == NOW
        assert bounded.replaced == reason

    def test_the_reason_stays_short_whatever_the_timestamp_is(self):
        huge = 10**5000  # str() of it raises ValueError under Python's digit limit
        for timestamp in (huge, -huge, "x" * 100_000, b"\x00" * 10_000):
            bounded = bound_timestamp(timestamp, NOW)
            assert bounded.at == NOW
            assert bounded.replaced is not None
            assert len(bounded.replaced) < 120


class TestArrival:
    def test_a_replaced_timestamp_logs_one_line_with_position_and_reason(self):
        with structlog.testing.capture_logs() as logs:
            at = arrival(YEAR_33658_MS, "drx.intake.needs[0]@7", get_logger("test"))
        assert abs(at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
        assert [(e["event"], e["position"], e["reason"]) for e in logs] == [
            (
                "record timestamp replaced by this worker's clock",
                "drx.intake.needs[0]@7",
                f"timestamp {YEAR_33658_MS} ms is more than 300 s ahead of the clock",
            )
        ]

    def test_a_sane_timestamp_logs_nothing(self):
        sent = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        with structlog.testing.capture_logs() as logs:
            assert arrival(ms(sent), "p", get_logger("test")) == sent.replace(
                microsecond=sent.microsecond // 1000 * 1000
            )
        assert logs == []
