"""Read models for people: matches and coverage (``drx matches``, ``drx coverage``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.matching.domain import need_status
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow

__all__ = ["CoverageRow", "coverage", "list_matches"]


async def list_matches(
    session: AsyncSession, *, crisis_id: str | None = None, status: str | None = None, limit: int = 200
) -> list[MatchRow]:
    query = select(MatchRow).order_by(MatchRow.created_at.desc(), MatchRow.match_id).limit(limit)
    if crisis_id:
        query = query.where(MatchRow.crisis_id == crisis_id)
    if status:
        query = query.where(MatchRow.status == status)
    return list(await session.scalars(query))


@dataclass
class CoverageRow:
    """Per crisis, sector, category and unit."""

    crisis_id: str
    sector: str
    category: str
    unit: str
    needed: Decimal = Decimal(0)
    pledged: Decimal = Decimal(0)
    proposed: Decimal = Decimal(0)
    confirmed: Decimal = Decimal(0)
    fulfilled: Decimal = Decimal(0)
    needs_by_status: dict[str, int] = field(default_factory=dict)

    @property
    def covered(self) -> Decimal:
        """Confirmed plus fulfilled: a proposal nobody has decided on yet covers nothing."""
        return self.confirmed + self.fulfilled

    @property
    def shortfall(self) -> Decimal:
        """What is still missing once the covered is counted; proposals do not shrink it."""
        return max(self.needed - self.covered, Decimal(0))


async def coverage(session: AsyncSession, *, crisis_id: str | None = None) -> list[CoverageRow]:
    """Needed vs covered (confirmed plus fulfilled). ``pledged`` is active pledge capacity that
    may serve the row's needs: for the crisis or standing, in the category and unit, and not
    earmarked away from the sector.
    """
    query = select(MatchingNeedRow).where(MatchingNeedRow.status != "withdrawn")
    if crisis_id:
        query = query.where(MatchingNeedRow.crisis_id == crisis_id)
    rows: dict[tuple[str, str, str, str], CoverageRow] = {}
    counts: dict[tuple[str, str, str, str], dict[str, int]] = defaultdict(dict)
    for need in await session.scalars(query):
        key = (need.crisis_id, need.sector, need.category, need.unit)
        row = rows.setdefault(key, CoverageRow(*key))
        row.needed += need.quantity
        row.proposed += need.proposed
        row.confirmed += need.confirmed
        row.fulfilled += need.fulfilled
        label = need_status(need.status, need.quantity, need.proposed, need.confirmed, need.fulfilled)
        counts[key][label] = counts[key].get(label, 0) + 1
    pledges = list(
        await session.scalars(select(MatchingPledgeRow).where(MatchingPledgeRow.status == "active"))
    )
    for key, row in rows.items():
        row.needs_by_status = counts[key]
        for pledge in pledges:
            if (
                pledge.category == row.category
                and pledge.unit == row.unit
                and pledge.crisis_id in (None, row.crisis_id)
                and (not pledge.earmark_sectors or row.sector in pledge.earmark_sectors)
                and (not pledge.earmark_crises or row.crisis_id in pledge.earmark_crises)
            ):
                row.pledged += pledge.quantity
    return sorted(rows.values(), key=lambda r: (r.crisis_id, r.sector, r.category, r.unit))
