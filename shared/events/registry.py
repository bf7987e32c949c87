"""Every event type drx knows: its data model, the topic it travels on, and who sends it."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

from shared.events import canonical, inbound, outbound
from shared.kafka.topics import (
    AUDIT,
    CANONICAL,
    CRISES_IN,
    DECISIONS_IN,
    MATCHES,
    NEEDS_IN,
    NOTIFICATIONS,
    PLEDGES_IN,
    REJECTED,
    SUBSCRIPTIONS_IN,
    TopicSpec,
)

__all__ = ["EVENT_TYPES", "EventType", "inbound_types_for"]


@dataclass(frozen=True, slots=True)
class EventType:
    type: str
    model: builtins.type[BaseModel]
    topic: TopicSpec
    direction: Literal["inbound", "canonical", "outbound"]
    summary: str


def _t(
    type_: str,
    model: type[BaseModel],
    topic: TopicSpec,
    direction: Literal["inbound", "canonical", "outbound"],
    summary: str,
) -> EventType:
    return EventType(type_, model, topic, direction, summary)


_ALL = (
    _t(
        "org.drx.crisis.declared",
        inbound.CrisisDeclared,
        CRISES_IN,
        "inbound",
        "A coordinator declares a crisis.",
    ),
    _t("org.drx.crisis.updated", inbound.CrisisUpdated, CRISES_IN, "inbound", "The crisis's new state."),
    _t(
        "org.drx.crisis.closed",
        inbound.CrisisClosed,
        CRISES_IN,
        "inbound",
        "No more needs; open needs close.",
    ),
    _t("org.drx.need.posted", inbound.NeedPosted, NEEDS_IN, "inbound", "A relief organisation posts a need."),
    _t("org.drx.need.updated", inbound.NeedUpdated, NEEDS_IN, "inbound", "The need's whole new state."),
    _t(
        "org.drx.need.withdrawn", inbound.NeedWithdrawn, NEEDS_IN, "inbound", "The organisation withdraws it."
    ),
    _t(
        "org.drx.pledge.posted",
        inbound.PledgePosted,
        PLEDGES_IN,
        "inbound",
        "A diaspora donor posts a pledge.",
    ),
    _t(
        "org.drx.pledge.updated",
        inbound.PledgeUpdated,
        PLEDGES_IN,
        "inbound",
        "The pledge's whole new state.",
    ),
    _t("org.drx.pledge.withdrawn", inbound.PledgeWithdrawn, PLEDGES_IN, "inbound", "The donor withdraws it."),
    _t(
        "org.drx.match.decided",
        inbound.MatchDecided,
        DECISIONS_IN,
        "inbound",
        "A coordinator decides on a match.",
    ),
    _t(
        "org.drx.subscription.set",
        inbound.SubscriptionSet,
        SUBSCRIPTIONS_IN,
        "inbound",
        "Add or replace a notification subscription (applied by notify).",
    ),
    _t(
        "org.drx.subscription.removed",
        inbound.SubscriptionRemoved,
        SUBSCRIPTIONS_IN,
        "inbound",
        "Stop a notification subscription (applied by notify).",
    ),
    _t(
        "org.drx.crisis.recorded",
        canonical.CrisisRecorded,
        CANONICAL,
        "canonical",
        "Crisis as ingest holds it.",
    ),
    _t("org.drx.need.recorded", canonical.NeedRecorded, CANONICAL, "canonical", "Need as ingest holds it."),
    _t(
        "org.drx.pledge.recorded",
        canonical.PledgeRecorded,
        CANONICAL,
        "canonical",
        "Pledge as ingest holds it.",
    ),
    _t(
        "org.drx.decision.recorded",
        canonical.DecisionRecorded,
        CANONICAL,
        "canonical",
        "An authorised decision.",
    ),
    *(
        _t(f"org.drx.match.{status}", outbound.MatchUpdated, MATCHES, "outbound", f"A match is {status}.")
        for status in ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled")
    ),
    _t(
        "org.drx.match.reminder",
        outbound.MatchUpdated,
        MATCHES,
        "outbound",
        "A proposal still awaits a decision (sent once, before it expires).",
    ),
    _t(
        "org.drx.need.expiring",
        outbound.ExpiryReminder,
        CANONICAL,
        "outbound",
        "A need's needed-by date is near; its organisation is reminded (by notify).",
    ),
    _t(
        "org.drx.pledge.expiring",
        outbound.ExpiryReminder,
        CANONICAL,
        "outbound",
        "A pledge's expiry date is near; its donor is reminded (by notify).",
    ),
    _t(
        "org.drx.need.coverage",
        outbound.NeedCoverage,
        MATCHES,
        "outbound",
        "A need's coverage status changed (open, partially covered, covered, closed...).",
    ),
    _t("org.drx.notification.sent", outbound.NotificationSent, NOTIFICATIONS, "outbound", "A notification."),
    _t("org.drx.audit.recorded", outbound.AuditRecorded, AUDIT, "outbound", "An audit record."),
    _t(
        "org.drx.audit.checkpoint",
        outbound.AuditCheckpoint,
        AUDIT,
        "outbound",
        "A signed checkpoint of the audit chain, published straight to Kafka by the signer, not "
        "through the outbox (docs/audit.md). Anyone who can write to the topic can write one that "
        "looks like it: trust it only when its Ed25519 signature verifies with your public key.",
    ),
    _t(
        "org.drx.input.rejected",
        outbound.InputRejected,
        REJECTED,
        "outbound",
        "Input ingest could not accept.",
    ),
)

EVENT_TYPES: dict[str, EventType] = {event.type: event for event in _ALL}


def inbound_types_for(topic: TopicSpec) -> tuple[str, ...]:
    """The event types a producer may send on an intake topic."""
    return tuple(e.type for e in _ALL if e.direction == "inbound" and e.topic == topic)
