"""Notify on real PostgreSQL, a real SMTP server and real HTTP receivers: who gets what, once.

These drive NotifyService and DeliveryLoop directly (the Kafka path is in test_notify_pipeline.py),
so each delivery rule is checked without waiting on a whole pipeline.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from services.notify.channels import Channels
from services.notify.delivery import DeliveryLoop
from shared.db.models import DeliveryRow
from tests.integration.notify.conftest import PREFIX, coverage_event, match_event
from tests.support.kafka import eventually
from tests.support.receivers import HttpReceiver

ORG, DONOR = "trc-gaziantep", "hta-berlin"
COORD_MAIL = "leyla@example.org"


async def test_a_proposal_mails_the_coordinator_once_even_when_the_event_comes_three_times(notify):
    await notify.coordinator_email(country="TUR", sector="shelter")
    await notify.subscribe(
        "s-other",
        recipient_id="coord-x",
        recipient_kind="coordinator",
        channel="email",
        address="x@example.org",
        country="SYR",
    )
    await notify.loop.start()
    event = match_event()
    results = [await notify.service.handle(event) for _ in range(3)]
    assert [r.outcome for r in results] == ["applied", "duplicate", "duplicate"]
    # Even a copy with a new event id (a replay by hand) cannot make a second delivery row.
    replay = event.model_copy(update={"id": "replayed-by-hand"})
    assert (await notify.service.handle(replay)).deliveries == 0

    await eventually(lambda: _sync(len(notify.smtp.messages) >= 1), 20, "the email")
    (mail,) = notify.smtp.to(COORD_MAIL)
    assert mail["Subject"].startswith("Proposed: 250 piece for Blankets")
    assert "drx decide confirm m-3f2a9c" in mail.get_content()
    (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "sent")
    assert (row.kind, row.recipient_id, row.attempts) == ("match.proposed", "coord-leyla", 1)
    assert notify.smtp.to("x@example.org") == []


async def test_a_webhook_is_signed_and_a_receiver_failing_twice_gets_it_on_the_third_attempt(notify):
    async with HttpReceiver(fail_first=2) as receiver:
        await notify.organisation_webhook(receiver)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "sent", "sent after retries")
    assert row.attempts == 3
    assert [r.answered for r in receiver.requests] == [503, 503, 200]
    assert {r.delivery_id for r in receiver.requests} == {row.delivery_id}  # receivers can deduplicate
    assert all(r.verified is None for r in receiver.requests), [r.verified for r in receiver.requests]
    body = receiver.accepted[0].json
    assert body["delivery_id"] == row.delivery_id
    assert body["data"]["match"]["match_id"] == "m-3f2a9c"


async def test_an_endpoint_that_keeps_failing_ends_as_a_dead_letter_with_the_last_error(notify):
    async with HttpReceiver(status=503, fail_first=0) as receiver:
        await notify.organisation_webhook(receiver)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
    assert row.attempts == notify.settings.max_attempts == len(receiver.requests)
    assert "503" in row.last_error


async def test_a_rejecting_endpoint_is_not_retried(notify):
    async with HttpReceiver(status=410) as receiver:
        await notify.organisation_webhook(receiver)
        await notify.loop.start()
        await notify.service.handle(match_event())
        (row,) = await notify.wait_deliveries(lambda ds: ds and ds[0].status == "dead", "the dead letter")
    assert row.attempts == 1
    assert "410" in row.last_error


async def test_a_hanging_endpoint_does_not_delay_the_other_recipients(notify):
    release = asyncio.Event()
    async with HttpReceiver(hold=release) as slow:
        await notify.organisation_webhook(slow)
        await notify.coordinator_email()
        await notify.subscribe(
            "s-donor",
            recipient_id=DONOR,
            recipient_kind="donor",
            channel="email",
            address="donor@example.org",
        )
        await notify.loop.start()
        await notify.service.handle(match_event())
        # The webhook request is in flight and held; both emails still go out meanwhile.
        await eventually(
            lambda: _sync(len(slow.requests) == 1 and len(notify.smtp.messages) == 2), 20, "emails"
        )
        assert slow.requests[0].answered is None
        release.set()
        await notify.wait_deliveries(
            lambda ds: all(d.status == "sent" for d in ds) and len(ds) == 3, "all sent"
        )


async def test_a_filled_need_is_announced_to_everyone_who_heard_of_it_and_to_its_organisation(notify):
    await notify.coordinator_email()
    await notify.subscribe(
        "s-org", recipient_id=ORG, recipient_kind="organisation", channel="email", address="org@example.org"
    )
    await notify.subscribe(
        "s-bystander",
        recipient_id="coord-x",
        recipient_kind="coordinator",
        channel="email",
        address="x@example.org",
        country="SYR",
    )
    await notify.loop.start()
    await notify.service.handle(match_event())
    await notify.service.handle(coverage_event(filled=False, status="covered"))  # not filled: nothing new
    await notify.service.handle(coverage_event())
    await notify.wait_deliveries(lambda ds: len(ds) == 4 and all(d.status == "sent" for d in ds), "four sent")
    filled = {d.recipient_id for d in await notify.deliveries(kind="need.filled")}
    assert filled == {"coord-leyla", ORG}
    subjects = sorted(str(m["Subject"]).split(":")[0] for m in notify.smtp.to(COORD_MAIL))
    assert subjects == ["Filled", "Proposed"]  # sent concurrently: either may arrive first


async def test_an_hourly_digest_collects_the_hour_into_one_email(notify):
    await notify.coordinator_email(digest="hourly")
    for number in range(3):
        await notify.service.handle(match_event(match_id=f"m-{number}"))
    held = await notify.deliveries(status="held")
    assert len(held) == 3
    assert await notify.loop.send_digests() == 0  # the hour is not over
    notify.clock.advance(hours=1)
    assert await notify.loop.send_digests() == 1
    assert await notify.loop.send_digests() == 0  # nothing is digested twice
    await notify.loop.start()
    await eventually(lambda: _sync(len(notify.smtp.messages) == 1), 20, "the digest email")
    (mail,) = notify.smtp.messages
    assert mail["Subject"].startswith("drx digest: 3 updates")
    assert all(f"m-{n}" in mail.get_content() for n in range(3))
    assert {d.status for d in await notify.deliveries(kind="match.proposed")} == {"digested"}


async def test_a_daily_digest_collects_the_utc_day_and_leaves_the_next_day_held(notify):
    await notify.coordinator_email(digest="daily")
    now = notify.clock()
    morning = now.replace(hour=9, minute=0, second=0, microsecond=0)
    notify.clock.advance(seconds=(morning - now).total_seconds())  # 09:00 UTC today
    for number in range(2):
        await notify.service.handle(match_event(match_id=f"m-{number}"))
    notify.clock.advance(hours=14, minutes=30)  # 23:30: late, but the same day
    await notify.service.handle(match_event(match_id="m-2"))
    assert await notify.loop.send_digests() == 0  # an hourly digest would have gone by now
    notify.clock.advance(minutes=35)  # 00:05 the next day
    await notify.service.handle(match_event(match_id="m-next-day"))
    assert await notify.loop.send_digests() == 1
    assert await notify.loop.send_digests() == 0  # nothing is digested twice
    await notify.loop.start()
    await eventually(lambda: _sync(len(notify.smtp.messages) == 1), 20, "the digest email")
    (mail,) = notify.smtp.messages
    assert mail["Subject"] == f"drx digest: 3 updates, {morning:%Y-%m-%d} UTC"
    assert all(f"m-{n}" in mail.get_content() for n in range(3))
    assert "m-next-day" not in mail.get_content()
    (late,) = await notify.deliveries(match_id="m-next-day")
    assert late.status == "held"  # it waits for its own day
    day = [d for d in await notify.deliveries(kind="match.proposed") if d.match_id != "m-next-day"]
    assert [d.status for d in day] == ["digested"] * 3


async def test_two_delivery_loops_send_each_delivery_once(notify, notify_settings):
    async with HttpReceiver() as receiver:
        for number in range(20):
            await notify.subscribe(
                f"s-{number:02}",
                receiver=receiver,
                recipient_id=f"coord-{number}",
                recipient_kind="coordinator",
                channel="webhook",
                address=receiver.url,
            )
        await notify.service.handle(match_event())
        second = DeliveryLoop(
            notify.service._sessions,
            Channels(notify_settings),
            notify_settings,
            PREFIX,
            poll_interval=0.01,
        )
        await asyncio.gather(notify.loop.start(), second.start())
        try:
            await notify.wait_deliveries(lambda ds: all(d.status == "sent" for d in ds), "all sent")
        finally:
            await second.stop()
    ids = [r.delivery_id for r in receiver.requests]
    assert len(ids) == len(set(ids)) == 20
    async with notify.service._sessions() as session:
        assert await session.scalar(select(func.max(DeliveryRow.attempts))) == 1


async def _sync(value: bool) -> bool:
    return value
