"""Notify's subscribers: matches and canonical (alerts to create), and the subscriptions intake topic.

From canonical, only the expiry reminders concern notify; the rest is ignored before any I/O.
An event on either topic is applied only from its drx producer (``shared.events.producers``).
"""

from __future__ import annotations

import time
from typing import Any

from aiokafka import ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from pydantic import ValidationError

from services.notify.service import NotifyService
from shared.events.envelope import CloudEvent
from shared.events.errors import describe_errors
from shared.events.producers import producer_refusal
from shared.intake.kafka import raw_body, raw_message, tolerant_parser
from shared.intake.parsing import SourcePosition
from shared.kafka.broker import static_membership
from shared.kafka.topics import CANONICAL, MATCHES, SUBSCRIPTIONS_IN, topic_name
from shared.logging import get_logger
from shared.worker import Backoff

__all__ = ["register"]

log = get_logger("drx.notify")


def register(broker: KafkaBroker, service: NotifyService, topic_prefix: str, group_id: str) -> None:
    handle = Backoff("drx.notify")(service.handle)
    handle_subscription = Backoff("drx.notify")(service.handle_subscription)
    refuse_unreadable = Backoff("drx.notify")(service.refuse_unreadable)

    async def on_match(body: bytes, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        position = SourcePosition(record.topic, record.partition, record.offset)
        try:
            envelope = CloudEvent.model_validate_json(body)
        except ValidationError as error:
            # Only drx services write these topics: a bug upstream, or a forgery. Park it, go on.
            reason = f"not a CloudEvents envelope: {describe_errors(error)}"
            log.exception("unreadable record parked", position=str(position), reason=reason)
            await refuse_unreadable(position, body, reason)
            return
        topic = CANONICAL if record.topic == topic_name(topic_prefix, CANONICAL) else MATCHES
        refusal = producer_refusal(topic, envelope.source) if service.concerns(envelope.type) else None
        if refusal:  # a forgery: refused, never applied (what notify ignores anyway, matching refuses)
            log.error("record from outside drx refused", position=str(position), reason=refusal)
            await refuse_unreadable(position, body, refusal)
            return
        started = time.perf_counter()
        result = await handle(envelope, position=position)
        log.info(
            "match event handled",
            type=envelope.type,
            outcome=result.outcome,
            deliveries=result.deliveries,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )

    async def on_subscription(body: bytes, message: KafkaMessage) -> None:
        record = message.raw_message
        assert isinstance(record, ConsumerRecord)
        raw = raw_message(record, body, SUBSCRIPTIONS_IN)
        result = await handle_subscription(raw)
        log.info("subscription message handled", outcome=result.outcome)

    common: dict[str, Any] = {
        "group_id": group_id,
        "ack_policy": AckPolicy.NACK_ON_ERROR,
        "auto_offset_reset": "earliest",
        "decoder": raw_body,
    }
    broker.subscriber(
        topic_name(topic_prefix, MATCHES),
        topic_name(topic_prefix, CANONICAL),
        title="notify:matches",
        description="Turns match, coverage, reminder and expiry events into one delivery per recipient.",
        **common,
        **static_membership(broker, "matches"),
    )(on_match)
    broker.subscriber(
        topic_name(topic_prefix, SUBSCRIPTIONS_IN),
        parser=tolerant_parser,
        title="notify:subscriptions",
        description="Applies subscription set/removed events; rejects invalid or unauthorised ones.",
        **common,
        **static_membership(broker, "subscriptions"),
    )(on_subscription)
