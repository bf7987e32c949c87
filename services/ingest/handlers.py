"""The ingest subscriber: untrusted bytes in, one service call, one log line.

The records are read with :mod:`shared.intake.kafka`'s tolerant parser, so hostile headers and
bodies reach ingest's own parsing, which rejects them with a reason.
"""

from __future__ import annotations

import time

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from services.ingest.service import IngestService
from shared.intake.kafka import raw_body, raw_message, tolerant_batch_parser
from shared.kafka.broker import static_membership
from shared.kafka.middleware import record_context
from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN, TopicSpec, topic_name
from shared.logging import get_logger
from shared.worker import Backoff

__all__ = ["INTAKE", "register"]

INTAKE = (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN)
log = get_logger("drx.ingest")


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
            raw_message(record, body, by_name[record.topic])
            for record, body in zip(records, bodies, strict=True)
        ]
        started = time.perf_counter()
        results = await handle_batch(raws)  # a failure backs off, then the batch is read again
        for record, result in zip(records, results, strict=True):
            with record_context(record):
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
