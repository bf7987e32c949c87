"""One way to refuse an input: an ``org.drx.input.rejected`` event and its audit record, in one transaction.

Ingest (intake topics), notify (subscriptions) and matching (an event it cannot apply) all call
:func:`reject` in the transaction that would have applied the input, so the refusal commits
exactly once with the inbox claim, and the rejected topic says where the input was read and why.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared import audit, inbox
from shared.events.envelope import CloudEvent, new_event
from shared.intake.parsing import SourcePosition, cap_reason, input_rejected
from shared.kafka.topics import REJECTED, topic_name
from shared.outbox import enqueue
from shared.redact import scrub

__all__ = ["refuse", "reject"]


def reject(
    session: AsyncSession,
    topic_prefix: str,
    *,
    refused_by: str,
    position: SourcePosition,
    original: bytes,
    reason: str,
    envelope: CloudEvent | None,
    now: dt.datetime,
    event_id: str | None = None,
    shown: bytes | None = None,
) -> None:
    """Publish the refusal of the record at ``position`` (through the outbox) and audit it.

    ``refused_by`` is the refusing service's CloudEvents source; ``event_id`` defaults to
    ``rejected:<position>``, which makes a second refusal of the same record the same event.
    ``shown`` is what of the original may be kept when that is not all of it (notify passes a
    subscription record with its address redacted); the reason is scrubbed of URLs and email
    addresses in any case (``shared/redact.py``): the rejected topic and the audit keep no contacts.
    """
    correlation_id = (envelope.correlationid or envelope.id) if envelope else None
    reason = scrub(cap_reason(reason))
    event = new_event(
        "org.drx.input.rejected",
        refused_by,
        input_rejected(position, original, reason, envelope, shown=shown),
        subject=str(position),
        time=now,
        event_id=event_id or f"rejected:{position}",
        correlation_id=correlation_id,
    )
    enqueue(session, topic_name(topic_prefix, REJECTED), event, key=position.topic)
    audit.record(
        session,
        topic_prefix,
        audit.AuditEntry(
            actor=envelope.source if envelope else "unknown",
            action="input.rejected",
            entity_type="input",
            entity_id=str(position),
            after={"reason": reason},
            causing_event_id=envelope.id if envelope else None,
            correlation_id=correlation_id,
        ),
    )


async def refuse(
    sessions: async_sessionmaker[AsyncSession],
    consumer: str,
    topic_prefix: str,
    *,
    claim: str,
    refused_by: str,
    position: SourcePosition,
    original: bytes,
    reason: str,
    envelope: CloudEvent | None = None,
    event_id: str | None = None,
    shown: bytes | None = None,
) -> bool:
    """Refuse a record that failed, in a transaction of its own; False if it was refused already.

    For a record whose own transaction could not commit (``shared/failures.py``): ``claim``
    is the inbox key that makes a redelivery of it a duplicate.
    """
    async with sessions.begin() as session:
        if not await inbox.claim(session, consumer, claim):
            return False
        reject(
            session,
            topic_prefix,
            refused_by=refused_by,
            position=position,
            original=original,
            reason=reason,
            envelope=envelope,
            now=dt.datetime.now(dt.UTC),
            event_id=event_id,
            shown=shown,
        )
    return True
