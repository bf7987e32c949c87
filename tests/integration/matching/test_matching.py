"""Matching end to end on real Kafka and PostgreSQL: proposals, decisions, releases, invariants."""

from __future__ import annotations

from decimal import Decimal

from tests.support import builders as b

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


def _qty(match: dict) -> Decimal:
    return Decimal(str(match["data"]["quantity"]))


async def test_a_pledge_is_split_across_needs_and_a_need_takes_several_pledges(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-a", urgency="critical"), ORG)
    await pipeline.post("org.drx.need.posted", b.need("n-b", urgency="low"), ORG)  # 400 each
    await pipeline.wait_matching("need", "n-a")
    await pipeline.wait_matching("need", "n-b")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-2"), DONOR)  # 250

    matches = await pipeline.wait_matches(lambda ms: sum(_qty(m) for m in ms) >= 500, "500 blankets proposed")
    by_need: dict[str, Decimal] = {}
    for match in matches:
        by_need[match["data"]["need_id"]] = by_need.get(match["data"]["need_id"], Decimal(0)) + _qty(match)
        assert match["data"]["explanation"]
    assert by_need["n-a"] == 400  # the critical need is covered first, from both pledges
    assert by_need["n-b"] == 100
    assert await pipeline.ledger_violations() == []


async def test_rejection_releases_capacity_to_another_need_never_back_to_the_same_one(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1", urgency="critical"), ORG)
    await pipeline.post("org.drx.need.posted", b.need("n-2", urgency="low"), ORG)
    await pipeline.wait_matching("need", "n-1")
    await pipeline.wait_matching("need", "n-2")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)  # 250: all to the critical need
    (first,) = await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    assert first["data"]["need_id"] == "n-1"
    await pipeline.post(
        "org.drx.match.decided",
        {
            "match_id": first["data"]["match_id"],
            "decision": "reject",
            "decided_by": "coord",
            "reason": "wrong size",
        },
        COORD,
    )
    matches = await pipeline.wait_matches(
        lambda ms: (
            any(m["data"]["status"] == "rejected" for m in ms) and len(pipeline.matches_of("proposed")) >= 2
        ),
        "the rejection and a new proposal",
    )
    rejected = next(m for m in matches if m["data"]["status"] == "rejected")
    assert rejected["data"]["reason"] == "wrong size"
    pairs = [(m["data"]["need_id"], m["data"]["pledge_id"]) for m in pipeline.matches_of("proposed")]
    assert pairs == [("n-1", "p-1"), ("n-2", "p-1")]  # declined once, never proposed again
    assert await pipeline.ledger_violations() == []


async def test_confirm_then_fulfil_moves_the_ledger(pipeline):
    proposal = await pipeline.first_proposal()
    match_id = proposal["data"]["match_id"]
    for decision in ("confirm", "fulfilled"):
        await pipeline.post(
            "org.drx.match.decided",
            {"match_id": match_id, "decision": decision, "decided_by": "coord"},
            COORD,
        )
    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "fulfilled" for m in ms), "fulfilment")
    async with pipeline.worker.sessions() as session:
        from shared.db.models import MatchingNeedRow

        need = await session.get(MatchingNeedRow, "n-1")
    assert (need.proposed, need.confirmed, need.fulfilled) == (0, 0, 250)
    assert await pipeline.ledger_violations() == []


async def test_an_invalid_decision_is_rejected_with_a_reason(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post(
        "org.drx.match.decided", {"match_id": "m-nope", "decision": "confirm", "decided_by": "c"}, COORD
    )
    rejected = await pipeline.wait_rejected(1)
    assert "unknown match 'm-nope'" in rejected[0]["data"]["reason"]


async def test_withdrawing_a_pledge_releases_it_and_a_standing_pledge_takes_over(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)
    await pipeline.wait_row("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1", available_from=str(b.today())), DONOR)
    await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    standing = b.pledge(
        "p-standing", crisis_id=None, expires_on=str(b.today().replace(year=b.today().year + 1))
    )
    await pipeline.post("org.drx.pledge.posted", standing, DONOR)  # matches the remaining 150
    await pipeline.wait_matches(lambda ms: len(ms) >= 2, "the standing pledge proposed")
    await pipeline.post("org.drx.pledge.withdrawn", {"pledge_id": "p-1", "revision": 2}, DONOR)
    matches = await pipeline.wait_matches(
        lambda ms: any(m["data"]["status"] == "cancelled" for m in ms),
        "the withdrawn pledge's match cancelled",
    )
    assert any(m["data"]["pledge_id"] == "p-standing" for m in matches)
    assert await pipeline.ledger_violations() == []


async def test_closing_a_crisis_releases_its_proposals(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)
    await pipeline.wait_row("need", "n-1")
    await pipeline.post("org.drx.pledge.posted", b.pledge("p-1"), DONOR)
    await pipeline.wait_matches(lambda ms: len(ms) >= 1, "a proposal")
    await pipeline.post("org.drx.crisis.closed", {"crisis_id": "eq-tur-2026", "revision": 2}, COORD)
    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "cancelled" for m in ms), "release")
    async with pipeline.worker.sessions() as session:
        from shared.db.models import MatchingPledgeRow

        assert (await session.get(MatchingPledgeRow, "p-1")).allocated == 0


async def test_coverage_events_follow_the_need_until_confirmations_fill_it(pipeline):
    await pipeline.declare(b.crisis())
    await pipeline.post("org.drx.need.posted", b.need("n-1"), ORG)  # 400
    await pipeline.wait_matching("need", "n-1")
    for pledge_id in ("p-1", "p-2"):  # 250 each
        await pipeline.post("org.drx.pledge.posted", b.pledge(pledge_id), DONOR)
    proposals = await pipeline.wait_matches(lambda ms: len(ms) >= 2, "two proposals")
    assert proposals[0]["data"]["context"]["organisation_name"] == b.need("n-1")["organisation"]["name"]
    assert proposals[0]["data"]["context"]["pledge_title"] == b.pledge("p-1")["title"]
    for proposal in proposals:
        await pipeline.post(
            "org.drx.match.decided",
            {"match_id": proposal["data"]["match_id"], "decision": "confirm", "decided_by": "coord"},
            COORD,
        )

    def coverage(records: list[dict]) -> list[tuple[str, bool]]:
        kept = [r["data"] for r in records if r["type"] == "org.drx.need.coverage"]
        return [(data["status"], data["filled"]) for data in kept]

    await pipeline.out.wait_for(lambda rs: ("covered", True) in coverage(rs), 60, "the need filled")
    assert coverage(pipeline.out.records) == [
        ("partially covered", False),
        ("covered", False),
        ("covered", True),
    ]
