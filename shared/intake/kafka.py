"""Reading untrusted records off Kafka without letting FastStream's decoding fail first.

FastStream's own parser decodes every header as UTF-8 and its decoder parses JSON; either would
fail on hostile input before drx could reject it with a reason. Subscribers of untrusted topics
pass :func:`tolerant_parser` (or :func:`tolerant_batch_parser`) and :func:`raw_body`: headers that
are not UTF-8 are replaced by a marker that :func:`shared.intake.parsing.parse` rejects, and the
body stays bytes. :func:`raw_message` turns what they deliver into a :class:`RawMessage`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord
from faststream.message import StreamMessage

from shared.intake.parsing import INVALID_HEADER_MARK, RawMessage
from shared.kafka.topics import TopicSpec

__all__ = ["raw_body", "raw_message", "tolerant_batch_parser", "tolerant_parser"]


def _utf8_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record with every header that is not UTF-8 replaced by a marker (parse rejects it)."""
    headers = []
    for key, value in record.headers or ():
        raw = bytes(value) if value is not None else b""
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raw = INVALID_HEADER_MARK.encode()
        headers.append((key, raw))
    return dataclasses.replace(record, headers=headers)


async def tolerant_parser(
    record: ConsumerRecord[Any, Any],
    original: Callable[[ConsumerRecord[Any, Any]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """FastStream's parser, after replacing headers that are not UTF-8 with a marker."""
    return await original(_utf8_headers(record))


async def tolerant_batch_parser(
    records: tuple[ConsumerRecord[Any, Any], ...],
    original: Callable[[tuple[ConsumerRecord[Any, Any], ...]], Awaitable[StreamMessage[Any]]],
) -> StreamMessage[Any]:
    """The same, for a batch of records."""
    return await original(tuple(_utf8_headers(record) for record in records))


async def raw_body(message: StreamMessage[Any]) -> bytes:
    """Keep the body as bytes: drx parses it itself (as a decoder, for every subscriber)."""
    return message.body


def raw_message(record: ConsumerRecord[Any, Any], body: bytes, spec: TopicSpec) -> RawMessage:
    """One record as :func:`~shared.intake.parsing.parse` takes it; headers were made UTF-8 by the parser."""
    return RawMessage(
        topic=record.topic,
        spec=spec,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        value=body,
        headers={key: bytes(value).decode() for key, value in record.headers or ()},
    )
