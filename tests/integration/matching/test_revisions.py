"""A need or pledge revised to less than it already holds, on real PostgreSQL.

The database refuses a ledger above its quantity, so before the smaller revision is stored its
live matches give the excess back (``domain.trim``: proposals first, newest first), and what
they free is offered again. What was delivered stays.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from shared.db.models import MatchingNeedRow, MatchingPledgeRow, OutboxMessage
from shared.events.envelope import CloudEvent
from shared.kafka.topics import CRISES_IN, DECISIONS_IN, NEEDS_IN, PLEDGES_IN
from tests.support import builders as b
from tests.support.invariants import ledger_violations

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]


def _blankets(quantity: int) -> dict:
    return {**b.need()["spec"], "quantity": str(quantity)}


async def _apply(stack, *batches) -> None:
    for events in batches:
        await stack.matching.handle_batch(events)


async def _match_events(stack) -> list[CloudEvent]:
    async with stack.sessions() as session:
        query = select(OutboxMessage.payload).where(OutboxMessage.topic == "drx.matches")
        payloads = await session.scalars(query.order_by(OutboxMessage.id))
        return [CloudEvent.model_validate_json(p) for p in payloads]


async def _ledgers(stack, need_id: str, *pledge_ids: str) -> tuple:
    async with stack.sessions() as session:
        need = await session.get(MatchingNeedRow, need_id)
        pledges = [await session.get(MatchingPledgeRow, p) for p in pledge_ids]
        return (need.quantity, need.proposed, need.confirmed, need.fulfilled), [p.allocated for p in pledges]


async def test_a_smaller_need_cancels_its_newest_proposal_shrinks_the_next_and_frees_the_rest(in_process):
    stack = in_process
    await _apply(
        stack,
        await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD),
        await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1", urgency="critical"), ORG),
        await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR),  # 250 -> n-1
        await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-2"), DONOR),  # 150 -> n-1
    )
    first, second = await stack.matches()
    assert (first.pledge_id, first.quantity, second.pledge_id, second.quantity) == ("p-1", 250, "p-2", 150)

    smaller = b.need("n-1", urgency="critical", revision=2, spec=_blankets(200))
    await _apply(stack, await stack.canonical(NEEDS_IN, "org.drx.need.updated", smaller, ORG))

    first, second = await stack.matches()
    assert (first.status, first.quantity, first.revision) == ("proposed", 200, 2)  # gave back 50
    assert (second.status, second.quantity) == ("cancelled", 150)  # the newest gave back all
    assert first.reason == second.reason == "need reduced to 200 piece"
    assert await _ledgers(stack, "n-1", "p-1", "p-2") == ((200, 200, 0, 0), [200, 0])
    last_two = (await _match_events(stack))[-2:]
    told = [(e.type, e.data["match_id"], Decimal(e.data["quantity"])) for e in last_two]
    assert sorted(told) == sorted(
        [
            ("org.drx.match.cancelled", second.match_id, 150),
            ("org.drx.match.proposed", first.match_id, 200),
        ]
    )

    await _apply(stack, await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-2"), ORG))
    taken = {(m.pledge_id, m.quantity) for m in await stack.matches() if m.need_id == "n-2"}
    assert taken == {("p-1", 50), ("p-2", 250)}  # what n-1 gave back went to the next need
    assert await ledger_violations(stack.sessions) == []


async def test_a_smaller_pledge_gives_back_to_its_newest_need_which_is_offered_other_pledges(in_process):
    stack = in_process
    await _apply(
        stack,
        await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD),
        await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1", spec=_blankets(100)), ORG),
        await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-2", spec=_blankets(100)), ORG),
        await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR),  # 250: 100 + 100
    )
    assert sorted((m.need_id, m.quantity) for m in await stack.matches()) == [("n-1", 100), ("n-2", 100)]

    smaller = b.pledge("p-1", revision=2, spec={**b.pledge()["spec"], "quantity": "150"})
    await _apply(stack, await stack.canonical(PLEDGES_IN, "org.drx.pledge.updated", smaller, DONOR))
    after = sorted(((m.quantity, m.reason, m.need_id) for m in await stack.matches()), key=lambda m: m[0])
    (shrunk, kept) = after  # one gave back 50 (the newer; both were proposed in one transaction here)
    assert (shrunk[:2], kept[:2]) == ((50, "pledge reduced to 150 piece"), (100, None))
    assert await _ledgers(stack, shrunk[2], "p-1") == ((100, 50, 0, 0), [150])

    await _apply(stack, await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-2"), DONOR))
    refill = [(m.need_id, m.quantity) for m in await stack.matches() if m.pledge_id == "p-2"]
    assert refill == [(shrunk[2], 50)]  # the demand given back is met by the next pledge
    assert await ledger_violations(stack.sessions) == []


async def test_a_need_revised_below_what_was_delivered_keeps_the_delivered_quantity(in_process):
    stack = in_process
    await _apply(
        stack,
        await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD),
        await stack.canonical(NEEDS_IN, "org.drx.need.posted", b.need("n-1"), ORG),
        await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", b.pledge("p-1"), DONOR),  # 250
    )
    (match,) = await stack.matches()
    for decision in ("confirm", "fulfilled"):
        data = {"match_id": match.match_id, "decision": decision, "decided_by": "coord"}
        await _apply(stack, await stack.canonical(DECISIONS_IN, "org.drx.match.decided", data, COORD))

    smaller = b.need("n-1", revision=2, spec=_blankets(100))
    results = await stack.matching.handle_batch(
        await stack.canonical(NEEDS_IN, "org.drx.need.updated", smaller, ORG)
    )
    assert [r.outcome for r in results] == ["applied"]  # not a message stuck forever on a CHECK
    assert await _ledgers(stack, "n-1", "p-1") == ((Decimal(250), 0, 0, 250), [250])
    assert await ledger_violations(stack.sessions) == []


async def test_a_pair_trimmed_apart_meets_again_when_the_pledge_grows_back(in_process):
    """A match cancelled by a trim is not a decline: the pair may be proposed again."""
    stack = in_process
    await _apply(
        stack,
        await stack.canonical(CRISES_IN, "org.drx.crisis.declared", b.crisis(), COORD),
        await stack.canonical(
            NEEDS_IN, "org.drx.need.posted", b.need("n-1", urgency="critical", spec=_blankets(60)), ORG
        ),
        await stack.canonical(
            NEEDS_IN, "org.drx.need.posted", b.need("n-2", urgency="low", spec=_blankets(40)), ORG
        ),
    )

    def pledge(revision: int, quantity: int) -> dict:
        return b.pledge("p-1", revision=revision, spec={**b.pledge()["spec"], "quantity": str(quantity)})

    await _apply(stack, await stack.canonical(PLEDGES_IN, "org.drx.pledge.posted", pledge(1, 100), DONOR))
    await _apply(stack, await stack.canonical(PLEDGES_IN, "org.drx.pledge.updated", pledge(2, 60), DONOR))
    live = {(m.need_id, m.status, m.quantity) for m in await stack.matches()}
    assert live == {("n-1", "proposed", 60), ("n-2", "cancelled", 40)}  # the newer one gave back

    await _apply(stack, await stack.canonical(PLEDGES_IN, "org.drx.pledge.updated", pledge(3, 100), DONOR))
    again = [(m.status, m.quantity) for m in await stack.matches() if m.need_id == "n-2"]
    assert sorted(again) == [("cancelled", 40), ("proposed", 40)]
    assert await ledger_violations(stack.sessions) == []
