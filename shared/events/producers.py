"""Who may produce on drx's internal topics: each is written by one drx service, under its sources.

Kafka's ACLs (``drx topics create``) keep other principals off ``canonical`` and ``matches``;
this rule is the consumers' own check behind them, so a record that got there anyway (a
misconfigured broker, a leaked service credential used by hand, a PLAINTEXT development stack)
is refused with a reason instead of applied. A forged ``org.drx.decision.recorded`` on
``canonical`` once confirmed a match this way (issue 15). Pure: the handlers apply it.
"""

from __future__ import annotations

from shared.kafka.topics import CANONICAL, MATCHES, TopicSpec

__all__ = [
    "INGEST_SCHEDULER_SOURCE",
    "INGEST_SOURCE",
    "MATCHING_SCHEDULER_SOURCE",
    "MATCHING_SOURCE",
    "PRODUCERS",
    "producer_refusal",
]

INGEST_SOURCE = "urn:drx:service:ingest"
INGEST_SCHEDULER_SOURCE = "urn:drx:service:ingest:scheduler"
MATCHING_SOURCE = "urn:drx:service:matching"
MATCHING_SCHEDULER_SOURCE = "urn:drx:service:matching:scheduler"

# The CloudEvents sources each internal topic accepts (by its name without the prefix).
PRODUCERS: dict[str, frozenset[str]] = {
    CANONICAL.name: frozenset({INGEST_SOURCE, INGEST_SCHEDULER_SOURCE}),
    MATCHES.name: frozenset({MATCHING_SOURCE, MATCHING_SCHEDULER_SOURCE}),
}


def producer_refusal(topic: TopicSpec, source: str) -> str | None:
    """Why an event with CloudEvents ``source`` read from ``topic`` may not be applied, or None."""
    allowed = PRODUCERS.get(topic.name)
    if allowed is None or source in allowed:
        return None
    return (
        f"not from a drx service: the {topic.name} topic accepts events only from "
        f"{', '.join(sorted(allowed))}, not from source {source[:200]!r}"
    )
