"""The ingest subscriber: untrusted bytes in, one service call, one log line.

FastStream's own parser decodes every header as UTF-8 and its decoder parses JSON; either would
fail on hostile input before our code could reject it with a reason. So this subscriber brings
its own: headers that are not UTF-8 are marked (ingest rejects them), and the body stays bytes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from services.ingest.parsing import INVALID_HEADER_MARK, RawMessage
from services.ingest.service import IngestService
from shared.kafka.broker import static_membership
from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN, TopicSpec, topic_name
from shared.logging import get_logger
from shared.worker import Backoff

__all__ = ["INTAKE", "register", "tolerant_batch_parser", "tolerant_parser"]

INTAKE = (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN)
log = get_logger("drx.ingest")


def _utf8_headers(record: ConsumerRecord[Any, Any]) -> ConsumerRecord[Any, Any]:
    """The record with every header that is not UTF-8 replaced by a marker (ingest rejects it)."""
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
    """Keep the body as bytes: ingest parses it itself."""
    return message.body


def register(
    broker: KafkaBroker, service: IngestService, topic_prefix: str, group_id: str, *, max_batch: int = 100
) -> None:
    """Subscribe ingest to every intake topic, in batches of up to ``max_batch`` records.

    One batch is one transaction and one offset commit (``IngestService.handle_batch``); a batch
    that fails is applied record by record, and a record that fails alone is read again after a
    backoff (NACK_ON_ERROR), with the records before it kept.
    """
    by_name: dict[str, TopicSpec] = {topic_name(topic_prefix, spec): spec for spec in INTAKE}

    handle_batch = Backoff("drx.ingest")(service.handle_batch)

    async def on_intake(bodies: list[bytes], message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)
        raws = [
            RawMessage(
                topic=record.topic,
                spec=by_name[record.topic],
                partition=record.partition,
                offset=record.offset,
                timestamp_ms=record.timestamp,
                value=body,
                headers={key: bytes(value).decode() for key, value in record.headers or ()},
            )
            for record, body in zip(records, bodies, strict=True)
        ]
        started = time.perf_counter()
        results = await handle_batch(raws)  # a failure backs off, then the batch is read again
        for result in results:
            log.info("intake message handled", outcome=result.outcome, detail=result.detail)
        log.info(
            "intake batch handled", records=len(raws), ms=round((time.perf_counter() - started) * 1000, 1)
        )

    broker.subscriber(
        *by_name,
        group_id=group_id,
        batch=True,
        max_records=max_batch,
        ack_policy=AckPolicy.NACK_ON_ERROR,  # commit only after the transaction; redeliver on error
        auto_offset_reset="earliest",
        parser=tolerant_batch_parser,
        decoder=raw_body,
        title="ingest:intake",
        description="Validates, deduplicates and normalises what people post; rejects with a reason.",
        **static_membership(broker, "intake"),
    )(on_intake)
