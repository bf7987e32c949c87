"""Invariants of allocation, checked from the database itself (matching, race and fault tests)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from services.matching.domain import Eligible, eligibility
from services.matching.mapping import need_view, pledge_view, skill_tree
from services.matching.repository import declined
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.reference import load_skills

LIVE = ("proposed", "confirmed")  # the statuses a ledger holds as proposed or confirmed


async def _matched(session: AsyncSession, of: ColumnElement[bool], statuses: tuple[str, ...]) -> Decimal:
    """The quantity of ``of``'s matches in ``statuses`` (0 when there are none)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(MatchRow.quantity), 0)).where(of, MatchRow.status.in_(statuses))
    )
    return Decimal(total or 0)


async def _delivered(session: AsyncSession, of: ColumnElement[bool]) -> Decimal:
    """What ``of``'s fulfilled matches delivered (their ``delivered_quantity``; 0 when none)."""
    total = await session.scalar(
        select(func.coalesce(func.sum(MatchRow.delivered_quantity), 0)).where(
            of, MatchRow.status == "fulfilled"
        )
    )
    return Decimal(total or 0)


async def ledger_violations(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    """Every allocation invariant, checked from the database itself."""
    problems = []
    async with sessions() as session, session.begin():
        # One snapshot for every read below, so a worker still at work cannot make the
        # ledgers and the matches look inconsistent.
        await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        for need in await session.scalars(select(MatchingNeedRow)):
            live = await _matched(session, MatchRow.need_id == need.need_id, LIVE)
            if need.proposed + need.confirmed != live:
                problems.append(
                    f"need {need.need_id}: ledger {need.proposed}+{need.confirmed} != matches {live}"
                )
            if need.proposed + need.confirmed + need.fulfilled > need.quantity:
                problems.append(f"need {need.need_id} over-allocated")
            # What the ledger counts as fulfilled is what its matches say arrived, short deliveries too.
            if need.fulfilled != (arrived := await _delivered(session, MatchRow.need_id == need.need_id)):
                problems.append(
                    f"need {need.need_id}: ledger fulfilled {need.fulfilled} != delivered {arrived}"
                )
        for pledge in await session.scalars(select(MatchingPledgeRow)):
            live = await _matched(session, MatchRow.pledge_id == pledge.pledge_id, LIVE)
            delivered = await _delivered(session, MatchRow.pledge_id == pledge.pledge_id)
            if pledge.allocated > pledge.quantity:
                problems.append(f"pledge {pledge.pledge_id} over-allocated")
            # A pledge holds its live matches and what its fulfilled ones delivered: a short
            # delivery's shortfall is capacity again (docs/matching.md).
            if pledge.allocated != live + delivered:
                history = [
                    (
                        m.match_id,
                        m.need_id,
                        f"{m.quantity:f}",
                        m.delivered_quantity,
                        m.status,
                        m.reason,
                        m.revision,
                    )
                    for m in await session.scalars(
                        select(MatchRow).where(MatchRow.pledge_id == pledge.pledge_id)
                    )
                ]
                problems.append(
                    f"pledge {pledge.pledge_id} ({pledge.status} r{pledge.revision}):"
                    f" allocated {pledge.allocated} vs live {live} + delivered {delivered}: {history}"
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
        said_no = {
            (need_id, pledge_id)
            for need_id, pledge_id in await session.execute(
                select(MatchRow.need_id, MatchRow.pledge_id).where(declined())
            )
        }
    return [
        (n.need_id, p.pledge_id)
        for n in needs
        for p in pledges
        if (n.need_id, p.pledge_id) not in said_no and isinstance(eligibility(n, p, today, tree), Eligible)
    ]


MATCH_STATES = frozenset(
    f"org.drx.match.{s}" for s in ("proposed", "confirmed", "rejected", "expired", "fulfilled", "cancelled")
)


async def match_event_mismatches(
    sessions: async_sessionmaker[AsyncSession], records: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Match rows against the match-state events of the matches topic (``records``: CloudEvents as JSON).

    Each row has exactly one ``org.drx.match.proposed`` event, naming its need, pledge and
    quantity; each such event has its row; and each row's status and revision are those of its
    latest event. ``records`` must be the whole topic, read after matching settled.
    """
    proposed: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    latest: dict[str, Mapping[str, Any]] = {}
    for record in records:
        if record["type"] not in MATCH_STATES:
            continue
        data = record["data"]
        match_id = data["match_id"]
        if record["type"] == "org.drx.match.proposed":
            proposed[match_id].append(data)
        if match_id not in latest or data["revision"] > latest[match_id]["revision"]:
            latest[match_id] = data
    async with sessions() as session:
        rows = {row.match_id: row for row in await session.scalars(select(MatchRow))}
    problems = [
        f"match {m}: proposed on the topic, but no row" for m in sorted(proposed.keys() - rows.keys())
    ]
    for match_id, row in sorted(rows.items()):
        events = proposed.get(match_id, [])
        if len(events) != 1:
            problems.append(f"match {match_id}: {len(events)} proposed events, expected 1")
            continue
        said = (events[0]["need_id"], events[0]["pledge_id"], Decimal(str(events[0]["quantity"])))
        held = (row.need_id, row.pledge_id, row.quantity)
        if said != held:
            problems.append(f"match {match_id}: proposed as {said}, row holds {held}")
        last = (latest[match_id]["status"], latest[match_id]["revision"])
        if last != (row.status, row.revision):
            problems.append(
                f"match {match_id}: latest event says {last}, row is {(row.status, row.revision)}"
            )
    return problems
