"""The declined-pair rule in SQL (``repository.declined``) says what the domain's says, for every status.

The candidate queries keep the rule in SQL for speed; ``domain.declined`` is the rule. A match in
each status, trimmed and not, is written to real PostgreSQL, and the two must pick the same ones.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import get_args

from sqlalchemy import insert, select

from services.matching.domain import MatchStatus, declined
from services.matching.mapping import need_row, pledge_row
from services.matching.repository import declined as declined_in_sql
from shared.db.models import MatchingNeedRow, MatchingPledgeRow, MatchRow
from shared.db.session import create_engine, create_session_factory
from shared.events.canonical import NeedRecorded, PledgeRecorded
from shared.events.examples import EXAMPLES
from shared.reference import load_catalogue


async def test_sql_and_python_agree_on_which_matches_decline_their_pair(database):
    catalogue = load_catalogue()
    need = NeedRecorded.model_validate(EXAMPLES["org.drx.need.recorded"]["data"])
    pledge = PledgeRecorded.model_validate(EXAMPLES["org.drx.pledge.recorded"]["data"])
    cases = list(itertools.product(get_args(MatchStatus), (False, True)))
    engine = create_engine(database.settings)
    try:
        sessions = create_session_factory(engine)
        async with sessions.begin() as session:
            await session.execute(insert(MatchingNeedRow).values(need_row(need, catalogue)))
            await session.execute(insert(MatchingPledgeRow).values(pledge_row(pledge, catalogue)))
            for status, trimmed in cases:
                session.add(
                    MatchRow(
                        match_id=f"m-{status}-{trimmed}",
                        need_id=need.need_id,
                        pledge_id=pledge.pledge_id,
                        crisis_id=need.crisis_id,
                        quantity=Decimal(1),
                        # a fulfilled match records what arrived (migration 0014 requires it)
                        delivered_quantity=Decimal(1) if status == "fulfilled" else None,
                        unit="USD",
                        status=status,
                        explanation="a case of the rule",
                        trimmed=trimmed,
                    )
                )
        async with sessions() as session:
            in_sql = set(await session.scalars(select(MatchRow.match_id).where(declined_in_sql())))
    finally:
        await engine.dispose()

    in_python = {f"m-{status}-{trimmed}" for status, trimmed in cases if declined(status, trimmed=trimmed)}
    assert in_sql == in_python
    assert in_python  # the rule picks some, so agreeing is not trivially both empty
