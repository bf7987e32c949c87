"""A revoked source manages no subscription, not even its own, until it is enabled again (real PostgreSQL)."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select

from shared.db.models.messaging import OutboxMessage
from shared.intake.parsing import RawMessage
from shared.kafka.topics import SUBSCRIPTIONS_IN
from shared.sources import enable_source, revoke_source
from tests.integration.notify.conftest import PREFIX
from tests.support import builders as b
from tests.support.provision import register_sources

ORG = b.ORGANISATION[0]
OWN = {
    "subscription_id": "s-org",
    "recipient_id": "trc-gaziantep",
    "recipient_kind": "organisation",
    "channel": "kafka",
}


def _event(offset: int, source: str) -> RawMessage:
    event = b.raw(SUBSCRIPTIONS_IN, "org.drx.subscription.set", OWN, source)
    return dataclasses.replace(event, offset=offset)


async def _rejections(notify) -> list[str]:
    async with notify.service._sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic.endswith("rejected")).order_by(OutboxMessage.id)
        )
        return [json.loads(row.payload)["data"]["reason"] for row in rows]


async def test_a_revoked_source_cannot_subscribe_until_it_is_enabled(notify, database):
    await register_sources(database.settings, actor="test", topic_prefix=PREFIX)
    await revoke_source(database.settings, ORG, "principal leaked", actor="test", topic_prefix=PREFIX)
    assert (await notify.service.handle_subscription(_event(20, ORG))).outcome == "rejected"
    (reason,) = await _rejections(notify)
    assert reason.startswith(f"source {ORG!r} was revoked on ")
    assert reason.endswith(" UTC: principal leaked")

    await enable_source(database.settings, ORG, actor="test", topic_prefix=PREFIX)
    assert (await notify.service.handle_subscription(_event(21, ORG))).outcome == "applied"
