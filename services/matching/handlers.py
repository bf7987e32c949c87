"""The matching subscriber on the canonical topic: batches of events, one transaction each, one log line."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from services.matching.service import Canonical, MatchingService
from shared.events.envelope import CloudEvent
from shared.events.errors import describe_errors
from shared.events.producers import producer_refusal
from shared.intake.kafka import raw_body
from shared.intake.parsing import SourcePosition
from shared.kafka.broker import static_membership
from shared.kafka.middleware import record_context
from shared.kafka.timestamps import arrival
from shared.kafka.topics import CANONICAL, topic_name
from shared.logging import get_logger
from shared.observability import observe_match_latency
from shared.worker import Backoff

__all__ = ["register"]

log = get_logger("drx.matching")


def _canonical(record: ConsumerRecord[Any, Any], body: bytes) -> Canonical | str:
    """The record as matching's input, or why it is none (then it is parked, not retried).

    Only ingest's events are applied (``shared.events.producers``): anyone else's, a forged
    decision say, is refused here, before it reaches the rules.
    """
    position = SourcePosition(record.topic, record.partition, record.offset)
    try:
        envelope = CloudEvent.model_validate_json(body)
    except ValidationError as error:
        return f"not a CloudEvents envelope: {describe_errors(error)}"
    if refused := producer_refusal(CANONICAL, envelope.source):
        return refused
    today = arrival(record.timestamp, position, log).date()
    return Canonical(envelope, today, position)


def register(
    broker: KafkaBroker, service: MatchingService, topic_prefix: str, group_id: str, *, max_batch: int = 50
) -> None:
    """Subscribe matching to the canonical topic, in batches of up to ``max_batch`` events.

    One batch is one transaction and one offset commit (``MatchingService.handle_batch``);
    kept small because a batch holds the locks of all its match keys until it commits, and
    other matching workers may be waiting for one of them.
    """
    handle_batch = Backoff("drx.matching")(service.handle_batch)
    refuse_unreadable = Backoff("drx.matching")(service.refuse_unreadable)

    async def on_canonical(bodies: list[bytes], message: KafkaMessage) -> None:
        records = message.raw_message
        assert isinstance(records, tuple)
        readable = []
        for record, body in zip(records, bodies, strict=True):
            with record_context(record):
                event = _canonical(record, body)
                if isinstance(event, str):  # only ingest writes here: a bug upstream, or a forgery
                    position = SourcePosition(record.topic, record.partition, record.offset)
                    log.error("canonical record refused", reason=event)
                    await refuse_unreadable(position, body, event)
                else:
                    readable.append((record, event))
        events = [event for _, event in readable]
        if not events:
            return
        started = time.perf_counter()
        results = await handle_batch(events)  # a failure backs off, then the batch is read again
        now = time.time()
        for (record, event), result in zip(readable, results, strict=True):
            if result.proposals:  # committed: from the event's arrival on the canonical topic to here
                observe_match_latency(now - record.timestamp / 1000)
            with record_context(record):
                log.info(
                    "canonical event handled",
                    type=event.envelope.type,
                    outcome=result.outcome,
                    proposals=result.proposals,
                )
        log.info(
            "canonical batch handled",
            records=len(events),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    broker.subscriber(
        topic_name(topic_prefix, CANONICAL),
        group_id=group_id,
        batch=True,
        max_records=max_batch,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=raw_body,
        title="matching:canonical",
        description="Keeps open needs and pledges and proposes matches whenever capacity appears.",
        **static_membership(broker, "canonical"),
    )(on_canonical)
