"""Applying one canonical event (or one scheduled step) inside one transaction.

A :class:`Unit` is the choreography: what an event (a need, a pledge, a decision, a lapse) calls
for, what the rules say about it (``domain``), which rows to lock in which order
(``repository``). The moves themselves (lock a match, propose, release, give back, shift the
ledgers) are ``moves.py``'s; what to tell others is ``outputs.py``'s. Transactions, retries and
batches are the service's (``service.py``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.domain import (
    LiveMatch,
    SkillTree,
    decision_refusal,
    released_by,
    settle,
    transition,
    trim,
)
from services.matching.mapping import match_keys, need_row, pledge_row, quantity_and_unit
from services.matching.moves import PAGE, Moves
from services.matching.outputs import Outputs
from services.matching.repository import CONSUMER, MatchingRepository
from shared import inbox
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.events import canonical
from shared.events.envelope import CloudEvent
from shared.intake.parsing import SourcePosition
from shared.logging import get_logger
from shared.reference import SupplyCatalogue
from shared.scope import Scope

__all__ = ["PAGE", "Context", "Result", "Unit"]

log = get_logger("drx.matching")


@dataclass(frozen=True, slots=True)
class Context:
    """What every unit needs from its worker: the reference data, and the topics' prefix."""

    catalogue: SupplyCatalogue
    skills: SkillTree
    prefix: str


@dataclass(frozen=True, slots=True)
class Result:
    """What one event came to: applied, duplicate, ignored, rejected or unchanged, and its proposals."""

    outcome: str
    proposals: int = 0
    detail: str = ""


class Unit:
    """The work of one event inside one transaction.

    ``data`` is the event's data as its contract model (``service.read``): the validation
    error when it is invalid, None when it is no canonical event (or the unit a scheduled job's).
    """

    def __init__(
        self,
        context: Context,
        session: AsyncSession,
        envelope: CloudEvent,
        today: dt.date,
        position: SourcePosition | None,
        *,
        data: BaseModel | ValidationError | None = None,
    ) -> None:
        self.context = context
        self.session = session
        self.repo = MatchingRepository(session)
        self.envelope = envelope
        self.data = data
        self.today = today
        self.position = position
        self.out = Outputs(session, context.prefix, envelope)
        self.moves = Moves(session, self.repo, self.out, context.skills, today)

    async def run(self) -> Result:
        if not await inbox.claim(self.session, CONSUMER, self.envelope.dedupe_key()):
            return Result("duplicate")
        data = self.data
        if data is None:
            return Result("ignored", detail=self.envelope.type)
        if isinstance(data, ValidationError):
            self._reject(f"invalid {self.envelope.type} data: {data.error_count()} errors")
            return Result("rejected")
        match data:
            case canonical.CrisisRecorded():
                await self.repo.upsert_crisis(data.crisis_id, data.status, data.revision)
            case canonical.NeedRecorded():
                await self._on_need(data)
            case canonical.PledgeRecorded():
                await self._on_pledge(data)
            case canonical.DecisionRecorded():
                result = await self._on_decision(data)
                self.out.coverage()
                return result
        self.out.coverage()
        return Result("applied", self.moves.proposals)

    # --- scheduled work ---------------------------------------------------------------------

    async def expire(self, match_id: str, created_before: dt.datetime) -> Result:
        if (locked := await self.moves.lock_match(match_id)) is None:
            return Result("unchanged")
        match, need, pledge = locked
        target = transition("lapse", match.status)
        if target is None or match.created_at >= created_before:
            return Result("unchanged")  # decided meanwhile
        self.out.actor = self.envelope.source
        await self.moves.release(match, target, "no decision before the proposal expired", need, pledge)
        await self.moves.propose_for_need(need)
        await self.moves.propose_for_pledge(pledge)
        self.out.coverage()
        return Result("applied", self.moves.proposals)

    async def retry_pledge(self, pledge_id: str) -> Result:
        unlocked = await self.repo.pledge(pledge_id, lock=False)
        if unlocked is None:
            return Result("unchanged")
        await self.repo.lock_keys(unlocked.match_keys)
        pledge = await self.repo.pledge(pledge_id)
        assert pledge is not None
        self.out.actor = self.envelope.source
        await self.moves.propose_for_pledge(pledge)
        self.out.coverage()
        return Result("applied" if self.moves.proposals else "unchanged", self.moves.proposals)

    # --- needs and pledges -----------------------------------------------------------------------

    async def _on_need(self, recorded: canonical.NeedRecorded) -> None:
        await self.repo.lock_keys(match_keys(recorded.spec, self.context.catalogue))
        quantity, freed = await self._fit_need(recorded)
        if not await self.repo.upsert_need(need_row(recorded, self.context.catalogue, quantity=quantity)):
            return  # stale revision
        need = await self.repo.need(recorded.need_id)
        assert need is not None
        for freed_pledge in freed:  # capacity a smaller need gave back
            await self.moves.propose_for_pledge(freed_pledge)
        if need.status == "open":
            await self.moves.propose_for_need(need)
            return
        self.out.watch(need, changed=True)
        reason = f"need {need.status}"
        for match in await self.repo.live_matches(need_id=need.need_id, statuses=released_by(need.status)):
            pledge = await self.repo.pledge(match.pledge_id)
            assert pledge is not None
            await self.moves.release(match, "cancelled", reason, need, pledge)
            await self.moves.propose_for_pledge(pledge)

    async def _on_pledge(self, recorded: canonical.PledgeRecorded) -> None:
        await self.repo.lock_keys(match_keys(recorded.spec, self.context.catalogue))
        quantity, short = await self._fit_pledge(recorded)
        if not await self.repo.upsert_pledge(pledge_row(recorded, self.context.catalogue, quantity=quantity)):
            return
        pledge = await self.repo.pledge(recorded.pledge_id)
        assert pledge is not None
        for short_need in short:  # demand a smaller pledge gave back
            await self.moves.propose_for_need(short_need)
        if pledge.status == "active":
            await self.moves.propose_for_pledge(pledge)
            return
        reason = f"pledge {pledge.status}"
        for match in await self.repo.live_matches(
            pledge_id=pledge.pledge_id, statuses=released_by(pledge.status)
        ):
            need = await self.repo.need(match.need_id)
            assert need is not None
            await self.moves.release(match, "cancelled", reason, need, pledge)
            await self.moves.propose_for_need(need)

    # --- a need or pledge revised to less than it holds -----------------------------------------

    async def _fit_need(self, recorded: canonical.NeedRecorded) -> tuple[Decimal, list[MatchingPledgeRow]]:
        """Make room for a newer revision of a need smaller than what it already holds.

        Live matches give back the excess (:func:`trim`: proposals first, newest first). What
        was delivered cannot be given back: the stored quantity never goes below it. Returns
        the quantity to store, and the pledges that got capacity back, to be tried again.
        """
        quantity, unit = quantity_and_unit(recorded.spec)
        need = await self.repo.need(recorded.need_id)
        if need is None or need.revision >= recorded.revision:
            return quantity, []
        if recorded.status != "open":  # withdrawn, closed or expired: that path releases matches
            return max(quantity, _held_by_need(need)), []
        cuts = await self._trim(quantity, unit, _held_by_need(need), need_id=need.need_id)
        pledges = []
        for match, give_back, reason in cuts:
            pledge = await self.repo.pledge(match.pledge_id)
            assert pledge is not None
            await self.moves.give_back(match, give_back, reason, need, pledge)
            pledges.append(pledge)
        return _keep_delivered(need.need_id, quantity, _held_by_need(need)), pledges

    async def _fit_pledge(self, recorded: canonical.PledgeRecorded) -> tuple[Decimal, list[MatchingNeedRow]]:
        """The same for a pledge: returns the quantity to store and the needs that got demand back."""
        quantity, unit = quantity_and_unit(recorded.spec)
        pledge = await self.repo.pledge(recorded.pledge_id)
        if pledge is None or pledge.revision >= recorded.revision:
            return quantity, []
        if recorded.status != "active":  # withdrawn or expired: that path releases matches
            return max(quantity, pledge.allocated), []
        needs = []
        cuts = await self._trim(quantity, unit, pledge.allocated, pledge_id=pledge.pledge_id)
        for match, give_back, reason in cuts:
            need = await self.repo.need(match.need_id)
            assert need is not None
            await self.moves.give_back(match, give_back, reason, need, pledge)
            needs.append(need)
        return _keep_delivered(pledge.pledge_id, quantity, pledge.allocated), needs

    async def _trim(
        self,
        quantity: Decimal,
        unit: str,
        held: Decimal,
        *,
        need_id: str | None = None,
        pledge_id: str | None = None,
    ) -> list[tuple[MatchRow, Decimal, str]]:
        excess = held - quantity
        if excess <= 0:
            return []
        live = {m.match_id: m for m in await self.repo.live_matches(need_id=need_id, pledge_id=pledge_id)}
        views = [LiveMatch(m.match_id, m.status, m.quantity, m.created_at) for m in live.values()]
        kind = "need" if need_id is not None else "pledge"
        reason = f"{kind} reduced to {quantity:f} {unit}"
        return [(live[cut.match_id], give_back, reason) for cut, give_back in trim(views, excess)]

    # --- decisions -------------------------------------------------------------------------------

    async def _on_decision(self, decision: canonical.DecisionRecorded) -> Result:
        if (locked := await self.moves.lock_match(decision.match_id)) is None:
            self._reject(f"unknown match {decision.match_id!r}")
            return Result("rejected")
        match, need, pledge = locked
        scope = decision.scope
        refused = decision_refusal(
            decision.source,
            Scope.of(scope.crises, scope.countries, everything=scope.all),
            match_id=match.match_id,
            need_id=need.need_id,
            crisis_id=need.crisis_id,
            country=need.country,
        )
        if refused:
            self._reject(refused)
            return Result("rejected")
        target = transition(decision.decision, match.status)
        if target is None:
            self._reject(f"match {match.match_id!r} is {match.status}; it cannot be {decision.decision}ed")
            return Result("rejected")
        reason = decision.reason or f"{decision.decision} by {decision.decided_by}"
        self.out.actor = decision.source
        before = match.status
        if decision.decision == "confirm":
            await self.moves.move(match, target, reason)
            await self.moves.shift(need, pledge, proposed=-match.quantity, confirmed=match.quantity)
            self.out.match(match, need, pledge, before=before)
        elif decision.decision == "fulfilled":
            settlement = settle(match.quantity, decision.fulfilled_quantity)
            match.delivered_quantity = settlement.delivered
            await self.moves.move(match, target, reason)
            await self.moves.shift(need, pledge, **settlement.ledger_moves())
            self.out.match(match, need, pledge, before=before)
            if settlement.shortfall:  # the shortfall is demand again, and capacity again
                await self.moves.propose_for_need(need)
                await self.moves.propose_for_pledge(pledge)
        else:  # reject or cancel: capacity comes back, and both sides are tried again
            await self.moves.release(match, target, reason, need, pledge)
            await self.moves.propose_for_need(need)
            await self.moves.propose_for_pledge(pledge)
        return Result("applied", self.moves.proposals)

    def _reject(self, reason: str) -> None:
        assert self.position is not None, "only an event read from Kafka is rejected"
        self.out.rejection(self.position, reason)


def _held_by_need(need: MatchingNeedRow) -> Decimal:
    return need.proposed + need.confirmed + need.fulfilled


def _keep_delivered(entity_id: str, revised: Decimal, held: Decimal) -> Decimal:
    """The quantity to store: the revised one, unless more than that is held (delivered)."""
    if held > revised:
        log.warning(
            "revised below what was already delivered; keeping the delivered quantity",
            entity=entity_id,
            revised=str(revised),
            kept=str(held),
        )
        return held
    return revised
