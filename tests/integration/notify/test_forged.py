"""A match event forged onto ``matches`` is refused with a reason; matching's own is delivered.

Notify applies events on ``matches`` only from matching and on ``canonical`` only from ingest
(``shared.events.producers``), so nobody can make drx tell a party of a match that does not exist.
"""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import select

from services.notify.outputs import NOTIFY_SOURCE
from shared.db.models import DeliveryRow, SubscriptionRow
from shared.events.examples import EXAMPLES
from shared.kafka.topics import MATCHES, REJECTED, topic_name
from tests.support import builders as b
from tests.support.kafka import eventually
from tests.support.pipeline import running_pipeline

ORG = b.ORGANISATION


@pytest.fixture
async def pipeline(settings, notify_settings):
    settings = settings.model_copy(update={"notify": notify_settings})
    async with running_pipeline(settings, REJECTED, matchers=0, notify=True) as harness:
        yield harness


def _match(match_id: str, source: str) -> dict:
    event = copy.deepcopy(EXAMPLES["org.drx.match.proposed"])
    event.update(id=f"{match_id}:r1", subject=match_id, source=source)
    event["data"]["match_id"] = match_id
    return event


async def _deliveries(pipeline, match_id: str) -> list[DeliveryRow]:
    async with pipeline.worker.sessions() as session:
        return list(await session.scalars(select(DeliveryRow).where(DeliveryRow.subject_id == match_id)))


async def test_a_forged_match_event_is_refused_and_matchings_own_is_delivered(pipeline):
    subscription = {
        "subscription_id": "s-org-kafka",
        "recipient_id": ORG[2],
        "recipient_kind": "organisation",
        "channel": "kafka",
    }
    await pipeline.post("org.drx.subscription.set", subscription, ORG[0])

    async def subscribed() -> bool:
        async with pipeline.worker.sessions() as session:
            return await session.get(SubscriptionRow, "s-org-kafka") is not None

    await eventually(subscribed, 30, "the organisation's subscription")
    matches = topic_name(pipeline.settings.kafka.topic_prefix, MATCHES)
    await pipeline.send_raw(matches, b.encode(_match("m-forged", "urn:drx:donor:hta-berlin")), key="m-1")
    await pipeline.send_raw(matches, b.encode(_match("m-real", "urn:drx:service:matching")), key="m-1")

    async def delivered() -> bool:
        return bool(await _deliveries(pipeline, "m-real"))

    await eventually(delivered, 60, "the real match's delivery")
    refused = [r["data"] for r in await pipeline.wait_rejected(1) if r["source"] == NOTIFY_SOURCE]
    assert [r["reason"] for r in refused] == [
        (
            "not from a drx service: the matches topic accepts events only from urn:drx:service:matching, "
            "urn:drx:service:matching:scheduler, not from source 'urn:drx:donor:hta-berlin'"
        )
    ]
    assert refused[0]["source_topic"] == matches
    assert await _deliveries(pipeline, "m-forged") == []
