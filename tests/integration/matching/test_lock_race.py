"""The race the match-key locks exist for, made to happen on purpose, on real PostgreSQL.

A need and a pledge that could match arrive at the same moment on two matching workers. Each
transaction alone cannot see the other's uncommitted row, so without the advisory lock on their
shared match key both would commit and nothing would be proposed. With it, the second worker
waits until the first commits, then sees its row and proposes.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from services.matching.mapping import skill_tree
from services.matching.service import MatchingService
from services.matching.unit import Unit
from shared.db.session import create_engine, create_session_factory
from shared.kafka.topics import CRISES_IN, NEEDS_IN, PLEDGES_IN
from shared.reference import load_catalogue, load_skills
from tests.support import builders as b
from tests.support.invariants import ledger_violations
from tests.support.kafka import eventually

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]


async def test_a_need_and_a_pledge_committed_at_once_on_two_workers_are_matched(
    in_process, settings, monkeypatch
):
    stack = in_process
    await stack.matching.handle_batch(
        await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    )
    (need,) = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)
    (pledge,) = await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR)

    inside, release = asyncio.Event(), asyncio.Event()
    run = Unit.run

    async def paused(unit: Unit):
        result = await run(unit)
        if unit.envelope.type == "org.drx.need.recorded":
            inside.set()  # the need is written, its transaction not committed yet
            await release.wait()
        return result

    monkeypatch.setattr(Unit, "run", paused)
    engine = create_engine(settings.database)
    other = MatchingService(
        create_session_factory(engine), load_catalogue(), skill_tree(load_skills()), "drx."
    )
    try:
        first = asyncio.create_task(stack.matching.handle(need.envelope, need.today, position=need.position))
        await asyncio.wait_for(inside.wait(), 30)
        second = asyncio.create_task(other.handle(pledge.envelope, pledge.today, position=pledge.position))

        async def waiting_or_done() -> bool:  # the pledge's worker waits on the need's match key
            if second.done():
                return True
            async with stack.sessions() as session:
                blocked = await session.scalar(
                    text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                )
            return bool(blocked)

        await eventually(waiting_or_done, 30, "the pledge's worker to reach the need's lock")
        assert not second.done(), "the pledge was applied while the need's transaction was open"
        release.set()
        results = await asyncio.wait_for(asyncio.gather(first, second), 30)
    finally:
        release.set()
        await engine.dispose()

    assert [r.outcome for r in results] == ["applied", "applied"]
    (match,) = await stack.matches()
    assert (match.need_id, match.pledge_id) == ("n-1", "p-1")
    assert results[1].proposals == 1  # proposed by the worker that waited, once it could see the need
    assert await ledger_violations(stack.sessions) == []
