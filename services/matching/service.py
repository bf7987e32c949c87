"""Matching's orchestration: one transaction per canonical event, matches out through the outbox."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.domain import LiveMatch, NeedStatus, SkillTree, allocate, need_status, trim
from services.matching.mapping import match_keys, need_row, need_view, pledge_row, pledge_view
from services.matching.repository import CONSUMER, MatchingRepository
from shared import audit, inbox
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.events import canonical
from shared.events.envelope import CloudEvent, new_event
from shared.events.outbound import MatchContext, MatchUpdated, NeedContext, NeedCoverage
from shared.events.registry import EVENT_TYPES
from shared.intake.parsing import SourcePosition
from shared.kafka.topics import MATCHES, topic_name
from shared.logging import get_logger
from shared.outbox import enqueue
from shared.reference import SupplyCatalogue
from shared.rejection import reject
from shared.scheduling import job_cause

__all__ = ["MATCHING_SOURCE", "Canonical", "MatchingService", "Result"]

MATCHING_SOURCE = "urn:drx:service:matching"
log = get_logger("drx.matching")
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
_ATTEMPTS = 5
PAGE = 100  # candidates loaded, locked and ranked at a time
_ENTITY_TYPES = {"org.drx.need.recorded", "org.drx.pledge.recorded"}
_DECISION_TYPE = "org.drx.decision.recorded"

# decision -> (allowed from, to)
_TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "confirm": (("proposed",), "confirmed"),
    "reject": (("proposed",), "rejected"),
    "fulfilled": (("confirmed",), "fulfilled"),
    "cancel": (("proposed", "confirmed"), "cancelled"),
}


@dataclass(frozen=True, slots=True)
class Canonical:
    """One canonical event as matching receives it: ``today`` is its day, ``position`` its Kafka place."""

    envelope: CloudEvent
    today: dt.date
    position: SourcePosition

    @property
    def type(self) -> str:  # what the metrics count it as
        return self.envelope.type


@dataclass(frozen=True, slots=True)
class Result:
    outcome: str
    proposals: int = 0
    detail: str = ""


class MatchingService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        catalogue: SupplyCatalogue,
        skills: SkillTree,
        topic_prefix: str,
        *,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self.catalogue = catalogue
        self.skills = skills
        self.prefix = topic_prefix
        self._on_commit = on_commit or (lambda: None)

    async def handle(self, envelope: CloudEvent, today: dt.date, *, position: SourcePosition) -> Result:
        return await self._transact(envelope, today, position, _Unit.run)

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
                    await repo.lock_keys(await self._keys_of(repo, events))
                    results = []
                    for event in events:
                        unit = _Unit(self, session, event.envelope, event.today, event.position)
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

    async def _keys_of(self, repo: MatchingRepository, events: list[Canonical]) -> list[str]:
        """The match keys ``events`` will lock: from a need's or pledge's spec, or a decided match's rows.

        A key missed here (a malformed event, a match proposed earlier in the same batch) is
        still locked by the event itself, later; the worst that costs is a deadlock, retried.
        """
        keys: list[str] = []
        for event in events:
            data = event.envelope.data if isinstance(event.envelope.data, dict) else {}
            if event.envelope.type in _ENTITY_TYPES and isinstance(data.get("spec"), dict):
                with contextlib.suppress(Exception):  # the event itself will say what is wrong
                    keys += match_keys(data["spec"], self.catalogue)
            elif event.envelope.type == _DECISION_TYPE and isinstance(data.get("match_id"), str):
                found = await repo.match_keys_of(data["match_id"])
                keys += found[2] if found is not None else []
        return keys

    async def _transact(
        self,
        envelope: CloudEvent,
        today: dt.date,
        position: SourcePosition | None,
        work: Callable[[_Unit], Awaitable[Result]],
    ) -> Result:
        """Run ``work`` in one transaction, again on a deadlock or serialization failure."""
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                async with self._sessions.begin() as session:
                    result = await work(_Unit(self, session, envelope, today, position))
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

        async def remind(unit: _Unit) -> Result:
            for match in await unit.repo.proposals_to_remind(now - after):
                need = await unit.repo.need(match.need_id, lock=False)
                pledge = await unit.repo.pledge(match.pledge_id, lock=False)
                assert need is not None
                assert pledge is not None
                match.reminded_at = now
                unit.remind(match, need, pledge)
            return Result("applied", unit.reminders)

        return (await self._transact(cause, now.date(), None, remind)).proposals

    async def expire_proposals(self, now: dt.datetime, ttl: dt.timedelta) -> int:
        """Proposals undecided for ``ttl`` expire: capacity goes back and both sides are tried again."""
        cause = job_cause(SCHEDULER_SOURCE, "expire-proposals", now)
        expired = 0
        for match_id in await self._read(lambda repo: repo.proposals_older_than(now - ttl)):

            async def expire(unit: _Unit, match_id: str = match_id) -> Result:
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

            async def retry(unit: _Unit, pledge_id: str = pledge_id) -> Result:
                return await unit.retry_pledge(pledge_id)

            found += (await self._transact(cause, today, None, retry)).proposals
        if found:
            log.error("re-matching sweep found matches the event path missed", proposals=found)
        return found

    async def _read(self, query: Callable[[MatchingRepository], Awaitable[list[str]]]) -> list[str]:
        async with self._sessions() as session:
            return await query(MatchingRepository(session))


class _Unit:
    """The work of one event inside one transaction."""

    def __init__(
        self,
        service: MatchingService,
        session: AsyncSession,
        envelope: CloudEvent,
        today: dt.date,
        position: SourcePosition | None,
    ) -> None:
        self.s = service
        self.session = session
        self.repo = MatchingRepository(session)
        self.envelope = envelope
        self.today = today
        self.position = position
        self.proposals = 0
        self.reminders = 0
        self.actor = "drx:matching"  # a decision's source when a coordinator decided
        # Each need whose ledger this event touches, with its coverage before the first change.
        self._coverage_before: dict[str, tuple[tuple[NeedStatus, bool] | None, MatchingNeedRow]] = {}

    # --- scheduled work ---------------------------------------------------------------------

    def remind(self, match: MatchRow, need: MatchingNeedRow, pledge: MatchingPledgeRow) -> None:
        data = self._match_data(match, need, pledge)
        self._publish(
            "org.drx.match.reminder",
            data,
            subject=match.match_id,
            event_id=f"reminder:{match.match_id}",
            key=match.need_id,
            time=self.envelope.time,
        )
        self.reminders += 1

    async def expire(self, match_id: str, created_before: dt.datetime) -> Result:
        found = await self.repo.match_keys_of(match_id)
        if found is None:
            return Result("unchanged")
        need_id, pledge_id, keys = found
        await self.repo.lock_keys(keys)
        pledge, need = await self.repo.pledge(pledge_id), await self.repo.need(need_id)
        match = await self.repo.match(match_id)
        assert need is not None
        assert pledge is not None
        assert match is not None
        if match.status != "proposed" or match.created_at >= created_before:
            return Result("unchanged")  # decided meanwhile
        self.actor = self.envelope.source
        await self._release(match, "expired", "no decision before the proposal expired", need, pledge)
        await self._propose_for_need(need)
        await self._propose_for_pledge(pledge)
        self._emit_coverage()
        return Result("applied", self.proposals)

    async def retry_pledge(self, pledge_id: str) -> Result:
        unlocked = await self.repo.pledge(pledge_id, lock=False)
        if unlocked is None:
            return Result("unchanged")
        await self.repo.lock_keys(unlocked.match_keys)
        pledge = await self.repo.pledge(pledge_id)
        assert pledge is not None
        self.actor = self.envelope.source
        await self._propose_for_pledge(pledge)
        self._emit_coverage()
        return Result("applied" if self.proposals else "unchanged", self.proposals)

    async def run(self) -> Result:
        if not await inbox.claim(self.session, CONSUMER, self.envelope.dedupe_key()):
            return Result("duplicate")
        spec = EVENT_TYPES.get(self.envelope.type)
        if spec is None or spec.direction != "canonical":
            return Result("ignored", detail=self.envelope.type)
        try:
            data = spec.model.model_validate(self.envelope.data)
        except ValidationError as error:
            self._reject(f"invalid {self.envelope.type} data: {error.error_count()} errors")
            return Result("rejected")
        match data:
            case canonical.CrisisRecorded():
                await self.repo.upsert_crisis(data.crisis_id, data.status, data.revision)
            case canonical.NeedRecorded():
                await self._on_need(self.envelope.data)
            case canonical.PledgeRecorded():
                await self._on_pledge(self.envelope.data)
            case canonical.DecisionRecorded():
                result = await self._on_decision(data)
                self._emit_coverage()
                return result
        self._emit_coverage()
        return Result("applied", self.proposals)

    # --- needs and pledges -----------------------------------------------------------------------

    async def _on_need(self, state: dict[str, Any]) -> None:
        await self.repo.lock_keys(match_keys(state["spec"], self.s.catalogue))
        values = need_row(state, self.s.catalogue)
        freed = await self._fit_need(values)
        if not await self.repo.upsert_need(values):
            return  # stale revision
        need = await self.repo.need(state["need_id"])
        assert need is not None
        for freed_pledge in freed:  # capacity a smaller need gave back
            await self._propose_for_pledge(freed_pledge)
        if need.status == "open":
            await self._propose_for_need(need)
            return
        self._watch(need, changed=True)
        # Withdrawn: everything live is released. Closed with its crisis, or expired: only proposals.
        statuses = ("proposed", "confirmed") if need.status == "withdrawn" else ("proposed",)
        reason = f"need {need.status}"
        for match in await self.repo.live_matches(need_id=need.need_id, statuses=statuses):
            pledge = await self.repo.pledge(match.pledge_id)
            assert pledge is not None
            await self._release(match, "cancelled", reason, need, pledge)
            await self._propose_for_pledge(pledge)

    async def _on_pledge(self, state: dict[str, Any]) -> None:
        await self.repo.lock_keys(match_keys(state["spec"], self.s.catalogue))
        values = pledge_row(state, self.s.catalogue)
        short = await self._fit_pledge(values)
        if not await self.repo.upsert_pledge(values):
            return
        pledge = await self.repo.pledge(state["pledge_id"])
        assert pledge is not None
        for short_need in short:  # demand a smaller pledge gave back
            await self._propose_for_need(short_need)
        if pledge.status == "active":
            await self._propose_for_pledge(pledge)
            return
        # Withdrawn: everything live is released. Expired: only proposals; confirmed help still comes.
        statuses = ("proposed", "confirmed") if pledge.status == "withdrawn" else ("proposed",)
        for match in await self.repo.live_matches(pledge_id=pledge.pledge_id, statuses=statuses):
            need = await self.repo.need(match.need_id)
            assert need is not None
            await self._release(match, "cancelled", f"pledge {pledge.status}", need, pledge)
            await self._propose_for_need(need)

    # --- a need or pledge revised to less than it holds -----------------------------------------

    async def _fit_need(self, values: dict[str, Any]) -> list[MatchingPledgeRow]:
        """Make room for a newer revision of a need smaller than what it already holds.

        Live matches give back the excess (:func:`trim`: proposals first, newest first). What
        was delivered cannot be given back: the stored quantity never goes below it. Returns
        the pledges that got capacity back, to be tried again.
        """
        need = await self.repo.need(values["need_id"])
        if need is None or need.revision >= values["revision"]:
            return []
        if values["status"] != "open":  # withdrawn, closed or expired: that path releases matches
            values["quantity"] = max(values["quantity"], need.proposed + need.confirmed + need.fulfilled)
            return []
        cuts = await self._trim(values, need.proposed + need.confirmed + need.fulfilled, need_id=need.need_id)
        pledges = []
        for match, give_back, reason in cuts:
            pledge = await self.repo.pledge(match.pledge_id)
            assert pledge is not None
            await self._give_back(match, give_back, reason, need, pledge)
            pledges.append(pledge)
        self._keep_delivered(values, need.proposed + need.confirmed + need.fulfilled)
        return pledges

    async def _fit_pledge(self, values: dict[str, Any]) -> list[MatchingNeedRow]:
        """The same for a pledge: returns the needs that got demand back."""
        pledge = await self.repo.pledge(values["pledge_id"])
        if pledge is None or pledge.revision >= values["revision"]:
            return []
        if values["status"] != "active":  # withdrawn or expired: that path releases matches
            values["quantity"] = max(values["quantity"], pledge.allocated)
            return []
        needs = []
        cuts = await self._trim(values, pledge.allocated, pledge_id=pledge.pledge_id)
        for match, give_back, reason in cuts:
            need = await self.repo.need(match.need_id)
            assert need is not None
            await self._give_back(match, give_back, reason, need, pledge)
            needs.append(need)
        self._keep_delivered(values, pledge.allocated)
        return needs

    async def _trim(
        self,
        values: dict[str, Any],
        held: Decimal,
        *,
        need_id: str | None = None,
        pledge_id: str | None = None,
    ) -> list[tuple[MatchRow, Decimal, str]]:
        excess = held - values["quantity"]
        if excess <= 0:
            return []
        live = {m.match_id: m for m in await self.repo.live_matches(need_id=need_id, pledge_id=pledge_id)}
        views = [LiveMatch(m.match_id, m.status, m.quantity, m.created_at) for m in live.values()]
        kind = "need" if need_id is not None else "pledge"
        reason = f"{kind} reduced to {values['quantity']:f} {values['unit']}"
        return [(live[cut.match_id], give_back, reason) for cut, give_back in trim(views, excess)]

    @staticmethod
    def _keep_delivered(values: dict[str, Any], held: Decimal) -> None:
        if held > values["quantity"]:
            log.warning(
                "revised below what was already delivered; keeping the delivered quantity",
                entity=values.get("need_id") or values.get("pledge_id"),
                revised=str(values["quantity"]),
                kept=str(held),
            )
            values["quantity"] = held

    async def _give_back(
        self,
        match: MatchRow,
        quantity: Decimal,
        reason: str,
        need: MatchingNeedRow,
        pledge: MatchingPledgeRow,
    ) -> None:
        """``match`` gives back ``quantity``: all of it (cancelled), or part (the match shrinks)."""
        if quantity >= match.quantity:
            match.trimmed = True  # not a decline: the pair may meet again (repository.declined)
            await self._release(match, "cancelled", reason, need, pledge)
            return
        column = "proposed" if match.status == "proposed" else "confirmed"
        was = match.quantity
        match.quantity, match.reason, match.revision = was - quantity, reason, match.revision + 1
        await self.session.flush()
        await self._shift(need, pledge, **{column: -quantity}, allocated=-quantity)
        self._emit(match, need, pledge, before=match.status, quantity_before=was)

    async def _propose_for_need(self, need: MatchingNeedRow) -> None:
        """Offer ``need`` the pledges that may serve it, best first, until it is covered.

        Funds pledges come in pages of :data:`PAGE` in their ranking order (all funds share one
        match key, so there may be very many); supplies and skills come all at once (their keys
        are narrow, and their ranking needs Python: substitutes, distance).
        """
        if need.status != "open" or need.needed_by < self.today:
            return
        if not await self.repo.crisis_active(need.crisis_id):
            return
        paged = need.category == "funds"
        tried: set[str] = set()
        while need.proposed + need.confirmed + need.fulfilled < need.quantity:
            page = await self.repo.pledges_for(need, self.today, limit=PAGE if paged else None, skip=tried)
            pledges = {p.pledge_id: p for p in page}
            proposals = allocate(
                [need_view(need)], [pledge_view(p) for p in pledges.values()], self.today, self.s.skills
            )
            for proposal in proposals:
                await self._propose(
                    need, pledges[proposal.pledge_id], proposal.quantity, proposal.explanation
                )
            tried.update(pledges)
            if not paged or len(page) < PAGE:
                return

    async def _propose_for_pledge(self, pledge: MatchingPledgeRow) -> None:
        """Offer ``pledge`` to the needs it may serve, in need order, until its capacity is used.

        Needs come in pages of :data:`PAGE`, ranked by PostgreSQL (``repository.needs_for``):
        the cost of one pledge does not grow with the number of open needs. Within a page the
        ranking is :func:`domain.rank_needs`'s exactly; a later page (rare: the first did not
        use the pledge up) counts the organisations' turns again among the needs left.
        """
        if pledge.status != "active" or pledge.expires_on < self.today:
            return
        tried: set[str] = set()
        while pledge.allocated < pledge.quantity:
            page = await self.repo.needs_for(pledge, self.today, limit=PAGE, skip=tried)
            needs = {n.need_id: n for n in page}
            proposals = allocate(
                [need_view(n) for n in needs.values()], [pledge_view(pledge)], self.today, self.s.skills
            )
            for proposal in proposals:
                await self._propose(needs[proposal.need_id], pledge, proposal.quantity, proposal.explanation)
            tried.update(needs)
            if len(page) < PAGE:
                return

    async def _propose(
        self, need: MatchingNeedRow, pledge: MatchingPledgeRow, quantity: Decimal, explanation: str
    ) -> None:
        match = MatchRow(
            match_id=f"m-{uuid.uuid4().hex[:16]}",
            need_id=need.need_id,
            pledge_id=pledge.pledge_id,
            crisis_id=need.crisis_id,
            quantity=quantity,
            unit=need.unit,
            status="proposed",
            explanation=explanation,
            revision=1,
        )
        self.session.add(match)
        await self.session.flush()
        await self._shift(need, pledge, proposed=quantity, allocated=quantity)  # CHECKs judge here
        self._emit(match, need, pledge, before=None)
        self.proposals += 1

    async def _release(
        self, match: MatchRow, status: str, reason: str, need: MatchingNeedRow, pledge: MatchingPledgeRow
    ) -> None:
        before = match.status
        column = "proposed" if before == "proposed" else "confirmed"
        match.status, match.reason, match.revision = status, reason, match.revision + 1
        await self.session.flush()
        await self._shift(need, pledge, **{column: -match.quantity}, allocated=-match.quantity)
        self._emit(match, need, pledge, before=before)

    async def _shift(self, need: MatchingNeedRow, pledge: MatchingPledgeRow, **moves: Decimal) -> None:
        self._watch(need)
        await self.repo.shift(need, pledge, **moves)

    def _watch(self, need: MatchingNeedRow, *, changed: bool = False) -> None:
        """Remember ``need``'s coverage before this event changes it (``changed``: it already did)."""
        if need.need_id not in self._coverage_before:
            self._coverage_before[need.need_id] = (None if changed else _coverage(need), need)

    # --- decisions -------------------------------------------------------------------------------

    async def _on_decision(self, decision: canonical.DecisionRecorded) -> Result:
        found = await self.repo.match_keys_of(decision.match_id)
        if found is None:
            self._reject(f"unknown match {decision.match_id!r}")
            return Result("rejected")
        need_id, pledge_id, keys = found
        await self.repo.lock_keys(keys)
        pledge = await self.repo.pledge(pledge_id)
        need = await self.repo.need(need_id)
        match = await self.repo.match(decision.match_id)
        assert need is not None
        assert pledge is not None
        assert match is not None
        allowed, target = _TRANSITIONS[decision.decision]
        if match.status not in allowed:
            self._reject(f"match {match.match_id!r} is {match.status}; it cannot be {decision.decision}ed")
            return Result("rejected")
        reason = decision.reason or f"{decision.decision} by {decision.decided_by}"
        self.actor = decision.source
        before = match.status
        if decision.decision == "confirm":
            match.status, match.reason, match.revision = target, reason, match.revision + 1
            await self.session.flush()
            await self._shift(need, pledge, proposed=-match.quantity, confirmed=match.quantity)
            self._emit(match, need, pledge, before=before)
        elif decision.decision == "fulfilled":
            delivered = min(decision.fulfilled_quantity or match.quantity, match.quantity)
            match.status, match.reason, match.revision = target, reason, match.revision + 1
            await self.session.flush()
            await self._shift(
                need,
                pledge,
                confirmed=-match.quantity,
                fulfilled=delivered,
                allocated=delivered - match.quantity,
            )
            self._emit(match, need, pledge, before=before)
            if delivered < match.quantity:  # the shortfall is demand again, the rest capacity again
                await self._propose_for_need(need)
                await self._propose_for_pledge(pledge)
        else:  # reject or cancel: capacity comes back, and both sides are tried again
            await self._release(match, target, reason, need, pledge)
            await self._propose_for_need(need)
            await self._propose_for_pledge(pledge)
        return Result("applied", self.proposals)

    # --- output ----------------------------------------------------------------------------------

    def _emit(
        self,
        match: MatchRow,
        need: MatchingNeedRow,
        pledge: MatchingPledgeRow,
        *,
        before: str | None,
        quantity_before: Decimal | None = None,
    ) -> None:
        """Publish the match's new state (outbox) and write its audit record, in this transaction."""
        data = self._match_data(match, need, pledge)
        self._publish(
            f"org.drx.match.{match.status}",
            data,
            subject=match.match_id,
            event_id=f"{match.match_id}:r{match.revision}",
            key=match.need_id,
        )
        entry = audit.AuditEntry(
            actor=self.actor,
            action=f"match.{match.status}",
            entity_type="match",
            entity_id=match.match_id,
            before=_before(before, quantity_before),
            after=data.model_dump(mode="json", exclude={"context"}),
            causing_event_id=self.envelope.id,
            correlation_id=self.envelope.correlationid or self.envelope.id,
        )
        audit.record(self.session, self.s.prefix, entry)

    def _publish(
        self,
        event_type: str,
        data: BaseModel,
        *,
        subject: str,
        event_id: str,
        key: str,
        time: dt.datetime | None = None,
    ) -> None:
        """Queue one event for the matches topic in this transaction, correlated with the cause."""
        event = new_event(
            event_type,
            MATCHING_SOURCE,
            data,
            subject=subject,
            time=time or dt.datetime.now(dt.UTC),
            event_id=event_id,
            correlation_id=self.envelope.correlationid or self.envelope.id,
        )
        enqueue(self.session, topic_name(self.s.prefix, MATCHES), event, key=key)

    @staticmethod
    def _match_data(match: MatchRow, need: MatchingNeedRow, pledge: MatchingPledgeRow) -> MatchUpdated:
        return MatchUpdated(
            match_id=match.match_id,
            need_id=match.need_id,
            pledge_id=match.pledge_id,
            crisis_id=match.crisis_id,
            category=need.category,
            quantity=match.quantity,
            unit=match.unit,
            status=match.status,
            explanation=match.explanation,
            organisation_id=need.organisation_id,
            donor_id=pledge.donor_id,
            reason=match.reason,
            revision=match.revision,
            context=MatchContext(
                **_need_context(need).model_dump(),
                pledge_title=pledge.state["title"],
                donor_name=pledge.state["donor"]["name"],
            ),
        )

    def _emit_coverage(self) -> None:
        """One ``org.drx.need.coverage`` per need whose coverage status changed in this event."""
        for before, need in self._coverage_before.values():
            status, filled = _coverage(need)
            if (status, filled) == before:
                continue
            data = NeedCoverage(
                need_id=need.need_id,
                crisis_id=need.crisis_id,
                organisation_id=need.organisation_id,
                category=need.category,
                status=status,
                filled=filled,
                quantity=need.quantity,
                proposed=need.proposed,
                confirmed=need.confirmed,
                fulfilled=need.fulfilled,
                unit=need.unit,
                context=_need_context(need),
            )
            self._publish(
                "org.drx.need.coverage",
                data,
                subject=need.need_id,
                event_id=f"coverage:{need.need_id}:{uuid.uuid4().hex[:12]}",
                key=need.need_id,
            )

    def _reject(self, reason: str) -> None:
        assert self.position is not None, "only an event read from Kafka is rejected"
        reject(
            self.session,
            self.s.prefix,
            refused_by=MATCHING_SOURCE,
            position=self.position,
            original=self.envelope.model_dump_json(exclude_none=True).encode(),
            reason=reason,
            envelope=self.envelope,
            now=dt.datetime.now(dt.UTC),
            event_id=f"rejected:matching:{self.envelope.dedupe_key()}",
        )


SCHEDULER_SOURCE = "urn:drx:service:matching:scheduler"


def _conflict(error: DBAPIError) -> str | None:
    """The SQLSTATE of a deadlock or serialization failure (worth trying again), else None."""
    code = getattr(error.orig, "sqlstate", None)
    return code if code in _RETRYABLE_SQLSTATES else None


def _before(status: str | None, quantity: Decimal | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {"status": status} if quantity is None else {"status": status, "quantity": quantity}


def _coverage(need: MatchingNeedRow) -> tuple[NeedStatus, bool]:
    status = need_status(need.status, need.quantity, need.proposed, need.confirmed, need.fulfilled)
    return status, need.confirmed + need.fulfilled >= need.quantity


def _need_context(need: MatchingNeedRow) -> NeedContext:
    state, place = need.state, need.state["place"]
    return NeedContext(
        need_title=state["title"],
        organisation_name=state["organisation"]["name"],
        sector=need.sector,
        urgency=need.urgency,
        needed_by=need.needed_by,
        country=need.country,
        admin_area=place.get("admin_area"),
        place_name=place.get("name"),
    )
