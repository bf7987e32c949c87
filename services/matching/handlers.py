"""The matching subscriber on the canonical topic: one service call per event, one log line."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage
from pydantic import ValidationError

from services.matching.service import MatchingService
from shared.events.envelope import CloudEvent
from shared.kafka.broker import static_membership
from shared.kafka.topics import CANONICAL, topic_name
from shared.logging import get_logger
from shared.observability import observe_match_latency
from shared.worker import Backoff

__all__ = ["register"]

log = get_logger("drx.matching")


async def raw_body(message: StreamMessage[Any]) -> bytes:
    return message.body


def register(broker: KafkaBroker, service: MatchingService, topic_prefix: str, group_id: str) -> None:
    handle = Backoff("drx.matching")(service.handle)

    async def on_canonical(body: bytes, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        position = f"{record.topic}/{record.partition}/{record.offset}"
        try:
            envelope = CloudEvent.model_validate_json(body)
        except ValidationError:
            # Only ingest writes this topic; an unreadable record is a bug upstream, not a reason to stall.
            log.exception("unreadable canonical record skipped", position=position)
            return
        today = dt.datetime.fromtimestamp(record.timestamp / 1000, tz=dt.UTC).date()
        started = time.perf_counter()
        result = await handle(envelope, today, position=position)  # a failure backs off, then retries
        if result.proposals:  # committed: from the event's arrival on the canonical topic to here
            observe_match_latency(time.time() - record.timestamp / 1000)
        log.info(
            "canonical event handled",
            type=envelope.type,
            outcome=result.outcome,
            proposals=result.proposals,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    broker.subscriber(
        topic_name(topic_prefix, CANONICAL),
        group_id=group_id,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        decoder=raw_body,
        title="matching:canonical",
        description="Keeps open needs and pledges and proposes matches whenever capacity appears.",
        **static_membership(broker, "canonical"),
    )(on_canonical)
