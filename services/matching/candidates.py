"""Matching's candidate queries: which pledges could serve a need, which needs a pledge, in SQL.

The rules are decided in ``services/matching/domain/``; these queries restate the ones that need
no Python (dates, crisis, earmarks, capacity, declined pairs), using the domain's constants, so
PostgreSQL loads and locks only a page of likely candidates; the page is judged again by
``domain.eligibility``. ``tests/integration/matching/test_declined.py`` checks :func:`declined`
against ``domain.declined``. :class:`~services.matching.repository.MatchingRepository` inherits
these queries; they run inside the caller's transaction and follow its lock order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any, TypeVar

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Select,
    String,
    and_,
    any_,
    case,
    func,
    literal,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.matching.domain import DECLINED, URGENCY_RANK
from shared.db.models import MatchingCrisisRow, MatchingNeedRow, MatchingPledgeRow, MatchRow

__all__ = ["CandidateQueries", "declined", "locked"]


_Query = TypeVar("_Query", bound=Select[Any])


def declined() -> ColumnElement[bool]:
    """:func:`domain.declined` in SQL, for the candidate queries (a test checks the two agree)."""
    return and_(MatchRow.status.in_(DECLINED), MatchRow.trimmed.is_(False))


def _not_declined(need_id: Any, pledge_id: Any) -> Any:
    """No match of this (need, pledge) pair ended declined (one side is a value, one a column)."""
    ended = select(MatchRow.match_id).where(
        MatchRow.need_id == need_id, MatchRow.pledge_id == pledge_id, declined()
    )
    return ~ended.exists()


def _need_candidates(pledge: MatchingPledgeRow, today: dt.date, skip: Collection[str]) -> list[Any]:
    """Open needs with demand left that ``pledge`` could serve, as far as SQL can tell (the
    query must join ``m_crises`` for the crisis's status)."""
    return [
        MatchingNeedRow.status == "open",
        MatchingNeedRow.match_keys.overlap(pledge.match_keys),
        MatchingNeedRow.category == pledge.category,
        MatchingNeedRow.unit == pledge.unit,
        MatchingNeedRow.proposed + MatchingNeedRow.confirmed + MatchingNeedRow.fulfilled
        < MatchingNeedRow.quantity,
        MatchingNeedRow.needed_by >= today,
        MatchingNeedRow.needed_by >= pledge.available_from,
        func.coalesce(MatchingCrisisRow.status, "active") == "active",
        MatchingNeedRow.need_id.not_in(list(skip)),
        _not_declined(MatchingNeedRow.need_id, pledge.pledge_id),
        *_earmarked_for(pledge),
    ]


def _earmarked_for(pledge: MatchingPledgeRow) -> list[Any]:
    """The pledge's crisis and earmarks, as filters on needs (the same rules as domain.eligibility)."""
    filters = []
    if pledge.crisis_id is not None:
        filters.append(MatchingNeedRow.crisis_id == pledge.crisis_id)
    if pledge.earmark_crises:
        filters.append(MatchingNeedRow.crisis_id.in_(pledge.earmark_crises))
    if pledge.earmark_countries:
        filters.append(MatchingNeedRow.country.in_(pledge.earmark_countries))
    if pledge.earmark_sectors:
        filters.append(MatchingNeedRow.sector.in_(pledge.earmark_sectors))
    return filters


def _earmarks_allow(need: MatchingNeedRow) -> list[Any]:
    """Pledges whose crisis and earmarks let them serve ``need`` (empty earmarks allow all)."""

    def allows(column: Any, value: Any) -> Any:
        return or_(func.cardinality(column) == 0, literal(value) == any_(column))

    return [
        or_(MatchingPledgeRow.crisis_id.is_(None), MatchingPledgeRow.crisis_id == need.crisis_id),
        allows(MatchingPledgeRow.earmark_crises, need.crisis_id),
        allows(MatchingPledgeRow.earmark_countries, need.country),
        allows(MatchingPledgeRow.earmark_sectors, need.sector),
    ]


def locked(query: _Query, of: Any = None) -> _Query:
    """FOR UPDATE, and refresh objects already in the session: a row read before the lock must
    not keep its old values once we hold it (ledgers are only changed by SQL, never in memory)."""
    return query.with_for_update(of=of).execution_options(populate_existing=True)


class CandidateQueries:
    """The candidate queries over one session (the caller's transaction)."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def pledges_for(
        self, need: MatchingNeedRow, today: dt.date, *, limit: int | None = None, skip: Collection[str] = ()
    ) -> list[MatchingPledgeRow]:
        """Active pledges with capacity that could serve ``need`` (indexed by match key), locked.

        With ``limit``: only the first ones in the order :func:`domain.rank_pledges` gives funds
        (soonest expiry, then oldest), leaving out ``skip``. Only for funds, where that order is
        the whole ranking; supplies and skills also rank by substitution and distance, in Python.
        """
        query = (
            select(MatchingPledgeRow)
            .where(
                MatchingPledgeRow.status == "active",
                MatchingPledgeRow.match_keys.overlap(need.match_keys),
                MatchingPledgeRow.category == need.category,
                MatchingPledgeRow.unit == need.unit,
                MatchingPledgeRow.allocated < MatchingPledgeRow.quantity,
                MatchingPledgeRow.expires_on >= today,
                MatchingPledgeRow.available_from <= need.needed_by,
                _not_declined(need.need_id, MatchingPledgeRow.pledge_id),
            )
            .order_by(MatchingPledgeRow.pledge_id)
        )
        if limit is not None:
            first = (
                query.with_only_columns(MatchingPledgeRow.pledge_id)
                .where(MatchingPledgeRow.pledge_id.not_in(list(skip)), *_earmarks_allow(need))
                .order_by(None)
                .order_by(MatchingPledgeRow.expires_on, MatchingPledgeRow.seq, MatchingPledgeRow.pledge_id)
                .limit(limit)
            )
            query = query.where(MatchingPledgeRow.pledge_id.in_(first))
        return list(await self.session.scalars(locked(query)))

    async def needs_for(
        self, pledge: MatchingPledgeRow, today: dt.date, *, limit: int, skip: Collection[str] = ()
    ) -> list[MatchingNeedRow]:
        """Open needs with demand left that ``pledge`` could serve, locked: the first ``limit``.

        First in matching's need order (:func:`domain.rank_needs`: urgency, then the
        organisations' turns within it, then needed-by, then age), chosen by PostgreSQL, so only
        a page of rows is loaded and locked however many needs are open; ``skip`` leaves out
        those already tried. The rules that need no Python (dates, crisis, earmarks, capacity)
        are filters here; the rest (skills, distance) stay in :func:`domain.eligibility`.
        """
        if pledge.category == "funds":
            first: Any = await self._funds_first(pledge, today, limit, skip)
        else:
            first = self._ranked_first(pledge, today, limit, skip)
        query = select(MatchingNeedRow).where(MatchingNeedRow.need_id.in_(first))
        return list(await self.session.scalars(locked(query.order_by(MatchingNeedRow.need_id))))

    def _ranked_first(
        self, pledge: MatchingPledgeRow, today: dt.date, limit: int, skip: Collection[str]
    ) -> Select[tuple[str]]:
        """The first ``limit`` candidates, ranked over all of them (the organisations' turns as a
        window function). For supplies and skills, whose match keys keep candidates few."""
        tier = case(URGENCY_RANK, value=MatchingNeedRow.urgency)
        turn = func.row_number().over(
            partition_by=(MatchingNeedRow.urgency, MatchingNeedRow.organisation_id),
            order_by=(MatchingNeedRow.needed_by, MatchingNeedRow.seq, MatchingNeedRow.need_id),
        )
        candidates = (
            select(
                MatchingNeedRow.need_id,
                tier.label("tier"),
                turn.label("turn"),
                MatchingNeedRow.needed_by,
                MatchingNeedRow.seq,
            )
            .join(MatchingCrisisRow, MatchingCrisisRow.crisis_id == MatchingNeedRow.crisis_id, isouter=True)
            .where(*_need_candidates(pledge, today, skip))
            .subquery()
        )
        return (
            select(candidates.c.need_id)
            .order_by(
                candidates.c.tier,
                candidates.c.turn,
                candidates.c.needed_by,
                candidates.c.seq,
                candidates.c.need_id,
            )
            .limit(limit)
        )

    async def _funds_first(
        self, pledge: MatchingPledgeRow, today: dt.date, limit: int, skip: Collection[str]
    ) -> list[str]:
        """The first ``limit`` funds candidates, reading each organisation's first few per urgency.

        Funds all share one match key, so ranking every candidate would cost as much as there
        are open funds needs. Within one urgency the order is turn by turn (every organisation's
        first need, then every second one, …), so each organisation's first ``m`` candidates
        (index ``ix__m_needs__turns``) decide every place up to turn ``m``: ``m`` doubles until
        they fill the page or the organisations run out. The cost follows the page and the
        number of organisations, not the number of open needs.
        """
        chosen: list[str] = []
        for urgency in sorted(URGENCY_RANK, key=URGENCY_RANK.__getitem__):
            left = limit - len(chosen)
            if left <= 0:
                break
            organisations = await self._organisations_with_demand(pledge.category, urgency)
            if not organisations:
                continue
            per_organisation = -(-left // len(organisations))  # ceil
            while True:
                firsts = await self._firsts(
                    pledge,
                    today=today,
                    urgency=urgency,
                    organisations=organisations,
                    count=per_organisation,
                    skip=skip,
                )
                ranked = sorted(
                    (turn, needed_by, seq, need_id)
                    for rows in firsts.values()
                    for turn, (needed_by, seq, need_id) in enumerate(rows)
                )
                exhausted = all(len(rows) < per_organisation for rows in firsts.values())
                if len(ranked) >= left or exhausted:
                    chosen += [need_id for *_, need_id in ranked[:left]]
                    break
                per_organisation *= 2
        return chosen

    async def _organisations_with_demand(self, category: str, urgency: str) -> list[str]:
        """Organisations with an open need of ``category`` and ``urgency`` still short, by a loose
        scan of ``ix__m_needs__turns`` (one index probe per organisation)."""
        rows = await self.session.execute(
            text(
                """
                WITH RECURSIVE orgs(id) AS (
                    SELECT min(organisation_id) FROM m_needs
                    WHERE category = :category AND urgency = :urgency AND status = 'open'
                      AND proposed + confirmed + fulfilled < quantity
                  UNION ALL
                    SELECT (
                        SELECT min(organisation_id) FROM m_needs
                        WHERE category = :category AND urgency = :urgency AND status = 'open'
                          AND proposed + confirmed + fulfilled < quantity AND organisation_id > orgs.id
                    ) FROM orgs WHERE orgs.id IS NOT NULL
                )
                SELECT id FROM orgs WHERE id IS NOT NULL
                """
            ),
            {"category": category, "urgency": urgency},
        )
        return [organisation for (organisation,) in rows]

    async def _firsts(
        self,
        pledge: MatchingPledgeRow,
        *,
        today: dt.date,
        urgency: str,
        organisations: list[str],
        count: int,
        skip: Collection[str],
    ) -> dict[str, list[tuple[dt.date, int, str]]]:
        """Each organisation's first ``count`` candidates of ``urgency``, in needed-by and age order."""
        orgs = func.unnest(literal(organisations, ARRAY(String))).table_valued("id").render_derived()
        firsts = (
            select(MatchingNeedRow.needed_by, MatchingNeedRow.seq, MatchingNeedRow.need_id)
            .join(MatchingCrisisRow, MatchingCrisisRow.crisis_id == MatchingNeedRow.crisis_id, isouter=True)
            .where(
                MatchingNeedRow.organisation_id == orgs.c.id,
                MatchingNeedRow.urgency == urgency,
                *_need_candidates(pledge, today, skip),
            )
            .order_by(MatchingNeedRow.needed_by, MatchingNeedRow.seq)
            .limit(count)
            .lateral()
        )
        rows = await self.session.execute(
            select(orgs.c.id, firsts.c.needed_by, firsts.c.seq, firsts.c.need_id).select_from(
                orgs.join(firsts, true())
            )
        )
        found: dict[str, list[tuple[dt.date, int, str]]] = {
            organisation: [] for organisation in organisations
        }
        for organisation, needed_by, seq, need_id in rows:
            found[organisation].append((needed_by, seq, need_id))
        for candidates in found.values():
            candidates.sort()
        return found

    async def pledges_with_unmet_demand(self, today: dt.date) -> list[str]:
        """Pledges with free capacity that share a match key with an open need still short.

        A cheap superset of what can match (the pure rules decide the rest), using the GIN
        indexes on match keys.
        """
        need = aliased(MatchingNeedRow)
        short = (
            select(need.need_id)
            .where(
                need.status == "open",
                need.match_keys.overlap(MatchingPledgeRow.match_keys),
                need.category == MatchingPledgeRow.category,
                need.unit == MatchingPledgeRow.unit,
                need.proposed + need.confirmed + need.fulfilled < need.quantity,
                need.needed_by >= today,
            )
            .exists()
        )
        query = (
            select(MatchingPledgeRow.pledge_id)
            .where(
                MatchingPledgeRow.status == "active",
                MatchingPledgeRow.allocated < MatchingPledgeRow.quantity,
                MatchingPledgeRow.expires_on >= today,
                short,
            )
            .order_by(MatchingPledgeRow.pledge_id)
        )
        return list(await self.session.scalars(query))
