"""Retrying while a dependency is away, and saying so without flooding the log.

Every loop that retries on failure (a handler under :class:`shared.worker.Backoff`, the outbox
relay, notify's delivery loop, the scheduler's jobs, the readiness checks) shares one rule, so an
outage of PostgreSQL or Kafka reads the same everywhere:

- the **first** failure of an outage is logged with its (bounded) traceback;
- after that, at most **one line per window** (:data:`WINDOW_S`, 30 s): how many attempts failed
  since the last line, and the last error's class and message;
- **one line when it recovers**: how many attempts failed, over how long;
- the pause between attempts grows (doubling) up to a cap.

Notify once wrote a traceback every 0.2 s while PostgreSQL was away: 40 MB of log in five minutes.

:class:`Outage` is the pure part (the clock is a number it is given); :class:`RetryLog` is the thin
edge that reads the clock and writes the lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from shared.logging import describe_error

__all__ = ["WINDOW_S", "Delays", "Outage", "Recovery", "RetryLog", "Verdict"]

WINDOW_S = 30.0
"""While a failure lasts, at most one line per this many seconds (per loop)."""


@dataclass(frozen=True, slots=True)
class Delays:
    """Pauses between attempts: ``first_s``, doubling after each failure, never above ``max_s``."""

    first_s: float
    max_s: float = 30.0

    def after(self, failures: int) -> float:
        """The pause after the ``failures``-th failure in a row (1 for the first)."""
        return min(self.first_s * 2.0 ** min(max(failures - 1, 0), 64), self.max_s)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one failure calls for: the pause before the next attempt, and what (if anything) to log.

    ``log`` is ``first`` (the outage starts: log the traceback), ``still`` (a window has passed:
    log a summary of ``attempts`` failures over ``seconds``) or ``None`` (stay quiet).
    """

    delay_s: float
    log: Literal["first", "still"] | None
    attempts: int
    seconds: float
    total: int
    failing_for_s: float


@dataclass(frozen=True, slots=True)
class Recovery:
    """An outage ended after ``attempts`` failed attempts over ``seconds``."""

    attempts: int
    seconds: float


class Outage:
    """The failures in a row of one loop, and which of them deserve a line. No I/O, no clock."""

    def __init__(self, delays: Delays, window_s: float = WINDOW_S) -> None:
        self.delays = delays
        self.window_s = window_s
        self.failures = 0
        self._started: float = 0.0
        self._window_started: float = 0.0
        self._in_window = 0

    @property
    def ongoing(self) -> bool:
        return self.failures > 0

    def failed(self, now: float) -> Verdict:
        """Count a failure at ``now`` (seconds, any monotonic origin)."""
        self.failures += 1
        delay = self.delays.after(self.failures)
        if self.failures == 1:
            self._started = self._window_started = now
            self._in_window = 0
            return Verdict(delay, "first", 1, 0.0, 1, 0.0)
        self._in_window += 1
        elapsed = now - self._window_started
        if elapsed < self.window_s:
            return Verdict(delay, None, self._in_window, elapsed, self.failures, now - self._started)
        verdict = Verdict(delay, "still", self._in_window, elapsed, self.failures, now - self._started)
        self._window_started = now
        self._in_window = 0
        return verdict

    def succeeded(self, now: float) -> Recovery | None:
        """An attempt worked at ``now``: the recovery to report if an outage was going on."""
        if not self.ongoing:
            return None
        recovery = Recovery(self.failures, now - self._started)
        self.failures = 0
        self._in_window = 0
        return recovery


class RetryLog:
    """An :class:`Outage` with a clock and a logger: call :meth:`failed` and :meth:`succeeded`.

    ``what`` names the loop in every line (``"outbox relay"``); ``first_event`` overrides the first
    line's text where operators already search for it.
    """

    def __init__(
        self,
        logger: structlog.stdlib.BoundLogger,
        what: str,
        delays: Delays,
        *,
        window_s: float = WINDOW_S,
        first_event: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._what = what
        self._first_event = first_event or f"{what} failed; retrying"
        self._clock = clock
        self.outage = Outage(delays, window_s)

    def failed(self, error: BaseException, **fields: Any) -> float:
        """Count ``error``, log it if it is due a line, and return the pause before the next attempt."""
        verdict = self.outage.failed(self._clock())
        delay = round(verdict.delay_s, 3)
        if verdict.log == "first":
            self._log.error(self._first_event, exc_info=error, retry_in_s=delay, **fields)
        elif verdict.log == "still":
            self._log.warning(
                f"{self._what} still failing: {verdict.attempts} attempts in the last "
                f"{verdict.seconds:.0f} s, last error: {describe_error(error, 300)}",
                attempts_in_window=verdict.attempts,
                window_s=round(verdict.seconds, 1),
                attempts=verdict.total,
                failing_for_s=round(verdict.failing_for_s, 1),
                last_error=describe_error(error),
                retry_in_s=delay,
                **fields,
            )
        return verdict.delay_s

    def succeeded(self, **fields: Any) -> None:
        """An attempt worked: say so once if it ends an outage."""
        recovery = self.outage.succeeded(self._clock())
        if recovery is not None:
            self._log.info(
                f"{self._what} recovered after {recovery.attempts} attempts, {recovery.seconds:.1f} s",
                attempts=recovery.attempts,
                outage_s=round(recovery.seconds, 1),
                **fields,
            )
