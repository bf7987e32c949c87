"""Ingest's orchestration: parse → load → decide → save + outbox, in one transaction per message.

The Kafka offset is committed by FastStream only after :meth:`IngestService.handle` returns, that
is after this transaction committed. A crash before the commit redelivers the message; the inbox
claim makes the second delivery a no-op if the first one's transaction had committed.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.ingest import domain
from services.ingest.errors import RetryableConflictError
from services.ingest.repository import CONSUMER, EntityKind, IngestRepository
from shared import audit, inbox
from shared.db.models import FxRateRow
from shared.events import canonical, inbound
from shared.events.envelope import CloudEvent, new_event
from shared.events.producers import INGEST_SCHEDULER_SOURCE as SCHEDULER_SOURCE
from shared.events.producers import INGEST_SOURCE
from shared.failures import RecordGuard
from shared.intake.parsing import Parsed, RawMessage, Rejected, parse
from shared.kafka.timestamps import arrival
from shared.kafka.topics import CANONICAL, topic_name
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.rejection import refuse, reject
from shared.scheduling import job_cause

__all__ = ["INGEST_SOURCE", "SCHEDULER_SOURCE", "IngestService", "Result"]

log = get_logger("drx.ingest")

_ATTEMPTS = 3
_RATES_EVERY_S = 60.0

_RECORDED_TYPES: dict[type[BaseModel], tuple[str, str]] = {
    canonical.CrisisRecorded: ("org.drx.crisis.recorded", "crisis_id"),
    canonical.NeedRecorded: ("org.drx.need.recorded", "need_id"),
    canonical.PledgeRecorded: ("org.drx.pledge.recorded", "pledge_id"),
    canonical.DecisionRecorded: ("org.drx.decision.recorded", "match_id"),
}


@dataclass(frozen=True, slots=True)
class Result:
    """What happened to one message, for the log line and the tests."""

    outcome: Literal["accepted", "stale", "rejected", "duplicate"]
    detail: str = ""


class IngestService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        reference: domain.Reference,
        topic_prefix: str,
        *,
        on_commit: Callable[[], None] | None = None,
        attempts: int = 3,
    ) -> None:
        self._sessions = sessions
        self._packaged = reference
        self._reference = reference
        self._rates_read_at: float | None = None
        self._prefix = topic_prefix
        self._on_commit = on_commit or (lambda: None)
        self._guard = RecordGuard(attempts)

    async def handle(self, raw: RawMessage) -> Result:
        """Apply one record in its own transaction; a record that fails it is refused.

        A failure the record causes (``shared/failures.py``) refuses it at once; one nobody
        foresaw, after ``attempts`` tries; a transient one (the database is away) is raised, and
        the record is read again after a backoff.
        """
        await self._fresh_rates()
        try:
            result = await self._handle(raw)
        except Exception as error:
            if (reason := self._guard.refusal(raw.inbox_key, error)) is None:
                raise
            log.exception("record refused after it failed", position=str(raw.position), reason=reason)
            return await self._refuse(raw, reason)
        self._guard.succeeded(raw.inbox_key)
        return result

    async def _fresh_rates(self) -> None:
        """Convert funds with the rates ``drx reference rates load`` stored, when there are any.

        Read at most once a minute per worker: a file loaded now is used within a minute, and
        the packaged snapshot stays for days and currencies no file covered.
        """
        now = time.monotonic()
        if self._rates_read_at is not None and now - self._rates_read_at < _RATES_EVERY_S:
            return
        async with self._sessions() as session:
            query = select(FxRateRow.day, FxRateRow.currency, FxRateRow.units_per_usd)
            loaded = [(day, currency, rate) for day, currency, rate in await session.execute(query)]
        self._rates_read_at = now
        if loaded:
            self._reference = replace(self._packaged, fx=self._packaged.fx.merged(loaded))

    async def _handle(self, raw: RawMessage) -> Result:
        parsed = parse(raw)
        now = _arrival(raw)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._sessions.begin() as session:
                    result = await self._apply(IngestRepository(session), session, raw, parsed, now)
            except RetryableConflictError:
                if attempt == _ATTEMPTS:
                    raise
                continue
            if result.outcome in {"accepted", "rejected"}:
                self._on_commit()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refuse(self, raw: RawMessage, reason: str) -> Result:
        """Refuse a record that failed: its own inbox claim, the rejected event and audit record."""
        try:
            parsed = parse(raw)
        except Exception:  # noqa: BLE001 - the record failed already; refuse it without its envelope
            envelope = None
        else:
            envelope = parsed.envelope
        refused = await refuse(
            self._sessions,
            CONSUMER,
            self._prefix,
            claim=raw.inbox_key,
            refused_by=INGEST_SOURCE,
            position=raw.position,
            original=raw.value,
            reason=reason,
            envelope=envelope,
        )
        if not refused:
            return Result("duplicate", raw.inbox_key)
        self._on_commit()
        return Result("rejected", reason)

    async def handle_batch(self, raws: list[RawMessage]) -> list[Result]:
        """Apply records in offset order in one transaction: one commit, one audit-chain turn.

        The outcome of each record is what :meth:`handle` would give it alone: the rules run per
        record in order, and a later record sees what an earlier one wrote. If anything fails
        (a conflict with another ingest worker, a database error, a bug), the batch's
        transaction rolls back and its records are applied one by one instead, so a poison
        record holds up only itself (and only until it is refused) and the others are kept.
        """
        await self._fresh_rates()
        try:
            parsed = [(raw, parse(raw)) for raw in raws]
            async with self._sessions.begin() as session:
                repo = IngestRepository(session)
                results = [
                    await self._apply(repo, session, raw, outcome, _arrival(raw)) for raw, outcome in parsed
                ]
        except Exception:  # noqa: BLE001 - every failure means "one by one", where it is handled
            log.warning("batch failed; applying its records one by one", records=len(raws))
            return [await self.handle(raw) for raw in raws]
        if any(r.outcome in {"accepted", "rejected"} for r in results):
            self._on_commit()
        return results

    async def _apply(
        self,
        repo: IngestRepository,
        session: AsyncSession,
        raw: RawMessage,
        parsed: Parsed | Rejected,
        now: dt.datetime,
    ) -> Result:
        """One record: the inbox claim, the rules, then the accepted change or the one refusal."""
        if isinstance(parsed, Rejected):
            reason, envelope = parsed.reason, parsed.envelope
        else:
            envelope = parsed.envelope
            if not await inbox.claim(session, CONSUMER, envelope.dedupe_key()):
                return Result("duplicate", envelope.dedupe_key())
            stored, outcome = await self._decide(repo, parsed, now)
            if isinstance(outcome, domain.Stale):
                return Result("stale", outcome.reason)
            if isinstance(outcome, domain.Accept):
                await self._accept(repo, session, outcome, stored=stored, envelope=envelope, now=now)
                return Result("accepted", envelope.type)
            reason = outcome.reason
            await inbox.release(session, CONSUMER, envelope.dedupe_key())  # it may come again, fixed
        # Refused: claim this very record, which may have been refused already.
        if not await inbox.claim(session, CONSUMER, raw.inbox_key):
            return Result("duplicate", raw.inbox_key)
        reject(
            session,
            self._prefix,
            refused_by=INGEST_SOURCE,
            position=raw.position,
            original=raw.value,
            reason=reason,
            envelope=envelope,
            now=now,
        )
        return Result("rejected", reason)

    async def _decide(
        self, repo: IngestRepository, parsed: Parsed, now: dt.datetime
    ) -> tuple[domain.Stored | None, domain.Outcome]:
        """Load what the event touches (the I/O), then ask the pure rules; also the stored entity."""
        envelope, data = parsed.envelope, parsed.data
        kind, entity_id = _entity_of(data)
        stored = await repo.load(kind, entity_id) if kind is not None and entity_id is not None else None
        crisis_id = getattr(data, "crisis_id", None) if kind != "crisis" else None
        crisis = await repo.load("crisis", crisis_id, lock=False) if crisis_id else None
        earmarked = data.earmarks.crises if isinstance(data, inbound.PledgePosted) else ()
        source = await repo.source(envelope.source)
        earmarked_crises = await repo.crises(earmarked)
        try:
            outcome = domain.decide(
                envelope.type,
                data,
                envelope.source,
                source=source,
                stored=stored,
                crisis=crisis,
                earmarked_crises=earmarked_crises,
                today=now.date(),
                ref=self._reference,
            )
        except Exception as error:  # a bug in the pure rules must not stall the partition
            log.exception("ingest rules failed on an event; rejecting it for replay after a fix")
            outcome = domain.Reject(
                f"internal error while applying this event ({type(error).__name__}); "
                "operators can replay it from the rejected topic once fixed"
            )
        return stored, outcome

    async def _accept(
        self,
        repo: IngestRepository,
        session: AsyncSession,
        accepted: domain.Accept,
        *,
        stored: domain.Stored | None,
        envelope: CloudEvent,
        now: dt.datetime,
    ) -> None:
        """Save, publish and audit the accepted records, and close a closed crisis's open needs."""
        before = stored.state if stored is not None else None
        for record in accepted.records:
            if not isinstance(record, canonical.DecisionRecorded):
                await repo.save(record, expect_new=stored is None)
            self._publish(session, record, envelope, now)
            self._audit(session, record, before, envelope)
        if accepted.close_needs_of is not None:
            open_needs = {
                state["need_id"]: state for state in await repo.open_needs_of(accepted.close_needs_of)
            }
            for need in domain.close_needs(list(open_needs.values())):
                await repo.save(need, expect_new=False)
                self._publish(session, need, envelope, now)
                self._audit(session, need, open_needs[need.need_id], envelope)

    # --- scheduled jobs ------------------------------------------------------------------------

    async def expire_due(self, now: dt.datetime) -> int:
        """Needs past their needed-by date and pledges past their expiry date become ``expired``.

        Each is published like any change (matching releases its pending proposals) with an
        audit record whose actor is the scheduler. Returns how many expired.
        """
        cause = job_cause(SCHEDULER_SOURCE, "expire-needs-and-pledges", now)
        expired = 0
        async with self._sessions.begin() as session:
            repo = IngestRepository(session)
            for kind in ("need", "pledge"):
                for row in await repo.live_ending_by(kind, now.date() - dt.timedelta(days=1)):
                    record = domain.expire(row.state, now.date())
                    if record is None:
                        continue
                    await repo.save(record, expect_new=False)
                    self._publish(session, record, cause, now)
                    self._audit(session, record, row.state, cause)
                    expired += 1
        if expired:
            self._on_commit()
        return expired

    async def remind_expiring(self, now: dt.datetime, days_before: int) -> int:
        """Tell each owner once, ``days_before`` days ahead, that a need or pledge is about to lapse."""
        cause = job_cause(SCHEDULER_SOURCE, "remind-expiring", now)
        sent = 0
        async with self._sessions.begin() as session:
            repo = IngestRepository(session)
            for kind in ("need", "pledge"):
                for row in await repo.live_ending_by(kind, now.date() + dt.timedelta(days=days_before)):
                    reminder = domain.expiry_reminder(row.state, now.date(), days_before)
                    if reminder is None or row.reminded_at is not None:
                        continue
                    await repo.mark_reminded(row, now)
                    event = new_event(
                        f"org.drx.{kind}.expiring",
                        INGEST_SOURCE,
                        reminder,
                        subject=reminder.entity_id,
                        time=now,
                        event_id=f"expiring:{kind}:{reminder.entity_id}:{reminder.expires_on}",
                        correlation_id=cause.id,
                    )
                    enqueue(session, topic_name(self._prefix, CANONICAL), event, key=reminder.entity_id)
                    sent += 1
        if sent:
            self._on_commit()
        return sent

    def _publish(self, session: AsyncSession, record: BaseModel, cause: CloudEvent, now: dt.datetime) -> None:
        event_type, id_field = _RECORDED_TYPES[type(record)]
        entity_id = getattr(record, id_field)
        revision = getattr(record, "revision", None)
        event_id = (
            f"{event_type}:{entity_id}:r{revision}" if revision else f"{event_type}:{cause.dedupe_key()}"
        )
        event = new_event(
            event_type,
            INGEST_SOURCE,
            record,
            subject=entity_id,
            time=now,
            event_id=event_id,
            correlation_id=cause.correlationid or cause.id,
        )
        enqueue(session, topic_name(self._prefix, CANONICAL), event, key=entity_id)

    def _audit(
        self, session: AsyncSession, record: BaseModel, before: dict[str, Any] | None, cause: CloudEvent
    ) -> None:
        """The audit record of one accepted change, in this transaction (actor: the submitting source)."""
        entity_type, action = _audit_action(record, new=before is None)
        _, id_field = _RECORDED_TYPES[type(record)]
        audit.record(
            session,
            self._prefix,
            audit.AuditEntry(
                actor=cause.source,
                action=action,
                entity_type=entity_type,
                entity_id=getattr(record, id_field),
                before=before,
                after=record.model_dump(mode="json", exclude_none=True),
                causing_event_id=cause.id,
                correlation_id=cause.correlationid or cause.id,
            ),
        )


def _arrival(raw: RawMessage) -> dt.datetime:
    """When the record reached Kafka (the broker's clock on intake topics): dates are judged against it."""
    return arrival(raw.timestamp_ms, raw.position, log)


def _audit_action(record: BaseModel, *, new: bool) -> tuple[str, str]:
    """Entity type and audit action of an accepted record (e.g. ``need``, ``need.revised``)."""
    match record:
        case canonical.DecisionRecorded():
            return "match", "decision.recorded"
        case canonical.CrisisRecorded():
            kind, first = "crisis", "declared"
        case canonical.NeedRecorded():
            kind, first = "need", "accepted"
        case canonical.PledgeRecorded():
            kind, first = "pledge", "accepted"
        case _:  # pragma: no cover - _RECORDED_TYPES lists the same four
            raise TypeError(type(record).__name__)
    status = record.status
    if new:
        return kind, f"{kind}.{first}"
    return kind, f"{kind}.{status}" if status in {"closed", "withdrawn", "expired"} else f"{kind}.revised"


def _entity_of(data: BaseModel) -> tuple[EntityKind | None, str | None]:
    match data:
        case inbound.CrisisDeclared() | inbound.CrisisClosed():
            return "crisis", data.crisis_id
        case inbound.NeedPosted() | inbound.NeedWithdrawn():
            return "need", data.need_id
        case inbound.PledgePosted() | inbound.PledgeWithdrawn():
            return "pledge", data.pledge_id
    return None, None
