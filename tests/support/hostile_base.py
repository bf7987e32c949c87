"""The pieces every hostile record is built from: its type, the valid event it starts from, and
helpers that break one field of it (used by ``hostile.py``'s classes)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN, SUBSCRIPTIONS_IN, TopicSpec
from tests.support import builders as b

__all__ = [
    "STRUCTURED",
    "TARGETS",
    "YEAR_33658_MS",
    "HostileRecord",
    "as_text",
    "field_path",
    "leaves",
    "record",
    "set_path",
    "valid",
    "with_literal",
]

TARGETS: tuple[TopicSpec, ...] = (CRISES_IN, NEEDS_IN, PLEDGES_IN, DECISIONS_IN, SUBSCRIPTIONS_IN)
STRUCTURED = {"content-type": b.HEADERS["content-type"].encode()}
YEAR_33658_MS = 1_000_000_000_000_000  # a Kafka record timestamp in the year 33658


@dataclass(frozen=True, slots=True)
class HostileRecord:
    """One record to produce. ``must_reject`` False: valid but for its timestamps, so applying it is right."""

    kind: str
    marker: str
    topic: TopicSpec
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = tuple(STRUCTURED.items())
    timestamp_ms: int | None = None
    must_reject: bool = True


# -- valid starting points ---------------------------------------------------------------------


def valid(topic: TopicSpec, marker: str) -> dict[str, Any]:
    """A valid envelope for ``topic`` about an entity named ``marker`` (crisis eq-tur-2026 declared)."""
    if topic is CRISES_IN:
        return b.envelope("org.drx.crisis.declared", b.crisis(marker), b.COORDINATOR[0], event_id=marker)
    if topic is NEEDS_IN:
        return b.envelope("org.drx.need.posted", b.need(marker), b.ORGANISATION[0], event_id=marker)
    if topic is PLEDGES_IN:
        return b.envelope("org.drx.pledge.posted", b.pledge(marker), b.DONOR[0], event_id=marker)
    if topic is DECISIONS_IN:
        data = {"match_id": marker, "decision": "confirm", "decided_by": "Leyla Demir"}
        return b.envelope("org.drx.match.decided", data, b.COORDINATOR[0], event_id=marker)
    data = {
        "subscription_id": marker,
        "recipient_id": "iom-desk-leyla",
        "recipient_kind": "coordinator",
        "channel": "kafka",
        "country": "TUR",  # within the test coordinator's scope (builders.SCOPES)
    }
    return b.envelope("org.drx.subscription.set", data, b.COORDINATOR[0], event_id=marker)


def record(kind: str, topic: TopicSpec, marker: str, value: bytes | str, **extra: Any) -> HostileRecord:
    data = value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value
    return HostileRecord(kind, marker, topic, data, **extra)


def as_text(document: Any) -> str:
    """Compact JSON, as most producers write it (30,000 two-byte items then stay under 64 KiB)."""
    return json.dumps(document, separators=(",", ":"))


def with_literal(document: dict[str, Any], path: tuple[str, ...], literal: str) -> str:
    """The document as JSON with the value at ``path`` written as ``literal`` (no Python value can be)."""
    placeholder = "__hostile_literal__"
    set_path(document, path, placeholder)
    return as_text(document).replace(json.dumps(placeholder), literal, 1)


def set_path(document: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    target = document
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def field_path(
    rng: random.Random, document: dict[str, Any], kinds: tuple[type, ...] = (str,)
) -> tuple[str, ...]:
    """A random path to a value of one of ``kinds`` in the envelope's data (or its envelope)."""
    paths = [p for p, v in leaves(document["data"], ("data",)) if isinstance(v, kinds) and p[-1] != "type"]
    return rng.choice(paths or [("data", "extra")])


def leaves(value: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    else:
        yield path, value
