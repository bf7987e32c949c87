"""Every topic drx uses, named relative to the configurable prefix (``DRX_KAFKA_TOPIC_PREFIX``).

Inbound topics carry what people and systems post; canonical topics carry what ingest accepted;
outbound topics carry what the services decided. ``docs/events.md`` describes each event.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BROKER_TIME", "CONTACTS_RETENTION_MS", "TOPICS", "TopicSpec", "topic_name"]


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's name (without prefix), what it carries, and the topic configs drx insists on.

    ``configs`` are set when ``drx topics create`` creates the topic, and set again on a topic
    that exists with other values (``shared/kafka/admin.py``); configs not named are the broker's.
    """

    name: str
    description: str
    configs: tuple[tuple[str, str], ...] = ()


BROKER_TIME = (("message.timestamp.type", "LogAppendTime"),)
"""The broker stamps each record when it appends it: what people post cannot choose its own "now"
(ingest judges dates against the record's timestamp; ``shared/kafka/timestamps.py``)."""

CRISES_IN = TopicSpec(
    "intake.crises", "Crisis declared / updated / closed, as posted by coordinators", BROKER_TIME
)
NEEDS_IN = TopicSpec(
    "intake.needs", "Need posted / updated / withdrawn, as posted by relief organisations", BROKER_TIME
)
PLEDGES_IN = TopicSpec(
    "intake.pledges", "Pledge posted / updated / withdrawn, as posted by diaspora donors", BROKER_TIME
)
DECISIONS_IN = TopicSpec(
    "intake.decisions", "Match decisions by coordinators: confirm, reject, fulfilled, cancel", BROKER_TIME
)
CONTACTS_RETENTION_MS = 24 * 60 * 60 * 1000
"""How long ``intake.subscriptions`` keeps a record: it holds subscribers' addresses as they sent
them (docs/security.md, "Contact details"), and notify applies a record within moments, so a day
is ample for a notify outage; ``drx topics create`` sets it on the topic even where it was longer."""

SUBSCRIPTIONS_IN = TopicSpec(
    "intake.subscriptions",
    "Notification subscriptions set / removed, for systems that manage them",
    (*BROKER_TIME, ("retention.ms", str(CONTACTS_RETENTION_MS))),
)
CANONICAL = TopicSpec("canonical", "Validated, normalised crisis/need/pledge/decision events for matching")
MATCHES = TopicSpec("matches", "Match proposed / confirmed / rejected / expired / fulfilled / cancelled")
NOTIFICATIONS = TopicSpec("notifications", "Notifications for systems that integrate over Kafka")
AUDIT = TopicSpec(
    "audit",
    "Hash-chained audit records of every state change",
    # kept for ever, never compacted (one key): a rewritten database is checked against its checkpoints
    (("retention.ms", "-1"), ("retention.bytes", "-1"), ("cleanup.policy", "delete")),
)
REJECTED = TopicSpec(
    "rejected", "Invalid input: original bytes, precise reason, source topic/partition/offset"
)

TOPICS: tuple[TopicSpec, ...] = (
    CRISES_IN,
    NEEDS_IN,
    PLEDGES_IN,
    DECISIONS_IN,
    SUBSCRIPTIONS_IN,
    CANONICAL,
    MATCHES,
    NOTIFICATIONS,
    AUDIT,
    REJECTED,
)


def topic_name(prefix: str, spec: TopicSpec) -> str:
    """The full topic name under ``prefix``."""
    return f"{prefix}{spec.name}"
