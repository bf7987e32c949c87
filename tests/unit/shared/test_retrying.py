"""One line per retry window while a dependency is away, and one when it is back (fake clock)."""

import io
import json

import structlog

from shared.logging import configure_logging, get_logger
from shared.retrying import Delays, Outage, RetryLog


class TestDelays:
    def test_they_double_from_the_first_up_to_the_cap(self):
        delays = Delays(first_s=0.4, max_s=30.0)
        assert [delays.after(n) for n in range(1, 10)] == [0.4, 0.8, 1.6, 3.2, 6.4, 12.8, 25.6, 30.0, 30.0]
        assert delays.after(100_000) == 30.0  # a week-long outage does not overflow


class TestOutage:
    def test_the_first_failure_is_logged_then_one_summary_per_window(self):
        outage = Outage(Delays(0.2, 10.0), window_s=30.0)
        verdicts = [outage.failed(now=t * 0.25) for t in range(480)]  # every 0.25 s for two minutes
        logged = [v for v in verdicts if v.log is not None]
        assert [v.log for v in logged] == ["first", "still", "still", "still"]
        assert [v.attempts for v in logged[1:]] == [120, 120, 120]
        assert [v.seconds for v in logged[1:]] == [30.0, 30.0, 30.0]
        assert logged[-1].total == 361
        assert verdicts[-1].delay_s == 10.0

    def test_recovery_reports_attempts_and_duration_once_and_starts_afresh(self):
        outage = Outage(Delays(0.5), window_s=30.0)
        assert outage.succeeded(now=0.0) is None
        for now in (10.0, 10.5, 11.5, 13.5):
            outage.failed(now)
        recovery = outage.succeeded(now=17.5)
        assert recovery is not None
        assert (recovery.attempts, recovery.seconds) == (4, 7.5)
        assert outage.succeeded(now=18.0) is None
        fresh = outage.failed(now=100.0)
        assert (fresh.log, fresh.delay_s, fresh.total) == ("first", 0.5, 1)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestRetryLog:
    def teardown_method(self):
        structlog.contextvars.clear_contextvars()
        configure_logging()

    def test_a_five_minute_outage_writes_a_bounded_handful_of_lines(self):
        out = io.StringIO()
        configure_logging("INFO", "json", stream=out)
        clock = _Clock()
        retries = RetryLog(get_logger("t"), "delivery loop", Delays(0.2, 10.0), clock=clock)
        error = ConnectionRefusedError("connection to server on socket failed: " + "x" * 100_000)
        delays = []
        for attempt in range(1201):  # every 0.25 s, a caller that ignores the pause, for 300 s
            clock.now = attempt * 0.25
            delays.append(retries.failed(error))
        retries.succeeded()
        lines = [json.loads(line) for line in out.getvalue().splitlines()]
        assert len(lines) == 1 + 10 + 1
        first, *still, recovered = lines
        assert first["event"] == "delivery loop failed; retrying"
        assert first["exception"].splitlines()[-1].startswith("ConnectionRefusedError: connection to server")
        assert all(line["event"].startswith("delivery loop still failing: ") for line in still)
        assert still[0]["attempts_in_window"] == 120
        assert still[0]["last_error"].startswith("ConnectionRefusedError: connection to server")
        assert still[0]["last_error"].endswith("more chars)")
        assert recovered["event"].startswith("delivery loop recovered after 1201 attempts, 300.0 s")
        assert recovered["attempts"] == 1201
        assert len(out.getvalue()) < 64 * 1024
        assert max(delays) == 10.0
