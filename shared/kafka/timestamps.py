"""A Kafka record's timestamp, bounded by the worker's clock before drx reads it as "now".

On intake topics the broker stamps each record (``message.timestamp.type=LogAppendTime``,
``shared/kafka/topics.py``), but a topic created before that, or a broker configured otherwise,
hands drx whatever the producer wrote: once, a year 33658 that ``datetime`` could not hold,
which stalled ingest. So a timestamp that is missing, not a number, before 2000 or more than a
few minutes ahead of this worker's clock is replaced by that clock, and the caller is told why.
A timestamp in the past (after 2000) is kept: a record redelivered after a crash is judged by
when it arrived, as the first delivery was.

:func:`bound_timestamp` is the rule (pure); :func:`arrival` is what the workers call: the rule
with the wall clock and one short log line per replaced timestamp.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import structlog

__all__ = ["EARLIEST", "MAX_AHEAD", "RecordTime", "arrival", "bound_timestamp"]

EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
"""No drx record was written before this; an earlier timestamp is a producer's mistake (or -1, "none")."""

MAX_AHEAD = dt.timedelta(minutes=5)
"""How far ahead of the worker's clock a timestamp may be: clocks on different machines drift."""

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_SHOWN = 40  # characters of an unreadable timestamp quoted in the reason


@dataclass(frozen=True, slots=True)
class RecordTime:
    """The time to judge a record by, and why its own timestamp was not used (``None`` if it was)."""

    at: dt.datetime
    replaced: str | None = None


def bound_timestamp(
    timestamp_ms: object, now: dt.datetime, *, max_ahead: dt.timedelta = MAX_AHEAD
) -> RecordTime:
    """``timestamp_ms`` (milliseconds since 1970) as a UTC datetime, or ``now`` if it cannot be right.

    ``now`` is the worker's clock (timezone-aware). Never raises, whatever ``timestamp_ms`` is.
    """
    if timestamp_ms is None:
        return RecordTime(now, "the record has no timestamp")
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int | float):
        return RecordTime(now, f"timestamp {_shown(timestamp_ms)} is not milliseconds since 1970")
    if isinstance(timestamp_ms, float) and not math.isfinite(timestamp_ms):
        return RecordTime(now, f"timestamp {timestamp_ms} is not milliseconds since 1970")
    # Compared as numbers first: a datetime cannot even hold the year 33658.
    earliest_ms = (EARLIEST - _EPOCH) // dt.timedelta(milliseconds=1)
    latest_ms = (now + max_ahead - _EPOCH) // dt.timedelta(milliseconds=1)
    if timestamp_ms < earliest_ms:
        return RecordTime(now, f"timestamp {_shown(timestamp_ms)} ms is before {EARLIEST:%Y-%m-%d}")
    if timestamp_ms > latest_ms:
        ahead = max_ahead.total_seconds()
        shown = _shown(timestamp_ms)
        return RecordTime(now, f"timestamp {shown} ms is more than {ahead:g} s ahead of the clock")
    return RecordTime(_EPOCH + dt.timedelta(milliseconds=timestamp_ms))


def _shown(value: object) -> str:
    """``value`` as a reason may quote it: short, whatever it is (``str`` of a huge int raises)."""
    try:
        text = (
            str(int(value)) if isinstance(value, int | float) and not isinstance(value, bool) else repr(value)
        )
    except ValueError:
        text = "a number too long to show"
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "\u2026"


def arrival(timestamp_ms: object, position: object, log: structlog.stdlib.BoundLogger) -> dt.datetime:
    """When the record at ``position`` reached Kafka, bounded by this worker's clock.

    A replaced timestamp writes one warning (``log`` is a structlog logger) with the position
    and the reason, which quotes at most a few dozen characters of the timestamp.
    """
    bounded = bound_timestamp(timestamp_ms, dt.datetime.now(dt.UTC))
    if bounded.replaced is not None:
        log.warning(
            "record timestamp replaced by this worker's clock",
            position=str(position),
            reason=bounded.replaced,
        )
    return bounded.at
