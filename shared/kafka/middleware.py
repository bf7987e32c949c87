"""Per-message log context: every log line inside a handler names the message it is about."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from typing import Any

import structlog
from aiokafka import ConsumerRecord
from faststream import BaseMiddleware

__all__ = ["LogContextMiddleware", "event_id_of", "record_context"]


_MAX_PEEK_BYTES = 64 * 1024  # the intake limit: a larger body is refused anyway, unread here


def _header(record: ConsumerRecord[Any, Any], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name and value is not None:
            return bytes(value).decode("utf-8", errors="replace")
    return None


def event_id_of(record: ConsumerRecord[Any, Any]) -> str | None:
    """The producer's event id: the CloudEvents ``ce_id`` header, else the envelope's ``id``."""
    if (from_header := _header(record, "ce_id")) is not None:
        return from_header
    value = record.value
    if isinstance(value, bytes) and value[:1] == b"{" and len(value) <= _MAX_PEEK_BYTES:
        try:
            body = json.loads(value)
        except (ValueError, RecursionError):  # untrusted bytes: a log's context must never fail
            return None
        event_id = body.get("id") if isinstance(body, dict) else None
        if isinstance(event_id, str):
            return event_id
    return None


def _context(record: ConsumerRecord[Any, Any]) -> dict[str, Any]:
    event_id = event_id_of(record)
    return {
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "event_id": event_id,
        "correlation_id": _header(record, "ce_correlationid")
        or _header(record, "correlation_id")
        or event_id,
    }


def record_context(record: ConsumerRecord[Any, Any]) -> AbstractContextManager[None]:
    """Within it, log lines name this one record of a batch; the batch's context comes back after.

    The middleware binds a message's context once per delivery, which for a batch subscriber is
    the whole batch: its handler wraps each record's work and log lines in this.
    """
    return structlog.contextvars.bound_contextvars(**_context(record))


class LogContextMiddleware(BaseMiddleware):
    """Clear contextvars, then bind service, topic, partition, offset, event id, correlation id.

    Use ``functools.partial(LogContextMiddleware, service="ingest")`` as a broker middleware.
    It runs on receive, before parsing, so even a line about an unparseable message has context.
    """

    __slots__ = ("service",)

    def __init__(self, msg: Any, /, *, context: Any, service: str = "drx") -> None:
        super().__init__(msg, context=context)
        self.service = service

    async def on_receive(self) -> None:
        structlog.contextvars.clear_contextvars()
        record = self.msg
        if not isinstance(record, ConsumerRecord):  # batches and test doubles: bind what we know
            structlog.contextvars.bind_contextvars(service=self.service)
            return
        structlog.contextvars.bind_contextvars(service=self.service, **_context(record))

    async def after_processed(self, *_exc_info: Any) -> bool:
        structlog.contextvars.clear_contextvars()
        return False
