"""``drx post``: what a small organisation without developers uses to send an event.

The file holds the event's data (see docs/events.md); this wraps it in a CloudEvents envelope,
validates it locally against the contract (shape only: the reference checks happen in ingest,
which answers on the rejected topic), and publishes it keyed by the entity id.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from aiokafka import AIOKafkaProducer
from pydantic import ValidationError

from shared.config import KafkaSettings
from shared.events.envelope import STRUCTURED_CONTENT_TYPE, CloudEvent
from shared.events.errors import describe_errors
from shared.events.registry import EVENT_TYPES
from shared.kafka.topics import topic_name

__all__ = ["ACTIONS", "PostError", "build_envelope", "publish"]

ACTIONS: dict[str, tuple[str, ...]] = {
    "crisis": ("declared", "updated", "closed"),
    "need": ("posted", "updated", "withdrawn"),
    "pledge": ("posted", "updated", "withdrawn"),
    "decision": ("decided",),
}
_ID_FIELD = {"crisis": "crisis_id", "need": "need_id", "pledge": "pledge_id", "decision": "match_id"}


class PostError(ValueError):
    """The data does not fit the contract; the message says where."""


def build_envelope(
    kind: str,
    action: str,
    data: Any,
    source: str,
    *,
    event_id: str | None = None,
    now: dt.datetime | None = None,
) -> tuple[CloudEvent, str]:
    """Validate ``data`` for ``org.drx.<kind>.<action>`` and wrap it; return it with its Kafka key."""
    event_type = f"org.drx.{'match' if kind == 'decision' else kind}.{action}"
    spec = EVENT_TYPES.get(event_type)
    if spec is None or action not in ACTIONS.get(kind, ()):
        msg = f"{kind} cannot be {action}; choose one of {', '.join(ACTIONS.get(kind, ()))}"
        raise PostError(msg)
    try:
        model = spec.model.model_validate(data)
    except ValidationError as error:
        raise PostError(f"invalid {event_type} data: {describe_errors(error, 'data.')}") from None
    key = str(getattr(model, _ID_FIELD[kind]))
    envelope = CloudEvent(
        specversion="1.0",
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event_type,
        time=now or dt.datetime.now(dt.UTC),
        subject=key,
        data=data,
    )
    return envelope, key


async def publish(settings: KafkaSettings, envelope: CloudEvent, key: str) -> None:
    topic = topic_name(settings.topic_prefix, EVENT_TYPES[envelope.type].topic)
    producer = AIOKafkaProducer(**settings.client_options(), enable_idempotence=settings.idempotent_producer)
    await producer.start()
    try:
        await producer.send_and_wait(
            topic,
            json.dumps(envelope.model_dump(mode="json", exclude_none=True)).encode(),
            key=key.encode(),
            headers=[("content-type", STRUCTURED_CONTENT_TYPE.encode())],
        )
    finally:
        await producer.stop()
