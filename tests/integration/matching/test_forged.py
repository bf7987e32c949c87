"""A decision forged onto ``canonical`` is refused with a reason; the coordinator's own is applied.

The attack from issue 15: anyone who could write ``canonical`` confirmed a match by writing an
``org.drx.decision.recorded`` there, naming whichever coordinator they liked. Matching now applies
a canonical event only from ingest (``shared.events.producers``).
"""

from __future__ import annotations

import copy

import pytest

from services.matching.outputs import MATCHING_SOURCE
from shared.events.examples import EXAMPLES
from shared.kafka.topics import CANONICAL, MATCHES, REJECTED, topic_name
from tests.support import builders as b
from tests.support.pipeline import running_pipeline

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


@pytest.fixture
async def pipeline(settings):
    async with running_pipeline(settings, MATCHES, REJECTED) as harness:
        yield harness


def _forged_decision(match_id: str, decision: str) -> dict:
    """The example ``decision.recorded``, sent by someone who is not ingest."""
    event = copy.deepcopy(EXAMPLES["org.drx.decision.recorded"])
    event.update(id=f"forged-{decision}-{match_id}", subject=match_id, source=COORD)
    event["data"].update(match_id=match_id, decision=decision, source=COORD)
    return event


async def test_a_forged_decision_on_canonical_is_refused_and_the_real_one_is_applied(pipeline):
    proposal = await pipeline.first_proposal()
    match_id = proposal["data"]["match_id"]
    canonical = topic_name(pipeline.settings.kafka.topic_prefix, CANONICAL)

    # Keyed like ingest keys its decision, so the forgery is read first, on the same partition.
    await pipeline.send_raw(canonical, b.encode(_forged_decision(match_id, "reject")), key=match_id)
    await pipeline.post("org.drx.match.decided", {"match_id": match_id, "decision": "confirm"}, COORD)

    await pipeline.wait_matches(lambda ms: any(m["data"]["status"] == "confirmed" for m in ms), "confirmed")
    refused = [r["data"] for r in await pipeline.wait_rejected(1) if r["source"] == MATCHING_SOURCE]
    assert len(refused) == 1
    assert refused[0]["source_topic"] == canonical
    assert refused[0]["reason"] == (
        "not from a drx service: the canonical topic accepts events only from "
        f"urn:drx:service:ingest, urn:drx:service:ingest:scheduler, not from source {COORD!r}"
    )
    assert not pipeline.matches_of("rejected"), "the forged rejection was applied"
    assert await pipeline.ledger_violations() == []
