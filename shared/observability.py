"""Health and metrics of one worker process: ``/livez``, ``/readyz`` and ``/metrics`` over HTTP.

:class:`HealthServer` is a small asyncio HTTP/1.1 server on ``DRX_HEALTH_HOST:DRX_HEALTH_PORT``
(no framework: three read-only routes, one request per connection). The metrics are
``prometheus_client`` objects in its default registry, so the process and garbage-collector
metrics come along. docs/operations.md lists every metric with its labels; every label has a
bounded set of values (event types from the registry, fixed reason classes, channel names), so a
hostile input cannot create new series.

Counting happens where every message or event passes anyway: :class:`shared.worker.Backoff`
calls :func:`event_processed` and :func:`event_failed`, the outbox relay calls
:func:`outbox_published`, matching's subscriber calls :func:`observe_match_latency`, and notify's
delivery loop calls :func:`notification_attempt` and :func:`dead_letter`. Gauges that describe
state (outbox backlog, consumer lag) are computed when ``/metrics`` is scraped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.config import HealthSettings
from shared.events.registry import EVENT_TYPES
from shared.logging import get_logger
from shared.retrying import Delays, RetryLog

__all__ = [
    "CHANNELS",
    "REASON_CLASSES",
    "Check",
    "HealthServer",
    "OutboxState",
    "dead_letter",
    "event_failed",
    "event_processed",
    "event_type_of",
    "notification_attempt",
    "observe_match_latency",
    "outbox_published",
    "postgres_check",
    "reason_class",
    "refresh_outbox",
]

log = get_logger(__name__)
# No *_created series: they double the output and nothing here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

REJECTED_TYPE = "org.drx.input.rejected"
CHANNELS = frozenset({"email", "webhook", "kafka"})
_OUTCOME = re.compile(r"[a-z_]{1,24}")
_MAX_PEEK_BYTES = 256 * 1024  # larger bodies are not parsed just to label a metric

EVENTS_PROCESSED = Counter(
    "drx_events_processed",
    "Messages a worker's handler finished, by event type and outcome (applied, duplicate, …).",
    ["type", "outcome"],
)
EVENTS_FAILED = Counter(
    "drx_events_failed",
    "Handler attempts that raised, by event type; the message is read again after a pause.",
    ["type"],
)
INPUTS_REJECTED = Counter(
    "drx_inputs_rejected",
    "org.drx.input.rejected events published, by reason class (see docs/operations.md).",
    ["reason"],
)
OUTBOX_BACKLOG = Gauge(
    "drx_outbox_backlog",
    "Outbox rows waiting to be published, parked ones not counted (services share the table).",
)
OUTBOX_PARKED = Gauge(
    "drx_outbox_parked", "Outbox rows the broker refused, set aside until `drx outbox retry`."
)
OUTBOX_OLDEST_AGE = Gauge(
    "drx_outbox_oldest_age_seconds", "Age of the oldest unpublished outbox row; 0 when there is none."
)
CONSUMER_LAG = Gauge(
    "drx_consumer_lag",
    "Records not yet committed by this process's group, per assigned partition (highwater - committed).",
    ["topic", "partition"],
)
MATCH_LATENCY = Histogram(
    "drx_match_latency_seconds",
    "From a canonical event reaching Kafka to the commit of the matches it caused.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
NOTIFICATION_ATTEMPTS = Counter(
    "drx_notification_attempts",
    "Delivery attempts by channel and outcome: sent, retry (failed, tried again later) or dead.",
    ["channel", "outcome"],
)
DEAD_LETTERS = Counter("drx_notification_dead_letters", "Deliveries given up on, by channel.", ["channel"])


# --- counting -----------------------------------------------------------------------------------


def _known_type(value: object) -> str:
    return value if isinstance(value, str) and value in EVENT_TYPES else "unknown"


def event_type_of(message: object) -> str:
    """The event type a handler's first argument carries, or ``unknown``; never an unlisted value.

    A ``CloudEvent`` has ``type``; a raw intake record (untrusted) declares it in the ``ce_type``
    header (binary mode) or in its JSON body. Types not in the registry count as ``unknown``.
    """
    declared = getattr(message, "type", None)
    headers = getattr(message, "headers", None)
    if not isinstance(declared, str) and isinstance(headers, Mapping):
        declared = headers.get("ce_type")
    value = getattr(message, "value", None)
    if not isinstance(declared, str) and isinstance(value, bytes) and len(value) <= _MAX_PEEK_BYTES:
        with contextlib.suppress(ValueError, RecursionError):  # untrusted bytes, deep nesting too
            body = json.loads(value) if value.lstrip()[:1] == b"{" else None
            declared = body.get("type") if isinstance(body, dict) else None
    return _known_type(declared)


def event_processed(event_type: str, result: object) -> None:
    """Count one handled message; the outcome is ``result.outcome`` when it is a short word."""
    outcome = getattr(result, "outcome", None)
    label = outcome if isinstance(outcome, str) and _OUTCOME.fullmatch(outcome) else "done"
    EVENTS_PROCESSED.labels(_known_type(event_type), label).inc()


def event_failed(event_type: str) -> None:
    """Count one handler attempt that raised (the message will be read again)."""
    EVENTS_FAILED.labels(_known_type(event_type)).inc()


# A rejection's reason is free text with ids and values in it; these classes bound the label.
# The patterns follow the reasons ingest and notify write (shared/intake/parsing.py, domain.py,
# services/notify/service.py); a reason none of them matches counts as "other".
REASON_CLASSES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("too_large", re.compile(r"message is \d+ bytes; the limit")),
    ("encoding", re.compile(r"header .* is not valid UTF-8|message is not UTF-8")),
    ("not_json", re.compile(r"message is not JSON")),
    ("envelope", re.compile(r"message is not a CloudEvents envelope|invalid CloudEvents envelope")),
    ("event_type", re.compile(r"unknown event type |event type '.*' (does not belong|is not handled)")),
    ("schema", re.compile(r"invalid \S+ data: |the event has no data")),
    ("not_authorised", re.compile(r"not authorised")),
    ("unknown_reference", re.compile(r"unknown \w+ '|no active subscription ")),
    ("state", re.compile(r"\w+ '.*' (is \w+; |is at revision |belongs to .*; it cannot move)")),
    ("internal_error", re.compile(r"internal error")),
)
_FIELD_PROBLEM = re.compile(r"data\.[\w.\[\]]+: (.*)")  # "data.place.country: 'XX' is not …; …"


def reason_class(reason: str) -> str:
    """The bounded class of a rejection reason (a label value), ``other`` when none fits.

    Problems with fields (``data.<path>: <what>; …``) take the class of the first one's
    ``<what>`` (``data.crisis_id: unknown crisis 'x'`` is ``unknown_reference``), and
    ``invalid_value`` when that has none (a code not in a reference list, a date in the past).
    """
    if field := _FIELD_PROBLEM.match(reason):
        what = reason_class(field.group(1).split("; ", 1)[0])
        return "invalid_value" if what == "other" else what
    for name, pattern in REASON_CLASSES:
        if pattern.match(reason):
            return name
    return "other"


def outbox_published(rejected_topic: str, records: Iterable[tuple[str, bytes]]) -> None:
    """Called by the relay with ``(topic, payload)`` of each row it has just published and marked."""
    for topic, payload in records:
        if topic != rejected_topic:
            continue
        try:
            event = json.loads(payload)
        except ValueError:
            continue
        data = event.get("data") if isinstance(event, dict) else None
        if isinstance(data, dict) and event.get("type") == REJECTED_TYPE:
            reason = data.get("reason")
            INPUTS_REJECTED.labels(reason_class(reason) if isinstance(reason, str) else "other").inc()


def observe_match_latency(seconds: float) -> None:
    """Record one match latency: a canonical event's Kafka timestamp to the commit of its matches."""
    MATCH_LATENCY.observe(max(seconds, 0.0))


def notification_attempt(channel: str, outcome: Literal["sent", "retry", "dead"]) -> None:
    """Count one delivery attempt: ``sent``, ``retry`` (failed, will be tried again) or ``dead``."""
    label = outcome if outcome in {"sent", "retry", "dead"} else "other"
    NOTIFICATION_ATTEMPTS.labels(channel if channel in CHANNELS else "other", label).inc()


def dead_letter(channel: str) -> None:
    """Count one delivery given up on (dead-lettered)."""
    DEAD_LETTERS.labels(channel if channel in CHANNELS else "other").inc()


# --- gauges computed on scrape ------------------------------------------------------------------


async def refresh_outbox(engine: AsyncEngine) -> OutboxState:
    """Outbox backlog, the age of its oldest pending row (by the database's clock) and parked rows.

    The gauges read NaN when the database does not answer, rather than stale numbers.
    """
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text(
                        "SELECT count(*) FILTER (WHERE parked_at IS NULL), coalesce(extract(epoch FROM "
                        "now() - min(created_at) FILTER (WHERE parked_at IS NULL)), 0), "
                        "count(*) FILTER (WHERE parked_at IS NOT NULL) "
                        "FROM outbox WHERE published_at IS NULL"
                    )
                )
            ).one()
    except BaseException:  # also cancelled by the scrape's timeout: do not show stale numbers
        for gauge in (OUTBOX_BACKLOG, OUTBOX_OLDEST_AGE, OUTBOX_PARKED):
            gauge.set(float("nan"))
        raise
    state = OutboxState(backlog=int(row[0]), oldest_age_s=max(float(row[1]), 0.0), parked=int(row[2]))
    OUTBOX_BACKLOG.set(state.backlog)
    OUTBOX_OLDEST_AGE.set(state.oldest_age_s)
    OUTBOX_PARKED.set(state.parked)
    return state


@dataclass(frozen=True, slots=True)
class OutboxState:
    backlog: int  # pending rows, parked ones not counted
    oldest_age_s: float  # of the oldest pending row
    parked: int  # rows the broker refused, waiting for `drx outbox retry`

    def problem(self, max_age_s: float) -> str | None:
        """Why the outbox makes a worker not ready, or ``None``."""
        if self.parked:
            return f"{self.parked} outbox rows parked (see drx outbox list)"
        if self.oldest_age_s > max_age_s:
            return f"the oldest unpublished outbox row is {self.oldest_age_s:.0f}s old"
        return None


# --- readiness checks ---------------------------------------------------------------------------

Check = Callable[[float], Awaitable[str | None]]
"""A readiness check: given a timeout, ``None`` when fine, else a short reason (no secrets)."""


def postgres_check(engine: AsyncEngine) -> Check:
    """``SELECT 1`` on a pooled connection."""

    async def check(timeout: float) -> str | None:
        async with asyncio.timeout(timeout):
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        return None

    return check


# --- the HTTP server ----------------------------------------------------------------------------

_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
Response = tuple[int, str, bytes]


class HealthServer:
    """``/livez``, ``/readyz`` and ``/metrics`` for one worker; off when ``DRX_HEALTH_PORT`` is 0.

    ``/livez`` answers 200 whenever the event loop runs. ``/readyz`` answers 200 only while
    :attr:`serving` is set (between start-up and shutdown) and every check passes within
    ``DRX_HEALTH_CHECK_TIMEOUT_S``; otherwise 503 with a JSON body that says why.
    ``/metrics`` first runs ``refresh`` (gauges computed on demand), then renders the registry.
    A check or refresh that keeps raising is logged once, then once per window, and once when it
    passes again (``shared/retrying.py``); the probes that call them set the pace.
    """

    def __init__(
        self,
        settings: HealthSettings,
        checks: Mapping[str, Check],
        refresh: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._settings = settings
        self._checks = dict(checks)
        self._refresh = refresh
        self._server: asyncio.Server | None = None
        self.serving = False
        paced_by_the_caller = Delays(first_s=0.0, max_s=0.0)
        self._retries = {
            name: RetryLog(log, f"readiness check {name}", paced_by_the_caller) for name in self._checks
        }
        self._refresh_retries = RetryLog(log, "metrics refresh", paced_by_the_caller)

    @property
    def enabled(self) -> bool:
        return self._settings.port != 0

    async def start(self) -> None:
        """Listen; raises (and so stops the worker's start) when the port is taken."""
        if not self.enabled or self._server is not None:
            return
        self._server = await asyncio.start_server(self._connection, self._settings.host, self._settings.port)
        log.info("health and metrics server listening", host=self._settings.host, port=self._settings.port)

    async def stop(self) -> None:
        self.serving = False
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def readiness(self) -> tuple[bool, dict[str, str]]:
        """Whether the worker is ready, and each check's result (``ok`` or the reason)."""
        timeout = self._settings.check_timeout_s
        names = list(self._checks)
        results = await asyncio.gather(*(self._run(name, timeout) for name in names))
        checks = {name: result or "ok" for name, result in zip(names, results, strict=True)}
        if not self.serving:
            checks["worker"] = "not consuming (starting or shutting down)"
        return all(value == "ok" for value in checks.values()), checks

    async def _run(self, name: str, timeout: float) -> str | None:
        try:
            async with asyncio.timeout(timeout + 0.5):  # a check that ignores its timeout
                result = await self._checks[name](timeout)
        except TimeoutError:
            return f"no answer within {timeout:g}s"
        except Exception as error:  # noqa: BLE001 - any failure means not ready; details go to the log
            self._retries[name].failed(error, check=name)
            return f"unreachable ({type(error).__name__})"
        self._retries[name].succeeded(check=name)
        return result

    async def _route(self, path: str) -> Response:
        if path == "/livez":
            return 200, "text/plain; charset=utf-8", b"ok\n"
        if path == "/readyz":
            ready, checks = await self.readiness()
            body: dict[str, Any] = {"ready": ready, "checks": checks}
            if not ready:
                body["reason"] = "; ".join(f"{k}: {v}" for k, v in checks.items() if v != "ok")
            return (200 if ready else 503), "application/json", json.dumps(body).encode() + b"\n"
        if path == "/metrics":
            if self._refresh is not None:
                try:
                    async with asyncio.timeout(self._settings.check_timeout_s):
                        await self._refresh()
                except Exception as error:  # noqa: BLE001 - stale gauges beat a failed scrape
                    self._refresh_retries.failed(error)
                else:
                    self._refresh_retries.succeeded()
            return 200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)
        return 404, "text/plain; charset=utf-8", b"not found: try /livez, /readyz or /metrics\n"

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                head = await reader.readuntil(b"\r\n\r\n")
                method, _, rest = head.split(b"\r\n", 1)[0].decode("latin-1").partition(" ")
                path = rest.split(" ", 1)[0].split("?", 1)[0]
                if method not in {"GET", "HEAD"}:
                    status, content_type, body = 405, "text/plain; charset=utf-8", b"GET or HEAD only\n"
                else:
                    status, content_type, body = await self._route(path)
                writer.write(
                    (
                        f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                        f"Content-Type: {content_type}\r\n"
                        f"Content-Length: {len(body)}\r\n"
                        "Connection: close\r\n\r\n"
                    ).encode("latin-1")
                    + (body if method != "HEAD" else b"")
                )
                await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that went away or sent junk: nothing to answer
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
