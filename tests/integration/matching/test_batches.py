"""Matching's batches on real PostgreSQL: one transaction per batch, one event at a time on failure.

Canonical events come from ingest's service, as in production (``in_process`` in conftest); no
Kafka is needed to show what a batch does inside the database.
"""

from __future__ import annotations

import pytest

from services.matching.service import MatchingService
from services.matching.unit import Unit
from shared.db.models import MatchingPledgeRow
from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN
from tests.support import builders as b
from tests.support.invariants import ledger_violations

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]


def _no_fallback(monkeypatch, matching: MatchingService) -> None:
    async def one_by_one(*_args, **_kwargs):
        raise AssertionError("the batch fell back to one event per transaction")

    monkeypatch.setattr(matching, "handle", one_by_one)


async def test_a_batch_applies_in_order_and_a_later_event_sees_an_earlier_one(in_process, monkeypatch):
    stack = in_process
    crisis = await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    need = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)  # 400
    pledge = await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250
    _no_fallback(monkeypatch, stack.matching)

    results = await stack.matching.handle_batch([*crisis, *need, *pledge, *need])
    assert [(r.outcome, r.proposals) for r in results] == [
        ("applied", 0),
        ("applied", 0),
        ("applied", 1),  # the pledge found the need recorded earlier in the same batch
        ("duplicate", 0),
    ]
    (match,) = await stack.matches()
    assert (match.need_id, match.pledge_id, match.quantity, match.status) == ("n-1", "p-1", 250, "proposed")

    decision = {"match_id": match.match_id, "decision": "reject", "decided_by": "coord", "reason": "no"}
    rejected = await stack.canonical(DECISIONS_IN, "org.drx.match.decided", decision, COORD)
    another = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-2"), ORG)
    results = await stack.matching.handle_batch([*rejected, *another])
    assert [(r.outcome, r.proposals) for r in results] == [("applied", 0), ("applied", 1)]
    statuses = {(m.need_id, m.status) for m in await stack.matches()}
    assert statuses == {("n-1", "rejected"), ("n-2", "proposed")}  # released, then taken by the new need
    assert await ledger_violations(stack.sessions) == []


async def test_a_failing_event_makes_the_batch_go_one_by_one_keeping_those_before_it(in_process, monkeypatch):
    stack = in_process
    crisis = await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD)
    need = await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG)
    pledge = await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR)
    batch = [*crisis, *need, *pledge]
    on_pledge = Unit._on_pledge

    async def failing(self, state):
        raise ConnectionError("the database went away")

    monkeypatch.setattr(Unit, "_on_pledge", failing)
    with pytest.raises(ConnectionError):
        await stack.matching.handle_batch(batch)
    async with stack.sessions() as session:
        assert await session.get(MatchingPledgeRow, "p-1") is None
    assert await stack.matches() == []

    monkeypatch.setattr(Unit, "_on_pledge", on_pledge)  # back: the batch is read again
    results = await stack.matching.handle_batch(batch)
    assert [r.outcome for r in results] == ["duplicate", "duplicate", "applied"]  # the first two were kept
    assert len(await stack.matches()) == 1
