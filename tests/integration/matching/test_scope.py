"""A coordinator decides a match only when the match's need lies in its scope (matching checks it).

Ingest accepts the decision (it cannot know the match) and puts the coordinator's scope on the
``decision.recorded``; matching, which holds the match and its need, refuses it onto the rejected
topic with the reason, and the coordinator in scope decides the same match beside it.
"""

from __future__ import annotations

import pytest

from services.matching.outputs import MATCHING_SOURCE
from shared.kafka.topics import MATCHES, REJECTED
from shared.sources import add_source
from tests.support import builders as b
from tests.support.pipeline import running_pipeline

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)
NEPAL_COORD = b.NEPAL_COORDINATOR[0]


@pytest.fixture
async def pipeline(settings):
    async with running_pipeline(settings, MATCHES, REJECTED) as harness:
        await add_source(settings, *b.NEPAL_COORDINATOR, scope=b.SCOPES[NEPAL_COORD])
        yield harness


async def test_a_match_is_decided_in_scope_and_refused_outside_it(pipeline):
    proposal = await pipeline.first_proposal()
    match_id = proposal["data"]["match_id"]

    await pipeline.post("org.drx.match.decided", {"match_id": match_id, "decision": "reject"}, NEPAL_COORD)
    (refused,) = [r["data"] for r in await pipeline.wait_rejected(1) if r["source"] == MATCHING_SOURCE]
    assert refused["reason"] == (
        f"not authorised: {NEPAL_COORD} may act only within crises [] and countries [NPL]; "
        f"match {match_id} (need n-1, crisis eq-tur-2026 in TUR) is outside it"
    )

    await pipeline.post("org.drx.match.decided", {"match_id": match_id, "decision": "confirm"}, COORD)
    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "confirmed" for m in ms), "confirmed")
    assert not pipeline.matches_of("rejected")
    assert await pipeline.ledger_violations() == []
