"""Invariants of allocation, checked from the database itself (matching, race and fault tests)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.matching.domain import Eligible, eligibility
from services.matching.mapping import need_view, pledge_view, skill_tree
from services.matching.repository import DECLINED
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.reference import load_skills


async def ledger_violations(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every allocation invariant, checked from the database itself."""
    problems = []
    async with sessions() as session, session.begin():
        # One snapshot for every read below, so a worker still at work cannot make the
        # ledgers and the matches look inconsistent.
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for need in await session.scalars(select(MatchingNeedRow)):
            live = await session.scalar(
                select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                    MatchRow.need_id == need.need_id, MatchRow.status.in_(("proposed", "confirmed"))
                )
            )
            if need.proposed + need.confirmed != live:
                problems.append(
                    f"need {need.need_id}: ledger {need.proposed}+{need.confirmed} != matches {live}"
                )
            if need.proposed + need.confirmed + need.fulfilled > need.quantity:
                problems.append(f"need {need.need_id} over-allocated")
        for pledge in await session.scalars(select(MatchingPledgeRow)):
            live = await session.scalar(
                select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                    MatchRow.pledge_id == pledge.pledge_id, MatchRow.status.in_(("proposed", "confirmed"))
                )
            )
            fulfilled = await session.scalar(
                select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(
                    MatchRow.pledge_id == pledge.pledge_id, MatchRow.status == "fulfilled"
                )
            )
            if pledge.allocated > pledge.quantity:
                problems.append(f"pledge {pledge.pledge_id} over-allocated")
            if pledge.allocated < live or pledge.allocated > live + fulfilled:
                history = [
                    (m.match_id, m.need_id, f"{m.quantity:f}", m.status, m.reason, m.revision)
                    for m in await session.scalars(
                        select(MatchRow).where(MatchRow.pledge_id == pledge.pledge_id)
                    )
                ]
                problems.append(
                    f"pledge {pledge.pledge_id} ({pledge.status} r{pledge.revision}):"
                    f" allocated {pledge.allocated} vs matches {live}: {history}"
                )
    return problems


async def unmatched_pairs(
    sessions: async_sessionmaker[AsyncSession], today: dt.date
) -> list[tuple[str, str]]:
    """Open needs and active pledges that could still be matched (and were never declined)."""
    tree = skill_tree(load_skills())
    async with sessions() as session:
        needs = [
            need_view(n)
            for n in await session.scalars(select(MatchingNeedRow).where(MatchingNeedRow.status == "open"))
        ]
        pledges = [
            pledge_view(p)
            for p in await session.scalars(
                select(MatchingPledgeRow).where(MatchingPledgeRow.status == "active")
            )
        ]
        declined = {
            (need_id, pledge_id)
            for need_id, pledge_id in await session.execute(
                select(MatchRow.need_id, MatchRow.pledge_id).where(MatchRow.status.in_(DECLINED))
            )
        }
    return [
        (n.need_id, p.pledge_id)
        for n in needs
        for p in pledges
        if (n.need_id, p.pledge_id) not in declined and isinstance(eligibility(n, p, today, tree), Eligible)
    ]
