"""From untrusted bytes to a typed event, or a precise reason why not. Pure: no I/O.

Every consumer of input that people or integrations send (ingest's intake topics, notify's
subscriptions) parses it here, so the same bytes get the same answer wherever they arrive.

Order of checks, first failure wins: size, headers, encoding, JSON and its limits
(:mod:`shared.intake.limits`), envelope, event type, type allowed on this topic, data schema.
Each failure message says what is wrong and where, in words a volunteer at a relief
organisation can act on.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from shared.events.envelope import CloudEvent, envelope_from_binary
from shared.events.errors import describe_errors
from shared.events.outbound import InputRejected
from shared.events.registry import EVENT_TYPES, inbound_types_for
from shared.intake.limits import LIMITS, LimitError, check_headers, load_json
from shared.kafka.topics import TopicSpec

__all__ = [
    "INVALID_HEADER_MARK",
    "MAX_MESSAGE_BYTES",
    "MAX_REASON_CHARS",
    "Parsed",
    "RawMessage",
    "Rejected",
    "SourcePosition",
    "cap_reason",
    "input_rejected",
    "parse",
]

MAX_MESSAGE_BYTES = LIMITS.record_bytes
MAX_REASON_CHARS = 2_000  # a rejection reason; past it, the count of further errors
INVALID_HEADER_MARK = "\ufffdinvalid-utf8"


@dataclass(frozen=True, slots=True)
class SourcePosition:
    """Where a record was read: topic, partition and offset. Printed as ``topic/partition/offset``."""

    topic: str
    partition: int
    offset: int

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.offset}"


def input_rejected(
    position: SourcePosition,
    original: bytes,
    reason: str,
    envelope: CloudEvent | None,
    *,
    shown: bytes | None = None,
) -> InputRejected:
    """The ``org.drx.input.rejected`` data for one record: the reason, where it was read, and its bytes.

    Both are bounded, so the rejection of any record fits in a Kafka message: the reason is cut
    to :data:`MAX_REASON_CHARS` (saying how many further errors there were) and the original to
    the intake limit, with its full length and SHA-256 to identify it. ``shown``, when given and
    not the original, is what may be kept instead (its contact details redacted, ``shared/redact.py``);
    the length and SHA-256 stay the original's.
    """
    body = original if shown is None else shown
    kept = body[: LIMITS.record_bytes]
    truncated = len(kept) < len(body)
    try:
        text: str | None = kept.decode("utf-8") if not truncated else None
    except UnicodeDecodeError:
        text = None
    return InputRejected(
        reason=cap_reason(reason),
        source_topic=position.topic,
        source_partition=position.partition,
        source_offset=position.offset,
        original_base64=base64.b64encode(kept).decode("ascii"),
        original_text=text if text is not None and "\x00" not in text else None,
        original_length=len(original),
        original_sha256=hashlib.sha256(original).hexdigest(),
        original_truncated=truncated,
        original_redacted=body != original,
        event_id=envelope.id if envelope else None,
        event_type=envelope.type if envelope else None,
        event_source=envelope.source if envelope else None,
    )


def cap_reason(reason: str, limit: int = MAX_REASON_CHARS) -> str:
    """The reason, whole if it fits; else as many of its ``; ``-separated errors as fit, and a count."""
    if len(reason) <= limit:
        return reason
    parts = reason.split("; ")
    kept: list[str] = []
    size = 0
    for part in parts:
        if size + len(part) + 2 > limit - 40:  # room for the count
            break
        kept.append(part)
        size += len(part) + 2
    if not kept:  # one error longer than the limit on its own
        return reason[: limit - 1] + "\u2026"
    more = len(parts) - len(kept)
    return "; ".join(kept) + f"; and {more} more error{'s' if more != 1 else ''}"


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One Kafka record as it arrived, with the intake topic it came from."""

    topic: str
    spec: TopicSpec
    partition: int
    offset: int
    timestamp_ms: int
    value: bytes
    headers: dict[str, str]

    @property
    def position(self) -> SourcePosition:
        return SourcePosition(self.topic, self.partition, self.offset)

    @property
    def inbox_key(self) -> str:
        """The inbox key of this very record, for a refusal that has no readable event id to claim."""
        return f"kafka {self.position}"


@dataclass(frozen=True, slots=True)
class Parsed:
    envelope: CloudEvent
    data: BaseModel


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    envelope: CloudEvent | None = None


def parse(raw: RawMessage) -> Parsed | Rejected:
    """Parse and validate one intake record."""
    document = _document(raw)
    if isinstance(document, Rejected):
        return document
    if "ce_specversion" in raw.headers:  # CloudEvents binary mode
        document = envelope_from_binary(raw.headers, document)
    if not isinstance(document, dict):
        return Rejected("message is not a CloudEvents envelope: expected a JSON object")
    try:
        envelope = CloudEvent.model_validate(document)
    except ValidationError as error:
        return Rejected(f"invalid CloudEvents envelope: {describe_errors(error)}")
    allowed = inbound_types_for(raw.spec)
    if envelope.type not in EVENT_TYPES:
        return Rejected(
            f"unknown event type {envelope.type!r}; {raw.topic} accepts {', '.join(allowed)}", envelope
        )
    if envelope.type not in allowed:
        return Rejected(
            f"event type {envelope.type!r} does not belong on {raw.topic}; it accepts {', '.join(allowed)}",
            envelope,
        )
    if envelope.data is None:
        return Rejected("the event has no data", envelope)
    try:
        data = EVENT_TYPES[envelope.type].model.model_validate(envelope.data)
    except ValidationError as error:
        return Rejected(f"invalid {envelope.type} data: {describe_errors(error, 'data.')}", envelope)
    return Parsed(envelope, data)


def _document(raw: RawMessage) -> Any:
    """The record's JSON document within every limit, or the :class:`Rejected` that says why not."""
    if len(raw.value) > MAX_MESSAGE_BYTES:
        return Rejected(f"message is {len(raw.value)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes")
    for name, value in raw.headers.items():
        if value == INVALID_HEADER_MARK:
            return Rejected(f"header {name!r} is not valid UTF-8")
    if problem := check_headers(raw.headers):
        return Rejected(problem)
    try:
        text = raw.value.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejected(f"message is not UTF-8 text (invalid byte at position {error.start})")
    try:
        return load_json(text) if text.strip() else None
    except json.JSONDecodeError as error:
        return Rejected(f"message is not JSON: {error.msg} at line {error.lineno} column {error.colno}")
    except LimitError as error:
        return Rejected(f"message refused: {error}")
