"""Reading untrusted records off Kafka without letting FastStream's decoding fail first.

FastStream's own parser decodes every header as UTF-8 and its decoder parses JSON; either would
fail on hostile input before drx could reject it with a reason. Subscribers of untrusted topics
pass :func:`tolerant_parser` (or :func:`tolerant_batch_parser`) and :func:`raw_body`: a header whose
value or name is not UTF-8 gets a marker for its value that :func:`shared.intake.parsing.parse`
rejects, naming the header, and the body stays bytes. :func:`raw_message` turns what they deliver
into a :class:`RawMessage`.

A name arrives here already decoded: :mod:`shared.kafka.records` (installed by
:func:`shared.kafka.broker.make_broker`) has aiokafka keep its bytes that are not UTF-8 as lone
surrogates (0xFF as U+DCFF) instead of failing the whole fetch. The reason then shows such a name
escaped, ``'\\udcff\\udcfebad'``, cut to :data:`SHOWN_NAME_CHARS`; a marked header is never
overridden by a later header of the same name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord
from faststream.message import StreamMessage

from shared.intake.parsing import INVALID_HEADER_MARK, RawMessage
from shared.kafka.topics import TopicSpec

__all__ = ["SHOWN_NAME_CHARS", "raw_body", "raw_message", "tolerant_batch_parser", "tolerant_parser"]

SHOWN_NAME_CHARS = 60  # of the name of a header that is not UTF-8, as the reason shows it
_MARK = INVALID_HEADER_MARK.encode()


def _is_utf8(key: str, value: bytes) -> bool:
    try:
        key.encode("utf-8")  # refuses the lone surrogates shared.kafka.records decodes bad bytes to
        value.decode("utf-8")
    except UnicodeError:
        return False
    return True


def _utf8_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record with every header whose name or value is not UTF-8 marked (parse rejects it)."""
    headers = []
    for key, value in record.headers or ():
        raw = bytes(value) if value is not None else b""
        if _is_utf8(key, raw):
            headers.append((key, raw))
        else:
            shown = key if len(key) <= SHOWN_NAME_CHARS else key[: SHOWN_NAME_CHARS - 1] + "\u2026"
            headers.append((shown, _MARK))
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
    """One record as :func:`~shared.intake.parsing.parse` takes it; headers were made UTF-8 by the parser.

    Of two headers with one name the later counts, unless the earlier is marked as not UTF-8.
    """
    headers: dict[str, str] = {}
    for key, value in record.headers or ():
        if headers.get(key) != INVALID_HEADER_MARK:
            headers[key] = bytes(value).decode()
    return RawMessage(
        topic=record.topic,
        spec=spec,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        value=body,
        headers=headers,
    )
