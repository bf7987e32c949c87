"""Notify's consuming side: match and coverage events become delivery rows, in one transaction.

Nothing is sent here. Each event is turned into one delivery row per recipient (the primary key
makes a second row for the same recipient, channel, kind and subject impossible), together with
its audit record and the inbox claim, and committed before the Kafka offset. Sending is the
delivery loop's job (``delivery.py``), so a slow or dead endpoint never holds a partition.

This is the orchestration: the SQL is in ``repository.py``, the rules (who hears, who may manage
a subscription) in ``domain.py``, the delivery rows, events and audit records in ``outputs.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify.domain import (
    MATCH_AUDIENCE,
    REMINDER_AUDIENCE,
    Bounds,
    Network,
    Party,
    Recipient,
    authorise,
    match_recipients,
    owner_recipients,
)
from services.notify.outputs import NOTIFY_SOURCE, audit_planned, enqueue_sent, planned_delivery
from services.notify.repository import NotifyRepository
from services.notify.sealing import Keyring
from services.notify.subscriptions import remove_subscription, set_subscription
from services.notify.targets import check_webhook
from services.notify.templates import (
    Message,
    render_expiring,
    render_filled,
    render_match,
    render_reminder,
)
from services.notify.webhook_secrets import NO_KEY
from shared import inbox
from shared.events.envelope import CloudEvent
from shared.events.inbound import SubscriptionRemoved, SubscriptionSet
from shared.events.outbound import ExpiryReminder, MatchUpdated, NeedCoverage
from shared.failures import RecordGuard
from shared.intake.parsing import RawMessage, Rejected, SourcePosition, parse
from shared.logging import get_logger
from shared.redact import redact_original
from shared.rejection import refuse, reject
from shared.scheduling import Clock

__all__ = ["CONSUMER", "NotifyService", "Result"]

CONSUMER = "notify"
log = get_logger("drx.notify")


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    deliveries: int = 0


class NotifyService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        topic_prefix: str,
        *,
        public_url: str | None = None,
        clock: Clock = lambda: dt.datetime.now(dt.UTC),
        on_commit: Callable[[], None] | None = None,
        attempts: int = 3,
        webhook_allow: tuple[Network, ...] = (),
        keyring: Keyring | None = None,
    ) -> None:
        self._sessions = sessions
        self.prefix = topic_prefix
        self.public_url = public_url
        self.clock = clock
        self._on_commit = on_commit or (lambda: None)
        self._guard = RecordGuard(attempts)
        self._allow = webhook_allow  # DRX_NOTIFY_WEBHOOK_ALLOW_NETWORKS: internal networks webhooks may reach
        self._keyring = keyring  # DRX_NOTIFY_SECRETS_KEY: seals each webhook subscription's secret

    async def handle_subscription(self, raw: RawMessage) -> Result:
        """Apply one ``intake.subscriptions`` record, or reject it with the reason.

        A record that fails to apply is refused too, with the failure as its reason: at once
        when the record causes it, after ``attempts`` tries when nobody foresaw it
        (``shared/failures.py``); a transient failure is raised, and the record read again.
        """
        try:
            result = await self._handle_subscription(raw)
        except Exception as error:
            if (reason := self._guard.refusal(raw.inbox_key, error)) is None:
                raise
            log.exception(
                "subscription record refused after it failed", position=str(raw.position), reason=reason
            )
            refused = await self._refuse(raw.position, raw.value, reason, claim=raw.inbox_key)
            return Result("rejected" if refused else "duplicate")
        self._guard.succeeded(raw.inbox_key)
        return result

    async def _handle_subscription(self, raw: RawMessage) -> Result:
        parsed = parse(raw)
        reason: str | None
        async with self._sessions.begin() as session:
            if isinstance(parsed, Rejected):
                if not await inbox.claim(session, CONSUMER, raw.inbox_key):
                    return Result("duplicate")  # this very record was refused already
                reason, envelope = parsed.reason, parsed.envelope
            else:
                envelope = parsed.envelope
                if not await _claim(session, envelope):
                    return Result("duplicate")
                reason = await self._apply_subscription(session, envelope, parsed.data)
            if reason is None:
                return Result("applied")
            reject(
                session,
                self.prefix,
                refused_by=NOTIFY_SOURCE,
                position=raw.position,
                original=raw.value,
                reason=reason,
                envelope=envelope,
                now=self.clock(),
                shown=redact_original(raw.value),  # the rejected topic keeps no contacts
            )
        return Result("rejected")

    async def _apply_subscription(
        self, session: AsyncSession, envelope: CloudEvent, data: BaseModel
    ) -> str | None:
        """Set or remove the subscription if the source may; otherwise why not."""
        repo = NotifyRepository(session)
        assert isinstance(data, SubscriptionSet | SubscriptionRemoved)
        subscription_id = data.subscription_id
        wanted = Party(data.recipient_kind, data.recipient_id) if isinstance(data, SubscriptionSet) else None
        bounds = Bounds(data.crisis_id, data.country) if isinstance(data, SubscriptionSet) else None
        held = await repo.held_subscription(subscription_id)
        registered = await repo.registered_source(envelope.source)
        if refused := authorise(envelope.source, registered, wanted=wanted, held=held, wanted_bounds=bounds):
            return refused
        if isinstance(data, SubscriptionSet):
            if data.channel == "webhook" and (refused := await check_webhook(data.address, self._allow)):
                return refused
            if data.channel == "webhook" and self._keyring is None:
                return NO_KEY
            await set_subscription(
                session,
                self.prefix,
                data,
                actor=envelope.source,
                keyring=self._keyring,
                now=self.clock(),
                causing_event_id=envelope.id,
            )
        elif not await remove_subscription(
            session, self.prefix, subscription_id, actor=envelope.source, causing_event_id=envelope.id
        ):
            return f"no active subscription {subscription_id!r}"
        return None

    @staticmethod
    def concerns(event_type: str) -> bool:
        """Whether notify acts on events of this type (the rest of canonical it ignores)."""
        return _notable(event_type) is not None

    async def handle(self, envelope: CloudEvent, *, position: SourcePosition | None = None) -> Result:
        """Apply one event from the matches or canonical topic (exactly once, by its source + id).

        An event read at ``position`` that fails to apply is parked on the rejected topic, as
        :meth:`handle_subscription` refuses a record, so notify's other events go on.
        """
        if position is None:
            return await self._handle(envelope)
        key = f"kafka {position}"
        try:
            result = await self._handle(envelope)
        except Exception as error:
            if (reason := self._guard.refusal(key, error)) is None:
                raise
            log.exception("event parked after it failed", position=str(position), reason=reason)
            original = envelope.model_dump_json(exclude_none=True).encode()
            refused = await self._refuse(
                position, original, reason, claim=envelope.dedupe_key(), envelope=envelope
            )
            return Result("rejected" if refused else "duplicate")
        self._guard.succeeded(key)
        return result

    async def refuse_unreadable(self, position: SourcePosition, body: bytes, reason: str) -> Result:
        """Park a record on the matches or canonical topic that is no CloudEvent at all."""
        refused = await self._refuse(position, body, reason, claim=f"kafka {position}")
        return Result("rejected" if refused else "duplicate")

    async def _refuse(
        self,
        position: SourcePosition,
        original: bytes,
        reason: str,
        *,
        claim: str,
        envelope: CloudEvent | None = None,
    ) -> bool:
        refused = await refuse(
            self._sessions,
            CONSUMER,
            self.prefix,
            claim=claim,
            refused_by=NOTIFY_SOURCE,
            position=position,
            original=original,
            reason=reason,
            envelope=envelope,
            event_id=f"rejected:notify:{position}",
            shown=redact_original(original),  # the rejected topic keeps no contacts
        )
        if refused:
            self._on_commit()
        return refused

    async def _handle(self, envelope: CloudEvent) -> Result:
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
        self.repo = NotifyRepository(session)
        self.envelope = envelope
        self.now = service.clock()
        self.created = 0

    async def on_match(self, match: MatchUpdated, *, reminder: bool = False) -> None:
        audience = REMINDER_AUDIENCE if reminder else MATCH_AUDIENCE.get(match.status, frozenset())
        subscriptions = await self.repo.match_subscriptions(match, audience)
        kind = "match.reminder" if reminder else f"match.{match.status}"
        payload = {"kind": kind, "match": to_jsonable_python(match)}
        for recipient in match_recipients(match, subscriptions, audience):
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
        chosen: dict[tuple[str, str], Recipient] = {}
        for sub in await self.repo.coverage_subscriptions(coverage):
            chosen.setdefault((sub.recipient_id, sub.channel), Recipient(sub))
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
        subscriptions = await self.repo.party_subscriptions(reminder.owner_kind, reminder.owner_id)
        message = render_expiring(reminder, self.s.public_url)
        kind = f"{reminder.entity_type}.expiring"
        payload = {"kind": kind, "reminder": to_jsonable_python(reminder)}
        for recipient in owner_recipients(reminder.owner_kind, reminder.owner_id, subscriptions):
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
        """Plan one delivery with its audit record; a Kafka one is sent at once, through the outbox."""
        values = planned_delivery(
            recipient,
            kind=kind,
            subject_id=subject_id,
            message=message,
            payload=payload,
            match_id=match_id,
            need_id=need_id,
            cause=self.envelope,
            now=self.now,
        )
        if not await self.repo.add_delivery(values):
            return  # this recipient already has this alert
        self.created += 1
        audit_planned(self.session, self.s.prefix, values, self.now)
        if values["status"] == "sent":
            enqueue_sent(self.session, self.s.prefix, values, self.now)
