"""Matching's transactions: one per canonical event or batch, retried on conflicts; scheduled jobs.

What one event does inside its transaction is ``unit.py``'s; what it tells others,
``outputs.py``'s; the rules, ``domain/``'s. Here: transactions, retries, batches and the
order in which a batch takes its match-key locks, and the scheduled jobs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.domain import SkillTree
from services.matching.mapping import match_keys
from services.matching.outputs import MATCHING_SOURCE
from services.matching.repository import CONSUMER, MatchingRepository
from services.matching.unit import Context, Result, Unit
from shared import inbox
from shared.events import canonical
from shared.events.envelope import CloudEvent
from shared.events.producers import MATCHING_SCHEDULER_SOURCE as SCHEDULER_SOURCE
from shared.events.registry import EVENT_TYPES
from shared.failures import RecordGuard
from shared.intake.parsing import SourcePosition
from shared.logging import get_logger
from shared.reference import SupplyCatalogue
from shared.rejection import refuse
from shared.scheduling import job_cause

__all__ = ["MATCHING_SOURCE", "SCHEDULER_SOURCE", "Canonical", "MatchingService", "Result", "read"]

log = get_logger("drx.matching")
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Canonical:
    """One canonical event as matching receives it: ``today`` is its day, ``position`` its Kafka place."""

    envelope: CloudEvent
    today: dt.date
    position: SourcePosition

    @property
    def type(self) -> str:  # what the metrics count it as
        return self.envelope.type


class MatchingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalogue: SupplyCatalogue,
        skills: SkillTree,
        topic_prefix: str,
        *,
        on_commit: Callable[[], None] | None = None,
        attempts: int = 3,
    ) -> None:
        self._sessions = sessions
        self._context = Context(catalogue, skills, topic_prefix)
        self._on_commit = on_commit or (lambda: None)
        self._guard = RecordGuard(attempts)

    async def handle(self, envelope: CloudEvent, today: dt.date, *, position: SourcePosition) -> Result:
        """Apply one canonical event in its own transaction; an event that fails it is parked.

        Parked means refused onto the rejected topic with the reason, so the events behind it
        go on: at once for a failure the event causes (a quantity overflowing its column), after
        ``attempts`` tries for one nobody foresaw (``shared/failures.py``). A transient failure
        (the database is away) is raised, and the event is read again after a backoff.
        """
        key = f"kafka {position}"
        try:
            result = await self._transact(envelope, today, position, Unit.run)
        except Exception as error:
            if (reason := self._guard.refusal(key, error)) is None:
                raise
            log.exception("canonical event parked after it failed", position=str(position), reason=reason)
            return await self._transact(envelope, today, position, _park(reason))
        self._guard.succeeded(key)
        return result

    async def refuse_unreadable(self, position: SourcePosition, body: bytes, reason: str) -> Result:
        """Park a canonical record that is no CloudEvent at all, so its partition moves on."""
        refused = await refuse(
            self._sessions,
            CONSUMER,
            self._context.prefix,
            claim=f"kafka {position}",
            refused_by=MATCHING_SOURCE,
            position=position,
            original=body,
            reason=reason,
            event_id=f"rejected:matching:{position}",
        )
        if not refused:
            return Result("duplicate")
        self._on_commit()
        return Result("rejected", detail=reason)

    async def handle_batch(self, events: list[Canonical]) -> list[Result]:
        """Apply canonical events in order in one transaction: one commit, one audit-chain turn.

        First the batch takes the advisory locks of every match key its events will touch, in
        sorted order, so two workers' batches wait for each other instead of deadlocking; each
        event then runs exactly as :meth:`handle` would run it, seeing what the earlier ones
        wrote. A deadlock or serialization failure retries the batch. Any other failure rolls
        it back and its events are applied one per transaction instead, so a poison event
        holds up only itself and the events before it are kept.
        """
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._sessions.begin() as session:
                    repo = MatchingRepository(session)
                    data = [read(event.envelope) for event in events]
                    await repo.lock_keys(await self._keys_of(repo, data))
                    results = []
                    for event, datum in zip(events, data, strict=True):
                        unit = Unit(
                            self._context, session, event.envelope, event.today, event.position, data=datum
                        )
                        results.append(await unit.run())
                        await session.flush()
                        session.expunge_all()  # the next event loads what this one left, afresh
            except DBAPIError as error:
                if (code := _conflict(error)) and attempt < _ATTEMPTS:
                    log.warning("matching batch conflicted; retrying", sqlstate=code, attempt=attempt)
                    continue
                log.warning("batch failed; applying its events one by one", events=len(events), exc_info=True)
                break
            except Exception:
                log.warning("batch failed; applying its events one by one", events=len(events), exc_info=True)
                break
            if any(r.outcome not in ("duplicate", "unchanged") for r in results):
                self._on_commit()
            return results
        return [await self.handle(e.envelope, e.today, position=e.position) for e in events]

    async def _keys_of(
        self, repo: MatchingRepository, data: list[BaseModel | ValidationError | None]
    ) -> list[str]:
        """The match keys events will lock: from a need's or pledge's spec, or a decided match's rows.

        A key missed here (a match proposed earlier in the same batch) is still locked by the
        event itself, later; the worst that costs is a deadlock, retried. An invalid event
        locks nothing: it is refused before it would.
        """
        keys: list[str] = []
        for datum in data:
            match datum:
                case canonical.NeedRecorded() | canonical.PledgeRecorded():
                    keys += match_keys(datum.spec, self._context.catalogue)
                case canonical.DecisionRecorded():
                    found = await repo.match_keys_of(datum.match_id)
                    keys += found[2] if found is not None else []
        return keys

    async def _transact(
        self,
        envelope: CloudEvent,
        today: dt.date,
        position: SourcePosition | None,
        work: Callable[[Unit], Awaitable[Result]],
    ) -> Result:
        """Run ``work`` in one transaction, again on a deadlock or serialization failure."""
        data = read(envelope)
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._sessions.begin() as session:
                    result = await work(Unit(self._context, session, envelope, today, position, data=data))
            except DBAPIError as error:
                if (code := _conflict(error)) and attempt < _ATTEMPTS:
                    log.warning("matching transaction conflicted; retrying", sqlstate=code, attempt=attempt)
                    continue
                raise
            if result.outcome not in ("duplicate", "unchanged"):
                self._on_commit()
            return result
        raise AssertionError("unreachable")  # pragma: no cover

    # --- scheduled jobs (docs/scheduling.md) ----------------------------------------------------

    async def remind_proposals(self, now: dt.datetime, after: dt.timedelta) -> int:
        """Remind coordinators, once, of proposals undecided for ``after``."""
        cause = job_cause(SCHEDULER_SOURCE, "remind-proposals", now)

        async def remind(unit: Unit) -> Result:
            matches = await unit.repo.proposals_to_remind(now - after)
            for match in matches:
                need = await unit.repo.need(match.need_id, lock=False)
                pledge = await unit.repo.pledge(match.pledge_id, lock=False)
                assert need is not None
                assert pledge is not None
                match.reminded_at = now
                unit.out.reminder(match, need, pledge)
            return Result("applied", len(matches))

        return (await self._transact(cause, now.date(), None, remind)).proposals

    async def expire_proposals(self, now: dt.datetime, ttl: dt.timedelta) -> int:
        """Proposals undecided for ``ttl`` expire: capacity goes back and both sides are tried again."""
        cause = job_cause(SCHEDULER_SOURCE, "expire-proposals", now)
        expired = 0
        for match_id in await self._read(lambda repo: repo.proposals_older_than(now - ttl)):

            async def expire(unit: Unit, match_id: str = match_id) -> Result:
                return await unit.expire(match_id, now - ttl)

            result = await self._transact(cause, now.date(), None, expire)
            expired += result.outcome == "applied"
        return expired

    async def sweep(self, now: dt.datetime) -> int:
        """Try every pledge with free capacity that shares a match key with unmet demand.

        The event path should have matched everything already; what this finds is counted and
        logged as an error, because it means an event was missed or a rule is inconsistent.
        """
        cause = job_cause(SCHEDULER_SOURCE, "rematch-sweep", now)
        today = now.date()
        found = 0
        for pledge_id in await self._read(lambda repo: repo.pledges_with_unmet_demand(today)):

            async def retry(unit: Unit, pledge_id: str = pledge_id) -> Result:
                return await unit.retry_pledge(pledge_id)

            found += (await self._transact(cause, today, None, retry)).proposals
        if found:
            log.error("re-matching sweep found matches the event path missed", proposals=found)
        return found

    async def _read(self, query: Callable[[MatchingRepository], Awaitable[list[str]]]) -> list[str]:
        async with self._sessions() as session:
            return await query(MatchingRepository(session))


def read(envelope: CloudEvent) -> BaseModel | ValidationError | None:
    """The event's data as its canonical contract model, validated once on arrival.

    The validation error when the data is invalid (the unit refuses the event); None when the
    type is no canonical event (the unit ignores it).
    """
    spec = EVENT_TYPES.get(envelope.type)
    if spec is None or spec.direction != "canonical":
        return None
    try:
        return spec.model.model_validate(envelope.data)
    except ValidationError as error:
        return error


def _park(reason: str) -> Callable[[Unit], Awaitable[Result]]:
    """The work that refuses the unit's event with ``reason``, once (its inbox claim)."""

    async def park(unit: Unit) -> Result:
        if not await inbox.claim(unit.session, CONSUMER, unit.envelope.dedupe_key()):
            return Result("duplicate")
        assert unit.position is not None
        unit.out.rejection(unit.position, reason)
        return Result("rejected", detail=reason)

    return park


def _conflict(error: DBAPIError) -> str | None:
    """The SQLSTATE of a deadlock or serialization failure (worth trying again), else None."""
    code = getattr(error.orig, "sqlstate", None)
    return code if code in _RETRYABLE_SQLSTATES else None
