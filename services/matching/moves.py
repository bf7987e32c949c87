"""The moves every matching event makes, inside its transaction: lock, propose, release, give back.

A :class:`Moves` holds one transaction's repository and outputs. Each move keeps the repository's
lock order, shifts the ledgers with relative SQL (PostgreSQL's CHECKs refuse an overdraft), and
tells others through ``outputs``. Which move an event calls for is :class:`~services.matching.unit.Unit`'s;
what the rules allow is ``domain``'s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.domain import SkillTree, allocate, held_in
from services.matching.mapping import need_view, pledge_view
from services.matching.outputs import Outputs
from services.matching.repository import MatchingRepository
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow

__all__ = ["PAGE", "Moves"]

PAGE = 100  # candidates loaded, locked and ranked at a time


class Moves:
    """The ledger moves of one transaction; ``proposals`` counts the matches it proposed."""

    def __init__(
        self,
        session: AsyncSession,
        repo: MatchingRepository,
        out: Outputs,
        skills: SkillTree,
        today: dt.date,
    ) -> None:
        self.session = session
        self.repo = repo
        self.out = out
        self.skills = skills
        self.today = today
        self.proposals = 0

    async def lock_match(self, match_id: str) -> tuple[MatchRow, MatchingNeedRow, MatchingPledgeRow] | None:
        """Lock a match's keys, then its pledge, need and match rows (the repository's order)."""
        found = await self.repo.match_keys_of(match_id)
        if found is None:
            return None
        need_id, pledge_id, keys = found
        await self.repo.lock_keys(keys)
        pledge = await self.repo.pledge(pledge_id)
        need = await self.repo.need(need_id)
        match = await self.repo.match(match_id)
        assert need is not None
        assert pledge is not None
        assert match is not None
        return match, need, pledge

    async def move(self, match: MatchRow, status: str, reason: str) -> None:
        match.status, match.reason, match.revision = status, reason, match.revision + 1
        await self.session.flush()

    async def release(
        self, match: MatchRow, status: str, reason: str, need: MatchingNeedRow, pledge: MatchingPledgeRow
    ) -> None:
        """End a live match in ``status``: its quantity goes back to both sides."""
        before = match.status
        await self.move(match, status, reason)
        await self.shift(need, pledge, **{held_in(before): -match.quantity}, allocated=-match.quantity)
        self.out.match(match, need, pledge, before=before)

    async def shift(self, need: MatchingNeedRow, pledge: MatchingPledgeRow, **moves: Decimal) -> None:
        self.out.watch(need)
        await self.repo.shift(need, pledge, **moves)

    async def give_back(
        self,
        match: MatchRow,
        quantity: Decimal,
        reason: str,
        need: MatchingNeedRow,
        pledge: MatchingPledgeRow,
    ) -> None:
        """``match`` gives back ``quantity``: all of it (cancelled), or part (the match shrinks)."""
        if quantity >= match.quantity:
            match.trimmed = True  # not a decline: the pair may meet again (domain.declined)
            await self.release(match, "cancelled", reason, need, pledge)
            return
        was = match.quantity
        match.quantity, match.reason, match.revision = was - quantity, reason, match.revision + 1
        await self.session.flush()
        await self.shift(need, pledge, **{held_in(match.status): -quantity}, allocated=-quantity)
        self.out.match(match, need, pledge, before=match.status, quantity_before=was)

    async def propose_for_need(self, need: MatchingNeedRow) -> None:
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
            views = [pledge_view(p) for p in pledges.values()]
            for proposal in allocate([need_view(need)], views, self.today, self.skills):
                await self._propose(
                    need, pledges[proposal.pledge_id], proposal.quantity, proposal.explanation
                )
            tried.update(pledges)
            if not paged or len(page) < PAGE:
                return

    async def propose_for_pledge(self, pledge: MatchingPledgeRow) -> None:
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
            views = [need_view(n) for n in needs.values()]
            for proposal in allocate(views, [pledge_view(pledge)], self.today, self.skills):
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
        await self.shift(need, pledge, proposed=quantity, allocated=quantity)  # CHECKs judge here
        self.out.match(match, need, pledge, before=None)
        self.proposals += 1
