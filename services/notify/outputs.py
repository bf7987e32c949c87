"""What notify writes down and tells others: the deliveries it plans, ``org.drx.notification.sent``,
and the audit record of each step of a notification.

Everything is queued in the caller's transaction (``shared.outbox``, ``shared.audit``), so it is
published if and only if the change it reports commits. A notification's audit records name the
event that caused it, stored on its delivery row when it was planned; a digest starts its own flow.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.domain import Recipient, delivery_id
from services.notify.templates import Message, render_digest
from shared import audit
from shared.db.models import DeliveryRow
from shared.events.envelope import CloudEvent, new_event
from shared.events.outbound import NotificationSent
from shared.kafka.topics import NOTIFICATIONS, topic_name
from shared.outbox import enqueue

__all__ = [
    "NOTIFY_ACTOR",
    "NOTIFY_SOURCE",
    "audit_attempt",
    "audit_digested",
    "audit_planned",
    "digest_delivery",
    "enqueue_sent",
    "notification_sent",
    "planned_delivery",
]

NOTIFY_SOURCE = "urn:drx:service:notify"
NOTIFY_ACTOR = "drx:notify"  # the actor of the audit records of notifications


def planned_delivery(
    recipient: Recipient,
    *,
    kind: str,
    subject_id: str,
    message: Message,
    payload: dict[str, Any],
    match_id: str | None,
    need_id: str | None,
    cause: CloudEvent,
    now: dt.datetime,
) -> dict[str, Any]:
    """The delivery row of one alert to one recipient: sent already (Kafka), held, or pending."""
    sub = recipient.subscription
    if sub.channel == "kafka":
        status = "sent"
    elif recipient.held_for_digest:
        status = "held"
    else:
        status = "pending"
    return {
        "delivery_id": delivery_id(sub.recipient_id, sub.channel, kind, subject_id),
        "subscription_id": sub.subscription_id,
        "recipient_id": sub.recipient_id,
        "recipient_kind": sub.recipient_kind,
        "channel": sub.channel,
        "address": sub.address,
        "kind": kind,
        "subject_id": subject_id,
        "match_id": match_id,
        "need_id": need_id,
        "subject": message[0],
        "text": message[1],
        "payload": payload,
        "status": status,
        "next_attempt_at": now,
        "created_at": now,
        "sent_at": now if status == "sent" else None,
        # Kept for the audit records the delivery loop writes when it sends or gives up.
        "causing_event_id": cause.id,
        "correlation_id": cause.correlationid or cause.id,
    }


def audit_planned(session: AsyncSession, prefix: str, values: dict[str, Any], now: dt.datetime) -> None:
    """The audit record of a planned delivery (``notification.pending``, ``.held`` or ``.sent``)."""
    audit.record(
        session,
        prefix,
        audit.AuditEntry(
            actor=NOTIFY_ACTOR,
            action=f"notification.{values['status']}",
            entity_type="notification",
            entity_id=values["delivery_id"],
            after={
                k: values[k] for k in ("recipient_id", "channel", "kind", "subject_id", "status", "subject")
            },
            causing_event_id=values["causing_event_id"],
            correlation_id=values["correlation_id"],
        ),
        at=now,
    )


def audit_attempt(
    session: AsyncSession,
    prefix: str,
    row: dict[str, Any],
    *,
    action: str,
    after: dict[str, Any],
    now: dt.datetime,
) -> None:
    """The audit record of an attempt's outcome (``notification.sent``, ``.dead_lettered``)."""
    entry = audit.AuditEntry(
        actor=NOTIFY_ACTOR,
        action=action,
        entity_type="notification",
        entity_id=row["delivery_id"],
        before={"status": "pending"},
        after={"status": action.removeprefix("notification."), **after},
        causing_event_id=row["causing_event_id"],
        correlation_id=row["correlation_id"],
    )
    audit.record(session, prefix, entry, at=now)


def notification_sent(values: dict[str, Any]) -> NotificationSent:
    return NotificationSent(
        notification_id=values["delivery_id"],
        recipient_id=values["recipient_id"],
        recipient_kind=values["recipient_kind"],
        channel=values["channel"],
        kind=values["kind"],
        subject=values["subject"],
        text=values["text"],
        match_id=values.get("match_id"),
        need_id=values.get("need_id"),
    )


def enqueue_sent(session: AsyncSession, prefix: str, values: dict[str, Any], now: dt.datetime) -> None:
    """Publish ``org.drx.notification.sent`` (through the outbox, in the caller's transaction).

    It carries the delivery's correlation id, when the delivery has one, like its audit record.
    """
    event = new_event(
        "org.drx.notification.sent",
        NOTIFY_SOURCE,
        notification_sent(values),
        subject=values.get("match_id") or values.get("need_id") or values["delivery_id"],
        time=now,
        event_id=values["delivery_id"],
        correlation_id=values.get("correlation_id"),
    )
    enqueue(session, topic_name(prefix, NOTIFICATIONS), event, key=values["recipient_id"])


def digest_delivery(
    subscription_id: str, start: dt.datetime, end: dt.datetime, items: list[DeliveryRow], now: dt.datetime
) -> dict[str, Any]:
    """The one delivery that folds a subscription's held ``items`` of the period [start, end)."""
    first = items[0]
    subject_id = f"{subscription_id}:{start.isoformat()}:{first.delivery_id}"
    digest_id = delivery_id(first.recipient_id, first.channel, "digest", subject_id)
    subject, text = render_digest([(i.subject, i.text) for i in items], start, end)
    return {
        "delivery_id": digest_id,
        "subscription_id": subscription_id,
        "recipient_id": first.recipient_id,
        "recipient_kind": first.recipient_kind,
        "channel": first.channel,
        "address": first.address,
        "kind": "digest",
        "subject_id": subject_id,
        "subject": subject,
        "text": text,
        "payload": {"kind": "digest", "items": [i.payload for i in items]},
        "status": "pending",
        "next_attempt_at": now,
        "created_at": now,
        # No one event caused it: the scheduled job folded many. It starts its own flow.
        "causing_event_id": None,
        "correlation_id": digest_id,
    }


def audit_digested(
    session: AsyncSession,
    prefix: str,
    digest_id: str,
    *,
    folded: list[str],
    period: tuple[dt.datetime, dt.datetime],
    now: dt.datetime,
) -> None:
    """The audit record of a digest: which held deliveries it folds, for which period."""
    start, end = period
    entry = audit.AuditEntry(
        actor=NOTIFY_ACTOR,
        action="notification.digested",
        entity_type="notification",
        entity_id=digest_id,
        after={"items": folded, "period_start": start.isoformat(), "period_end": end.isoformat()},
        correlation_id=digest_id,
    )
    audit.record(session, prefix, entry, at=now)
