"""Subscription events on real PostgreSQL: authorised against the source registry, refused once,
even when the record comes again."""

from __future__ import annotations

import json
import time

from sqlalchemy import select

from services.notify.subscriptions import list_subscriptions
from shared.db.models.messaging import OutboxMessage
from shared.intake.parsing import RawMessage
from shared.kafka.topics import SUBSCRIPTIONS_IN
from tests.integration.notify.conftest import PREFIX
from tests.support import builders as b
from tests.support.provision import register_sources

ORG, DONOR, COORD = b.ORGANISATION[0], b.DONOR[0], b.COORDINATOR[0]


def _raw(value: bytes, offset: int = 3) -> RawMessage:
    return RawMessage(
        topic=f"drx.{SUBSCRIPTIONS_IN.name}",
        spec=SUBSCRIPTIONS_IN,
        partition=0,
        offset=offset,
        timestamp_ms=int(time.time() * 1000),
        value=value,
        headers=dict(b.HEADERS),
    )


async def test_an_unreadable_subscription_record_is_refused_once_when_it_is_read_again(notify):
    broken = _raw(b"{not json")
    outcomes = [(await notify.service.handle_subscription(broken)).outcome for _ in range(2)]
    assert outcomes == ["rejected", "duplicate"]
    assert (await notify.service.handle_subscription(_raw(b"{not json", offset=4))).outcome == "rejected"


def _event(offset: int, event_type: str, data: dict, source: str) -> RawMessage:
    return _raw(b.encode(b.envelope(event_type, data, source)), offset=offset)


async def _rejections(notify) -> list[str]:
    """The reasons of the refusals notify queued in its outbox, oldest first."""
    async with notify.service._sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.topic.endswith("rejected")).order_by(OutboxMessage.id)
        )
        return [json.loads(row.payload)["data"]["reason"] for row in rows]


async def test_subscription_events_are_authorised_against_the_source_registry(notify, database):
    await register_sources(database.settings, actor="test", topic_prefix=PREFIX)
    own = {
        "subscription_id": "s-org",
        "recipient_id": "trc-gaziantep",
        "recipient_kind": "organisation",
        "channel": "email",
        "address": "ops@example.org",
    }
    removal = {"subscription_id": "s-org"}
    steps = [
        (_event(10, "org.drx.subscription.set", own, ORG), "applied"),
        (_event(11, "org.drx.subscription.set", own, "urn:drx:org:nobody"), "rejected"),
        (_event(12, "org.drx.subscription.removed", removal, DONOR), "rejected"),
        (_event(13, "org.drx.subscription.removed", removal, ORG), "applied"),
        (_event(14, "org.drx.subscription.removed", removal, COORD), "rejected"),
    ]
    outcomes = [(await notify.service.handle_subscription(raw)).outcome for raw, _ in steps]
    assert outcomes == [expected for _, expected in steps]

    assert await _rejections(notify) == [
        "source 'urn:drx:org:nobody' is not registered (drx sources add)",
        (
            "subscription 's-org' was created by another source; only that source or a coordinator whose "
            "scope covers it may replace or remove it (choose another subscription id)"
        ),
        (  # an organisation's subscription lies in no crisis or country: only a global desk's scope
            "urn:drx:coord:iom-desk may act only within crises [] and countries [SYR, TUR]; subscription "
            "'s-org' (for organisation trc-gaziantep) is outside it; only the source that created it or "
            "a coordinator whose scope covers it may replace or remove it"
        ),
    ]
    async with notify.service._sessions() as session:
        (row,) = await list_subscriptions(session, include_inactive=True)
    assert (row.subscription_id, row.active) == ("s-org", False)
