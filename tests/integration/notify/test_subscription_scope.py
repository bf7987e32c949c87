"""Issue 15, item 3's coordinator part, on real PostgreSQL: a coordinator manages the subscriptions
its scope covers, and its own subscriptions lie in its scope.

A coordinator subscription filtered to a crisis or country in scope is replaced by a coordinator
of that scope; one for another country is refused with the reason and stays as it was.
"""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select

from shared.db.models import SubscriptionRow
from shared.db.models.messaging import OutboxMessage
from shared.intake.parsing import RawMessage
from shared.kafka.topics import SUBSCRIPTIONS_IN
from tests.integration.notify.conftest import PREFIX
from tests.support import builders as b
from tests.support.provision import register_sources

TURKEY_DESK, NEPAL_DESK, GLOBAL_DESK = b.COORDINATOR, b.NEPAL_COORDINATOR, b.GLOBAL_COORDINATOR


def _raw(data: dict, source: str, offset: int) -> RawMessage:
    raw = b.raw(SUBSCRIPTIONS_IN, "org.drx.subscription.set", data, source)
    return dataclasses.replace(raw, offset=offset)


def _kafka(subscription_id: str, party: str, **filters: str) -> dict:
    return {
        "subscription_id": subscription_id,
        "recipient_id": party,
        "recipient_kind": "coordinator",
        "channel": "kafka",
        **filters,
    }


async def _rejections(notify) -> list[str]:
    async with notify.service._sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic.endswith("rejected")).order_by(OutboxMessage.id)
        )
        return [json.loads(row.payload)["data"]["reason"] for row in rows]


async def _stored(notify, subscription_id: str) -> SubscriptionRow:
    async with notify.service._sessions() as session:
        row = await session.get(SubscriptionRow, subscription_id)
    assert row is not None
    return row


async def test_an_in_scope_coordinator_replaces_a_subscription_and_an_out_of_scope_one_is_refused(
    notify, database
):
    await register_sources(
        database.settings, (TURKEY_DESK, NEPAL_DESK, GLOBAL_DESK), actor="test", topic_prefix=PREFIX
    )
    steps = [
        _raw(_kafka("s-tur", "global", country="TUR"), GLOBAL_DESK[0], 1),  # the global desk sets it up
        _raw(_kafka("s-tur", "turkey-desk", country="TUR", sector="shelter"), TURKEY_DESK[0], 2),  # in scope
        _raw(_kafka("s-tur", "nepal-desk", country="TUR"), NEPAL_DESK[0], 3),  # outside: refused
        _raw(_kafka("s-npl", "nepal-desk", country="NPL"), NEPAL_DESK[0], 4),  # its own, in scope
        _raw(_kafka("s-all", "nepal-desk"), NEPAL_DESK[0], 5),  # everything: outside a country scope
    ]
    outcomes = [(await notify.service.handle_subscription(raw)).outcome for raw in steps]
    assert outcomes == ["applied", "applied", "rejected", "applied", "rejected"]
    assert await _rejections(notify) == [
        (
            "urn:drx:coord:npl-desk may act only within crises [] and countries [NPL]; subscription 's-tur' "
            "(for coordinator turkey-desk, crisis any, country TUR) is outside it; only the source that "
            "created it or a coordinator whose scope covers it may replace or remove it"
        ),
        (
            "urn:drx:coord:npl-desk may act only within crises [] and countries [NPL]; a subscription for "
            "coordinator nepal-desk, crisis any, country any is outside it"
        ),
    ]
    replaced = await _stored(notify, "s-tur")
    assert (replaced.recipient_id, replaced.sector, replaced.owner_source) == (
        "turkey-desk",
        "shelter",
        GLOBAL_DESK[0],
    )
    assert (await _stored(notify, "s-npl")).owner_source == NEPAL_DESK[0]
