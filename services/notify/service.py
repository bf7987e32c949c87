"""Notify's consuming side: match and coverage events become delivery rows, in one transaction.

Nothing is sent here. Each event is turned into one delivery row per recipient (the primary key
makes a second row for the same recipient, channel, kind and subject impossible), together with
its audit record and the inbox claim, and committed before the Kafka offset. Sending is the
delivery loop's job (``delivery.py``), so a slow or dead endpoint never holds a partition.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import and_, false, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.domain import (
    MATCH_AUDIENCE,
    REMINDER_AUDIENCE,
    Recipient,
    SubscriptionView,
    delivery_id,
    match_recipients,
    owner_recipients,
)
from services.notify.subscriptions import authorise, remove_subscription, set_subscription
from services.notify.templates import (
    Message,
    render_expiring,
    render_filled,
    render_match,
    render_reminder,
)
from shared import audit, inbox
from shared.db.models import DeliveryRow, SubscriptionRow
from shared.events.envelope import CloudEvent, new_event
from shared.events.inbound import SubscriptionRemoved, SubscriptionSet
from shared.events.outbound import (
    ExpiryReminder,
    MatchUpdated,
    NeedCoverage,
    NotificationSent,
)
from shared.intake.parsing import RawMessage, Rejected, parse
from shared.kafka.topics import NOTIFICATIONS, topic_name
from shared.outbox import enqueue
from shared.rejection import reject

__all__ = ["CONSUMER", "NOTIFY_SOURCE", "Clock", "NotifyService", "Result", "notification_sent", "view"]

CONSUMER = "notify"
NOTIFY_SOURCE = "urn:drx:service:notify"
Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    deliveries: int = 0


def view(row: SubscriptionRow) -> SubscriptionView:
    return SubscriptionView(
        subscription_id=row.subscription_id,
        recipient_id=row.recipient_id,
        recipient_kind=row.recipient_kind,  # type: ignore[arg-type]  # CHECK-constrained column
        channel=row.channel,  # type: ignore[arg-type]
        digest=row.digest,  # type: ignore[arg-type]
        crisis_id=row.crisis_id,
        country=row.country,
        sector=row.sector,
        category=row.category,
        address=row.address,
        key_id=row.key_id,
    )


class NotifyService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        topic_prefix: str,
        *,
        public_url: str | None = None,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self.prefix = topic_prefix
        self.public_url = public_url
        self.clock = clock
        self._on_commit = on_commit or (lambda: None)

    async def handle_subscription(self, raw: RawMessage) -> Result:
        """Apply one ``intake.subscriptions`` record, or reject it with the reason."""
        parsed = parse(raw)
        async with self._sessions.begin() as session:
            if isinstance(parsed, Rejected):
                if not await inbox.claim(session, CONSUMER, raw.inbox_key):
                    return Result("duplicate")  # this very record was refused already
                self._reject(session, raw, parsed.reason, parsed.envelope)
                return Result("rejected")
            envelope, data = parsed.envelope, parsed.data
            if not await _claim(session, envelope):
                return Result("duplicate")
            kind: str | None
            recipient: str | None
            if isinstance(data, SubscriptionSet):
                kind, recipient = data.recipient_kind, data.recipient_id
            else:
                assert isinstance(data, SubscriptionRemoved)
                existing = await session.get(SubscriptionRow, data.subscription_id)
                kind, recipient = (
                    (existing.recipient_kind, existing.recipient_id) if existing else (None, None)
                )
            refused = await authorise(session, envelope.source, kind, recipient)
            if refused:
                self._reject(session, raw, refused, envelope)
                return Result("rejected")
            if isinstance(data, SubscriptionSet):
                await set_subscription(
                    session, self.prefix, data, actor=envelope.source, causing_event_id=envelope.id
                )
            elif not await remove_subscription(
                session,
                self.prefix,
                data.subscription_id,
                actor=envelope.source,
                causing_event_id=envelope.id,
            ):
                self._reject(session, raw, f"no active subscription {data.subscription_id!r}", envelope)
                return Result("rejected")
        return Result("applied")

    def _reject(
        self, session: AsyncSession, raw: RawMessage, reason: str, envelope: CloudEvent | None
    ) -> None:
        reject(
            session,
            self.prefix,
            refused_by=NOTIFY_SOURCE,
            position=raw.position,
            original=raw.value,
            reason=reason,
            envelope=envelope,
            now=self.clock(),
        )

    async def handle(self, envelope: CloudEvent) -> Result:
        """Apply one event from the matches or canonical topic (exactly once, by its source + id)."""
        kind = _notable(envelope.type)
        if kind is None:
            return Result("ignored")  # most canonical events are matching's business, not ours
        async with self._sessions.begin() as session:
            if not await _claim(session, envelope):
                return Result("duplicate")
            unit = _Unit(self, session, envelope)
            if kind == "reminder":
                await unit.on_match(MatchUpdated.model_validate(envelope.data), reminder=True)
            elif kind == "match":
                await unit.on_match(MatchUpdated.model_validate(envelope.data))
            elif kind == "coverage":
                await unit.on_coverage(NeedCoverage.model_validate(envelope.data))
            else:
                await unit.on_expiring(ExpiryReminder.model_validate(envelope.data))
        if unit.created:
            self._on_commit()
        return Result("applied", unit.created)


_MATCH_TYPES = {f"org.drx.match.{status}" for status in MATCH_AUDIENCE}


def _notable(event_type: str) -> str | None:
    """What notify makes of an event type, or None when it concerns nobody notify tells."""
    if event_type in _MATCH_TYPES:
        return "match"
    return {
        "org.drx.match.reminder": "reminder",
        "org.drx.need.coverage": "coverage",
        "org.drx.need.expiring": "expiring",
        "org.drx.pledge.expiring": "expiring",
    }.get(event_type)


async def _claim(session: AsyncSession, envelope: CloudEvent) -> bool:
    """Record the event as applied by notify; False if it already was (a redelivery)."""
    return await inbox.claim(session, CONSUMER, envelope.dedupe_key())


class _Unit:
    """The deliveries one event creates, inside its transaction."""

    def __init__(self, service: NotifyService, session: AsyncSession, envelope: CloudEvent) -> None:
        self.s = service
        self.session = session
        self.envelope = envelope
        self.now = service.clock()
        self.created = 0

    async def on_match(self, match: MatchUpdated, *, reminder: bool = False) -> None:
        audience = REMINDER_AUDIENCE if reminder else MATCH_AUDIENCE.get(match.status, frozenset())
        coordinators = SubscriptionRow.recipient_kind == "coordinator"
        rows = await self.session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.active,
                or_(
                    coordinators if "coordinator" in audience else false(),
                    and_(
                        SubscriptionRow.recipient_kind == "organisation",
                        SubscriptionRow.recipient_id == match.organisation_id,
                    ),
                    and_(
                        SubscriptionRow.recipient_kind == "donor",
                        SubscriptionRow.recipient_id == match.donor_id,
                    ),
                ),
            )
        )
        kind = "match.reminder" if reminder else f"match.{match.status}"
        payload = {"kind": kind, "match": to_jsonable_python(match)}
        for recipient in match_recipients(match, [view(r) for r in rows], audience):
            if reminder:
                message = render_reminder(match, self.s.public_url)
            else:
                message = render_match(match, recipient.subscription.recipient_kind, self.s.public_url)
            await self._deliver(
                recipient,
                kind=kind,
                subject_id=match.match_id,
                message=message,
                payload=payload,
                match_id=match.match_id,
                need_id=match.need_id,
            )

    async def on_coverage(self, coverage: NeedCoverage) -> None:
        """When a need is filled, everyone alerted about it (and its organisation) hears so."""
        if not coverage.filled:
            return
        alerted = select(DeliveryRow.subscription_id).where(
            DeliveryRow.need_id == coverage.need_id, DeliveryRow.kind.like("match.%")
        )
        rows = await self.session.scalars(
            select(SubscriptionRow)
            .where(
                SubscriptionRow.active,
                or_(
                    SubscriptionRow.subscription_id.in_(alerted),
                    and_(
                        SubscriptionRow.recipient_kind == "organisation",
                        SubscriptionRow.recipient_id == coverage.organisation_id,
                    ),
                ),
            )
            .order_by(SubscriptionRow.subscription_id)
        )
        chosen: dict[tuple[str, str], Recipient] = {}
        for row in rows:
            chosen.setdefault((row.recipient_id, row.channel), Recipient(view(row)))
        message = render_filled(coverage, self.s.public_url)
        payload = {"kind": "need.filled", "coverage": to_jsonable_python(coverage)}
        for recipient in chosen.values():
            await self._deliver(
                recipient,
                kind="need.filled",
                subject_id=coverage.need_id,
                message=message,
                payload=payload,
                match_id=None,
                need_id=coverage.need_id,
            )

    async def on_expiring(self, reminder: ExpiryReminder) -> None:
        """The owner of a need or pledge about to lapse hears it, on each of its channels."""
        rows = await self.session.scalars(
            select(SubscriptionRow).where(
                SubscriptionRow.active,
                SubscriptionRow.recipient_kind == reminder.owner_kind,
                SubscriptionRow.recipient_id == reminder.owner_id,
            )
        )
        message = render_expiring(reminder, self.s.public_url)
        kind = f"{reminder.entity_type}.expiring"
        payload = {"kind": kind, "reminder": to_jsonable_python(reminder)}
        for recipient in owner_recipients(reminder.owner_kind, reminder.owner_id, [view(r) for r in rows]):
            await self._deliver(
                recipient,
                kind=kind,
                subject_id=f"{reminder.entity_id}:{reminder.expires_on.isoformat()}",
                message=message,
                payload=payload,
                match_id=None,
                need_id=reminder.entity_id if reminder.entity_type == "need" else None,
            )

    async def _deliver(
        self,
        recipient: Recipient,
        *,
        kind: str,
        subject_id: str,
        message: Message,
        payload: dict[str, Any],
        match_id: str | None,
        need_id: str | None,
    ) -> None:
        sub = recipient.subscription
        if sub.channel == "kafka":
            status = "sent"
        elif recipient.held_for_digest:
            status = "held"
        else:
            status = "pending"
        values: dict[str, Any] = {
            "delivery_id": delivery_id(sub.recipient_id, sub.channel, kind, subject_id),
            "subscription_id": sub.subscription_id,
            "recipient_id": sub.recipient_id,
            "recipient_kind": sub.recipient_kind,
            "channel": sub.channel,
            "address": sub.address,
            "key_id": sub.key_id,
            "kind": kind,
            "subject_id": subject_id,
            "match_id": match_id,
            "need_id": need_id,
            "subject": message[0],
            "text": message[1],
            "payload": payload,
            "status": status,
            "next_attempt_at": self.now,
            "created_at": self.now,
            "sent_at": self.now if status == "sent" else None,
            # Kept for the audit records the delivery loop writes when it sends or gives up.
            "causing_event_id": self.envelope.id,
            "correlation_id": self.envelope.correlationid or self.envelope.id,
        }
        created = await self.session.scalar(
            insert(DeliveryRow).values(**values).on_conflict_do_nothing().returning(DeliveryRow.delivery_id)
        )
        if created is None:
            return  # this recipient already has this alert
        self.created += 1
        audit.record(
            self.session,
            self.s.prefix,
            audit.AuditEntry(
                actor="drx:notify",
                action=f"notification.{status}",
                entity_type="notification",
                entity_id=values["delivery_id"],
                after={
                    k: values[k]
                    for k in ("recipient_id", "channel", "kind", "subject_id", "status", "subject")
                },
                causing_event_id=values["causing_event_id"],
                correlation_id=values["correlation_id"],
            ),
            at=self.now,
        )
        if status == "sent":
            enqueue_sent(self.session, self.s.prefix, values, self.now)


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
