"""The rejected topic for operators: list what was refused, and replay it once the cause is fixed.

``drx rejected list`` and ``drx rejected replay`` read ``<prefix>rejected`` from the beginning to
its current end (nothing is committed: reading changes nothing). Replay sends each chosen
record's original bytes back to the intake topic it came from, keyed by the original envelope's
subject, as ``drx post`` keys them. A rejected event never uses up its id, so ingest judges the
replayed copy afresh (docs/operations.md).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from shared.config import KafkaSettings
from shared.events.envelope import STRUCTURED_CONTENT_TYPE
from shared.events.outbound import InputRejected
from shared.kafka.reading import read_topic
from shared.kafka.timestamps import bound_timestamp
from shared.kafka.topics import REJECTED, TOPICS, topic_name

__all__ = ["Rejection", "choose", "read_rejections", "replay", "why_not_replayable"]

_INTAKE = {spec.name for spec in TOPICS if spec.name.startswith("intake.")}


@dataclass(frozen=True, slots=True)
class Rejection:
    """One ``org.drx.input.rejected`` event: when, what, and the original record."""

    at: dt.datetime
    data: InputRejected
    rejected_by: str  # the service that refused it

    @property
    def original(self) -> bytes:
        return base64.b64decode(self.data.original_base64)

    @property
    def key(self) -> str | None:
        """The original envelope's subject (the entity id ``drx post`` keys by), when it has one."""
        try:
            subject = json.loads(self.original).get("subject")
        except (ValueError, AttributeError, RecursionError):  # the original is hostile bytes
            return None
        return subject if isinstance(subject, str) else None


def why_not_replayable(rejection: Rejection, prefix: str) -> str | None:
    """Why this record cannot simply be sent again, or None when it can."""
    topic = rejection.data.source_topic.removeprefix(prefix)
    if topic not in _INTAKE:
        return (
            f"it came from {rejection.data.source_topic}, not an intake topic: ask for a new decision instead"
        )
    if rejection.data.original_truncated:
        length = rejection.data.original_length
        return f"it was {length} bytes and only its first part was kept: the sender must resend it"
    if rejection.data.original_text is None:
        return "its bytes are not UTF-8 text: the sender must fix and resend it"
    try:
        json.loads(rejection.data.original_text)
    except (ValueError, RecursionError):
        return "it is not JSON within the limits: the sender must fix and resend it"
    return None


def choose(
    rejections: Iterable[Rejection],
    *,
    since: dt.datetime | None = None,
    reason: str | None = None,
    topic: str | None = None,
    event_type: str | None = None,
) -> list[Rejection]:
    """The rejections matching every given filter (``reason``: a case-insensitive substring)."""
    wanted = []
    for r in rejections:
        if since is not None and r.at < since:
            continue
        if reason is not None and reason.lower() not in r.data.reason.lower():
            continue
        if topic is not None and not r.data.source_topic.endswith(topic):
            continue
        if event_type is not None and r.data.event_type != event_type:
            continue
        wanted.append(r)
    return wanted


async def read_rejections(settings: KafkaSettings, timeout_s: float = 30.0) -> list[Rejection]:
    """Every rejection now on the topic, oldest first per partition."""
    records = await read_topic(settings, topic_name(settings.topic_prefix, REJECTED), timeout_s)
    found = []
    for record in records:
        event = json.loads(record.value)
        found.append(
            Rejection(
                at=bound_timestamp(record.timestamp, dt.datetime.now(dt.UTC)).at,
                data=InputRejected.model_validate(event["data"]),
                rejected_by=event.get("source", ""),
            )
        )
    return found


async def replay(settings: KafkaSettings, rejections: Iterable[Rejection]) -> int:
    """Send each rejection's original record to its intake topic; how many were sent."""
    producer = AIOKafkaProducer(**settings.client_options(), enable_idempotence=settings.idempotent_producer)
    await producer.start()
    sent = 0
    try:
        for r in rejections:
            key = r.key
            await producer.send_and_wait(
                r.data.source_topic,
                r.original,
                key=key.encode() if key else None,
                headers=[("content-type", STRUCTURED_CONTENT_TYPE.encode())],
            )
            sent += 1
    finally:
        await producer.stop()
    return sent
