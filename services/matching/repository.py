"""Matching's database edge. Every method runs inside the caller's transaction.

Lock order, always: advisory locks on match keys (sorted), then pledge rows, then need rows,
then match rows, each in id order. One total order means racing workers wait, never deadlock.
The advisory lock on the match key is what makes "a need and a pledge arriving at the same time
on two workers" safe: whichever commits second sees the other and matches it.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from services.matching.candidates import CandidateQueries, declined, locked
from shared.db.models import MatchingCrisisRow, MatchingNeedRow, MatchingPledgeRow, MatchRow

__all__ = ["CONSUMER", "MatchingRepository", "declined"]

CONSUMER = "matching"


class MatchingRepository(CandidateQueries):
    """Matching's rows: keys and locks, the upserts, the ledgers, the matches.

    The candidate queries (``pledges_for``, ``needs_for``, ``pledges_with_unmet_demand``) are
    inherited from :class:`~services.matching.candidates.CandidateQueries`.
    """

    async def lock_keys(self, keys: list[str]) -> None:
        for key in sorted(set(keys)):
            await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    async def upsert_crisis(self, crisis_id: str, status: str, revision: int) -> None:
        statement = insert(MatchingCrisisRow).values(crisis_id=crisis_id, status=status, revision=revision)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=["crisis_id"],
                set_={"status": status, "revision": revision},
                where=MatchingCrisisRow.revision < statement.excluded.revision,
            )
        )

    async def upsert_need(self, values: dict[str, Any]) -> bool:
        """Insert or update (only to a newer revision); True when the row changed."""
        return await self._upsert(MatchingNeedRow, "need_id", values)

    async def upsert_pledge(self, values: dict[str, Any]) -> bool:
        return await self._upsert(MatchingPledgeRow, "pledge_id", values)

    async def _upsert(
        self, table: type[MatchingNeedRow | MatchingPledgeRow], key: str, values: dict[str, Any]
    ) -> bool:
        statement = insert(table).values(**values)
        changed = {k: v for k, v in values.items() if k != key}
        result = await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[key],
                set_=changed,
                where=table.revision < statement.excluded.revision,
            ).returning(getattr(table, key))
        )
        return result.first() is not None

    async def need(self, need_id: str, *, lock: bool = True) -> MatchingNeedRow | None:
        query = select(MatchingNeedRow).where(MatchingNeedRow.need_id == need_id)
        return await self.session.scalar(locked(query) if lock else query)

    async def pledge(self, pledge_id: str, *, lock: bool = True) -> MatchingPledgeRow | None:
        query = select(MatchingPledgeRow).where(MatchingPledgeRow.pledge_id == pledge_id)
        return await self.session.scalar(locked(query) if lock else query)

    async def crisis_active(self, crisis_id: str) -> bool:
        status = await self.session.scalar(
            select(MatchingCrisisRow.status).where(MatchingCrisisRow.crisis_id == crisis_id)
        )
        return status in (None, "active")  # unknown yet: ingest accepted the need, so it was active

    async def shift(
        self,
        need: MatchingNeedRow,
        pledge: MatchingPledgeRow,
        *,
        proposed: Decimal = Decimal(0),
        confirmed: Decimal = Decimal(0),
        fulfilled: Decimal = Decimal(0),
        allocated: Decimal = Decimal(0),
    ) -> None:
        """Move quantities in the ledgers with relative SQL updates (``x = x + delta``).

        Never an absolute value computed in Python: even a stale in-memory row cannot undo
        another transaction's change, and the CHECK constraints refuse any overdraft. The
        objects are refreshed afterwards, so the next allocation in this transaction sees the
        new ledgers.
        """
        await self.session.execute(
            update(MatchingNeedRow)
            .where(MatchingNeedRow.need_id == need.need_id)
            .values(
                proposed=MatchingNeedRow.proposed + proposed,
                confirmed=MatchingNeedRow.confirmed + confirmed,
                fulfilled=MatchingNeedRow.fulfilled + fulfilled,
            )
        )
        if allocated:
            await self.session.execute(
                update(MatchingPledgeRow)
                .where(MatchingPledgeRow.pledge_id == pledge.pledge_id)
                .values(allocated=MatchingPledgeRow.allocated + allocated)
            )
        await self.session.refresh(need)
        await self.session.refresh(pledge)

    async def match_keys_of(self, match_id: str) -> tuple[str, str, list[str]] | None:
        """A match's need id, pledge id and their match keys, read as plain values.

        Nothing enters the session here, so the locked loads that follow read current rows
        (an entity loaded before its lock would keep its stale attributes).
        """
        row = (
            await self.session.execute(
                select(
                    MatchRow.need_id,
                    MatchRow.pledge_id,
                    MatchingNeedRow.match_keys,
                    MatchingPledgeRow.match_keys,
                )
                .join(MatchingNeedRow, MatchingNeedRow.need_id == MatchRow.need_id)
                .join(MatchingPledgeRow, MatchingPledgeRow.pledge_id == MatchRow.pledge_id)
                .where(MatchRow.match_id == match_id)
            )
        ).first()
        if row is None:
            return None
        return row[0], row[1], [*row[2], *row[3]]

    async def match(self, match_id: str, *, lock: bool = True) -> MatchRow | None:
        query = select(MatchRow).where(MatchRow.match_id == match_id)
        return await self.session.scalar(locked(query) if lock else query)

    async def live_matches(
        self,
        *,
        need_id: str | None = None,
        pledge_id: str | None = None,
        statuses: tuple[str, ...] = ("proposed", "confirmed"),
    ) -> list[MatchRow]:
        query = select(MatchRow).where(MatchRow.status.in_(statuses)).order_by(MatchRow.match_id)
        query = locked(query)
        if need_id is not None:
            query = query.where(MatchRow.need_id == need_id)
        if pledge_id is not None:
            query = query.where(MatchRow.pledge_id == pledge_id)
        return list(await self.session.scalars(query))

    async def proposals_to_remind(self, created_before: dt.datetime) -> list[MatchRow]:
        """Proposals older than ``created_before`` whose coordinators were not reminded yet, locked."""
        query = (
            select(MatchRow)
            .where(
                MatchRow.status == "proposed",
                MatchRow.created_at < created_before,
                MatchRow.reminded_at.is_(None),
            )
            .order_by(MatchRow.created_at, MatchRow.match_id)
            .with_for_update(skip_locked=True)
        )
        return list(await self.session.scalars(query))

    async def proposals_older_than(self, created_before: dt.datetime) -> list[str]:
        query = (
            select(MatchRow.match_id)
            .where(MatchRow.status == "proposed", MatchRow.created_at < created_before)
            .order_by(MatchRow.created_at, MatchRow.match_id)
        )
        return list(await self.session.scalars(query))
