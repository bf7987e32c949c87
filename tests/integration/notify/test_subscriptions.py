"""Subscription events on real PostgreSQL: refused once, even when the record comes again."""

from __future__ import annotations

import time

from shared.intake.parsing import RawMessage
from shared.kafka.topics import SUBSCRIPTIONS_IN
from tests.support import builders as b


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
