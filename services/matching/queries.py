"""Read models for people: matches and coverage (``drx matches``, ``drx coverage``)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.domain import need_status
from services.matching.domain.coverage import CoverageLine, NeedLine, PledgeLine, coverage_lines
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow

__all__ = ["CoverageLine", "coverage", "list_matches"]


async def list_matches(
    session: AsyncSession, *, crisis_id: str | None = None, status: str | None = None, limit: int = 200
) -> list[MatchRow]:
    query = select(MatchRow).order_by(MatchRow.created_at.desc(), MatchRow.match_id).limit(limit)
    if crisis_id:
        query = query.where(MatchRow.crisis_id == crisis_id)
    if status:
        query = query.where(MatchRow.status == status)
    return list(await session.scalars(query))


async def coverage(session: AsyncSession, *, crisis_id: str | None = None) -> list[CoverageLine]:
    """Needed, proposed, covered and available per crisis, sector, category and unit, with a total
    row per crisis, category and unit that counts each pledge once (the rule is in
    ``domain/coverage.py`` and docs/matching.md)."""
    query = select(MatchingNeedRow).where(MatchingNeedRow.status != "withdrawn")
    if crisis_id:
        query = query.where(MatchingNeedRow.crisis_id == crisis_id)
    needs = [
        NeedLine(
            crisis_id=n.crisis_id,
            sector=n.sector,
            category=n.category,
            unit=n.unit,
            country=n.country,
            item_code=n.item_code,
            substitution_group=n.substitution_group,
            quantity=n.quantity,
            proposed=n.proposed,
            confirmed=n.confirmed,
            fulfilled=n.fulfilled,
            status=need_status(n.status, n.quantity, n.proposed, n.confirmed, n.fulfilled),
        )
        for n in await session.scalars(query)
    ]
    active = select(MatchingPledgeRow).where(MatchingPledgeRow.status == "active")
    pledges = [
        PledgeLine(
            pledge_id=p.pledge_id,
            crisis_id=p.crisis_id,
            category=p.category,
            unit=p.unit,
            item_code=p.item_code,
            substitution_group=p.substitution_group,
            quantity=p.quantity,
            allocated=p.allocated,
            earmark_crises=tuple(p.earmark_crises),
            earmark_sectors=tuple(p.earmark_sectors),
            earmark_countries=tuple(p.earmark_countries),
        )
        for p in await session.scalars(active)
    ]
    return coverage_lines(needs, pledges)
