"""An event on ``canonical`` that matching cannot apply is parked on the rejected topic; the rest flow.

Only ingest should write ``canonical``, but until Kafka ACLs hold (issue 15) anyone can, and a
bug upstream could too: neither may stall matching.
"""

from __future__ import annotations

import copy

import pytest

from services.matching.outputs import MATCHING_SOURCE
from shared.events.examples import EXAMPLES
from shared.kafka.topics import CANONICAL, REJECTED, topic_name
from tests.support import builders as b
from tests.support.pipeline import running_pipeline

COORD, ORG, OTHER_ORG, DONOR = (s[0] for s in b.SOURCES)


@pytest.fixture
async def pipeline(settings):
    """Reads only the rejected topic: the test's own reader would choke on the unreadable record."""
    async with running_pipeline(settings, REJECTED) as harness:
        yield harness


def _overflowing_need() -> dict:
    """A well-formed ``need.recorded`` whose base quantity does not fit matching's Numeric(18, 4)."""
    event = copy.deepcopy(EXAMPLES["org.drx.need.recorded"])
    event["id"] = "org.drx.need.recorded:n-poison:r1"
    event["subject"] = "n-poison"
    event["data"]["need_id"] = "n-poison"
    event["data"]["spec"]["base_quantity"] = "1e20"
    return event


async def test_events_matching_cannot_apply_are_parked_and_the_next_one_is_applied(pipeline):
    await pipeline.declare(b.crisis())
    canonical = topic_name(pipeline.settings.kafka.topic_prefix, CANONICAL)
    # Keyed like ingest keys n-ok's event, so all three share a partition, the poison first.
    await pipeline.send_raw(canonical, b.encode(_overflowing_need()), key="n-ok")
    await pipeline.send_raw(canonical, b"\xff\xfe not a CloudEvent", key="n-ok")
    await pipeline.post("org.drx.need.posted", b.need("n-ok"), ORG)

    await pipeline.wait_matching("need", "n-ok")
    parked = [r for r in await pipeline.wait_rejected(2) if r["source"] == MATCHING_SOURCE]
    by_event = {r["data"].get("event_id"): r["data"] for r in parked}
    overflow = by_event["org.drx.need.recorded:n-poison:r1"]
    assert overflow["reason"].startswith("could not be applied: ")
    assert "numeric field overflow" in overflow["reason"]
    assert "SQLSTATE 22003" in overflow["reason"]
    assert overflow["source_topic"] == canonical
    unreadable = by_event[None]
    assert unreadable["reason"].startswith("not a CloudEvents envelope: ")
    assert unreadable["original_base64"] == "//4gbm90IGEgQ2xvdWRFdmVudA=="
    assert len(parked) == 2
