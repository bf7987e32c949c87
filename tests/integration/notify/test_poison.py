"""Records on notify's inputs that it cannot apply are parked on the rejected topic; the rest flow.

Only drx services write ``matches`` and ``canonical``, but until Kafka ACLs hold (issue 15) anyone
can; neither an unreadable record nor an event whose data notify cannot read may stall it.
"""

from __future__ import annotations

import copy

import pytest

from services.notify.outputs import NOTIFY_SOURCE
from shared.events.examples import EXAMPLES
from shared.kafka.topics import MATCHES, REJECTED, topic_name
from tests.support import builders as b
from tests.support.pipeline import running_pipeline


@pytest.fixture
async def pipeline(settings, notify_settings):
    settings = settings.model_copy(update={"notify": notify_settings})
    async with running_pipeline(settings, REJECTED, matchers=0, notify=True) as harness:
        yield harness


def _match_without_its_need() -> dict:
    event = copy.deepcopy(EXAMPLES["org.drx.match.proposed"])
    event["id"] = "org.drx.match.proposed:m-broken"
    del event["data"]["need_id"]
    return event


async def test_unreadable_and_inapplicable_events_are_parked(pipeline):
    matches = topic_name(pipeline.settings.kafka.topic_prefix, MATCHES)
    await pipeline.send_raw(matches, b"\xff\xfe not a CloudEvent", key="m-1")
    await pipeline.send_raw(matches, b.encode(_match_without_its_need()), key="m-1")

    refusals = await pipeline.wait_rejected(2, timeout=60)
    parked = {r["data"].get("event_id"): r["data"] for r in refusals if r["source"] == NOTIFY_SOURCE}
    assert parked[None]["reason"].startswith("not a CloudEvents envelope: ")
    broken = parked["org.drx.match.proposed:m-broken"]
    assert broken["reason"].startswith("could not be applied after 3 attempts: ValidationError: ")
    assert broken["source_topic"] == matches
    assert len(parked) == 2
